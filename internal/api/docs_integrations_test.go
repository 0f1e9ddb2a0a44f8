package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
)

// integrationSections are the sections of docs/integrations.md whose examples this test runs.
var integrationSections = []string{"Export to a spreadsheet or a warehouse", "Build a dashboard from aggregates", "Go client"}

var (
	curlURL   = regexp.MustCompile(`"\$PARLEY_URL(/v1/[^"]+)"`)
	jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")
	goBlock   = regexp.MustCompile("(?s)```go\n(.*?)```")
)

// TestIntegrationsDocGo checks the Go client example of docs/integrations.md: it parses, and
// every client.<Name> it uses exists in the client package (and every field of theirs it
// names, on the types it builds).
func TestIntegrationsDocGo(t *testing.T) {
	sections := docSections(t, "../../docs/integrations.md")
	m := goBlock.FindStringSubmatch(sections["Go client"])
	if m == nil {
		t.Fatal("no Go example in the Go client section")
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "example.go", m[1], 0)
	if err != nil {
		t.Fatalf("the Go example does not parse: %v", err)
	}
	pkgs, err := parser.ParseDir(fset, "../../client", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	fields := map[string]bool{}
	for _, f := range pkgs["client"].Files {
		for name, obj := range f.Scope.Objects {
			exported[name] = ast.IsExported(name) && obj != nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Field:
				for _, id := range x.Names {
					fields[id.Name] = true
				}
				if id, ok := x.Type.(*ast.Ident); ok && len(x.Names) == 0 {
					fields[id.Name] = true // embedded
				}
			case *ast.FuncDecl:
				fields[x.Name.Name] = true
			}
			return true
		})
	}
	used := 0
	ast.Inspect(file, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			pkg := ""
			if id, ok := x.X.(*ast.Ident); ok {
				pkg = id.Name
			}
			switch pkg {
			case "client":
				used++
				if !exported[x.Sel.Name] {
					t.Errorf("the example uses client.%s, which the package does not have", x.Sel.Name)
				}
			case "fmt", "log", "os", "context":
			default:
				if !fields[x.Sel.Name] {
					t.Errorf("the example uses .%s, which no type of the client has", x.Sel.Name)
				}
			}
		case *ast.KeyValueExpr:
			if k, ok := x.Key.(*ast.Ident); ok && !fields[k.Name] {
				t.Errorf("the example sets %s, which no type of the client has", k.Name)
			}
		}
		return true
	})
	if used < 3 {
		t.Errorf("the example uses the client %d times", used)
	}
}

// docsRegion is a marked part of a client example: "// docs:start <name>" to "// docs:end".
var docsRegion = regexp.MustCompile(`(?ms)^\t// docs:start (\S+)\n(.*?)^\t// docs:end\n`)

// TestIntegrationsDocGoExamples: every Go block of the Go client section after the first (a
// whole program, TestIntegrationsDocGo) is, verbatim, a marked part of a runnable example of
// the client (which go test runs against a real server), and every marked part is in the doc.
func TestIntegrationsDocGoExamples(t *testing.T) {
	blocks := goBlock.FindAllStringSubmatch(docSections(t, "../../docs/integrations.md")["Go client"], -1)
	if len(blocks) < 2 {
		t.Fatalf("the Go client section has %d Go blocks", len(blocks))
	}
	files, err := filepath.Glob("../../client/example*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]string{} // code -> name
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range docsRegion.FindAllStringSubmatch(string(b), -1) {
			var code strings.Builder
			for _, line := range strings.SplitAfter(m[2], "\n") {
				code.WriteString(strings.TrimPrefix(line, "\t"))
			}
			regions[code.String()] = filepath.Base(f) + ": " + m[1]
		}
	}
	if len(regions) == 0 {
		t.Fatal("no docs:start markers in the client's examples")
	}
	for _, b := range blocks[1:] {
		if _, ok := regions[b[1]]; !ok {
			t.Errorf("this Go block of the doc is no marked part of a client example:\n%s", b[1])
			continue
		}
		delete(regions, b[1])
	}
	for code, name := range regions {
		t.Errorf("%s is not in the doc:\n%s", name, code)
	}
}

