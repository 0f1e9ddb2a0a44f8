package eval_test

import (
	"fmt"

	"github.com/parleyhq/parley/internal/analysis/eval"
)

// The functions behind `parley eval`: each returns a report whose String() is what the
// command prints.
func Example() {
	if r, err := eval.Flags("../shared/testdata/support/bitext_dev.csv", eval.FlagsOptions{}); err == nil {
		fmt.Print(r)
	}
}
