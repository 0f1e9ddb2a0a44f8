package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
)

// SupportRow is one utterance of the support CSV.
type SupportRow struct {
	Text     string
	Intent   string
	Category string
}

// ReadSupportCSV reads a CSV with a header naming at least a text column ("instruction",
// "utterance" or "text") and "category"; "intent" is read when present.
func ReadSupportCSV(path string) ([]SupportRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	ti := -1
	for _, name := range []string{"instruction", "utterance", "text"} {
		if i, ok := col[name]; ok {
			ti = i
			break
		}
	}
	ci, okc := col["category"]
	ii, oki := col["intent"]
	if ti < 0 || (!okc && !oki) {
		return nil, fmt.Errorf("%s: the header needs a text column (instruction, utterance or text) and category or intent", path)
	}
	var out []SupportRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		row := SupportRow{Text: get(rec, ti)}
		if okc {
			row.Category = get(rec, ci)
		}
		if oki {
			row.Intent = get(rec, ii)
		}
		if strings.TrimSpace(row.Text) != "" {
			out = append(out, row)
		}
	}
	return out, nil
}

func get(rec []string, i int) string {
	if i < len(rec) {
		return rec[i]
	}
	return ""
}
