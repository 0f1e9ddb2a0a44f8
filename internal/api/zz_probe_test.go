package api_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

func TestZZProbe(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		create(t, e, e.A.Write, map[string]any{"source": "api", "client_metadata": map[string]any{"o": map[string]any{"x": 1, "y": "z"}, "arr": []any{1, "a"}, "f": 1.5, "n": nil, "s": "", "b": false, "big": 1e21}})
		for _, c := range [][2]string{{"metadata.o", `{"x":1,"y":"z"}`}, {"metadata.o", `{"x": 1, "y": "z"}`}, {"metadata.arr", `[1,"a"]`}, {"metadata.arr", `[1, "a"]`}, {"metadata.f", "1.5"}, {"metadata.n", ""}, {"metadata.n", "null"}, {"metadata.s", ""}, {"metadata.b", "false"}, {"metadata.big", "1e+21"}, {"metadata.big", "1000000000000000000000"}} {
			p := list(t, e, e.A.Read, q(c[0], c[1]))
			t.Logf("%s=%s -> %d", c[0], c[1], p.Count)
		}
		for _, s := range []string{`"quoted phrase"`, `it's`, `a AND b OR c`, `NEAR(x y)`, `*`, `col:val`, `'; DROP TABLE conversations; --`, `🙂`, `日本語`, `x\`, "\x00", "%", "_"} {
			p := list(t, e, e.A.Read, q("query", s))
			t.Logf("query %q -> %d", s, p.Count)
		}
	})
}