// docSections splits a Markdown file into its "## " sections by title.
func docSections(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, part := range strings.Split("\n"+string(b), "\n## ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		out[strings.TrimSpace(title)] = body
	}
	return out
}

// TestIntegrationsDoc runs every curl example of docs/integrations.md's export, dashboard and
// Go client sections against a server with data, and checks what the page says about the
// answers: the CSV columns, the content types, and the shape of the example response.
func TestIntegrationsDoc(t *testing.T) {
	sections := docSections(t, "../../docs/integrations.md")
	each(t, func(t *testing.T, e *apitest.Env) {
		seedExport(t, e)
		seedAnalytics(t, e, 30)
		ran := 0
		for _, title := range integrationSections {
			body, ok := sections[title]
			if !ok {
				t.Fatalf("docs/integrations.md has no section %q", title)
			}
			n := 0
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "curl ") {
					n++
				}
			}
			if m := len(curlURL.FindAllString(body, -1)); n != m {
				t.Errorf("%s: %d curl commands but %d URLs this test can run", title, n, m)
			}
			for _, m := range curlURL.FindAllStringSubmatch(body, -1) {
				path := m[1]
				ran++
				r := getRaw(t, e, e.A.Read, path, 200)
				ct := r.Header.Get("Content-Type")
				switch {
				case strings.Contains(path, "format=csv"):
					rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
					if err != nil || ct != "text/csv; charset=utf-8" || len(rows) < 2 {
						t.Errorf("%s: %s, %d rows, %v", path, ct, len(rows), err)
					}
				case strings.Contains(path, "/export"):
					lines := bytes.Split(bytes.TrimSpace(r.Body), []byte("\n"))
					for _, l := range lines {
						var m map[string]any
						if err := json.Unmarshal(l, &m); err != nil || (strings.Contains(path, "include=events") && m["events"] == nil) {
							t.Errorf("%s: line %s: %v", path, l, err)
						}
					}
					if ct != "application/x-ndjson" || len(lines) == 0 || len(lines[0]) == 0 {
						t.Errorf("%s: %s, %d lines", path, ct, len(lines))
					}
				case strings.Contains(path, "/analytics"):
					var a map[string]any
					if err := json.Unmarshal(r.Body, &a); err != nil || a["groups"] == nil {
						t.Errorf("%s: %s", path, r.Body)
					}
				}
			}
		}
		if ran < 6 {
			t.Errorf("ran only %d examples", ran)
		}

		// The example response has the shape of the real one.
		dash := sections["Build a dashboard from aggregates"]
		blocks := jsonBlock.FindAllStringSubmatch(dash, -1)
		if len(blocks) == 0 {
			t.Fatal("no example response in the dashboard section")
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(blocks[0][1]), &doc); err != nil {
			t.Fatalf("the example response is not JSON: %v", err)
		}
		real := obj(t, getRaw(t, e, e.A.Read, curlURL.FindStringSubmatch(dash)[1], 200))
		keysAre(t, "example response", doc, slices.Collect(maps.Keys(real))...)
		keysAre(t, "example total", doc["total"].(map[string]any), slices.Collect(maps.Keys(real["total"].(map[string]any)))...)
		rg := real["groups"].([]any)
		if len(rg) == 0 {
			t.Fatal("the example query finds no groups")
		}
		for _, g := range doc["groups"].([]any) {
			keysAre(t, "example group", g.(map[string]any), slices.Collect(maps.Keys(rg[0].(map[string]any)))...)
			keysAre(t, "example key", g.(map[string]any)["key"].(map[string]any), slices.Collect(maps.Keys(rg[0].(map[string]any)["key"].(map[string]any)))...)
		}
		equalJSON(t, "example group_by", doc["group_by"], real["group_by"])
	})

	// The column table lists exactly the CSV's columns, in order.
	var cols []string
	for _, line := range strings.Split(sections["Export to a spreadsheet or a warehouse"], "\n") {
		if !strings.HasPrefix(line, "| `") || strings.Contains(line, "metadata.<key>") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		for _, c := range strings.Split(first, ", ") {
			cols = append(cols, strings.Trim(c, "`"))
		}
	}
	if !slices.Equal(cols, api.CSVColumns) {
		t.Errorf("the doc's CSV columns:\n %v\nthe export's:\n %v", cols, api.CSVColumns)
	}
}
