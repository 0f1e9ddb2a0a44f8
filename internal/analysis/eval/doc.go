// Package eval measures the analyzers on files in the formats of the shared development sets
// (sentiment TSV, language sentence folders, the support CSV) and returns printable reports.
// Each figure says whether it is a held-out (cross-validated) figure or a fitted one.
package eval
