// Package testdata finds the shared development sets: <repo root>/../shared/testdata, where
// the repo root is the nearest folder above the working directory holding go.mod.
package testdata

import (
	"errors"
	"os"
	"path/filepath"
)

// Shared returns the path of the shared testdata folder.
func Shared() (string, error) {
	if d := os.Getenv("PARLEY_SHARED_TESTDATA"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			td := filepath.Join(dir, "..", "shared", "testdata")
			if _, err := os.Stat(td); err != nil {
				return "", err
			}
			return filepath.Clean(td), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
