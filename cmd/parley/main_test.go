package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// cli runs the command line with args against the database in dir (or the PostgreSQL URL) and
// returns its standard output.
func cli(t *testing.T, db []string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append(args, db...), &out, &errOut)
	if err != nil {
		t.Logf("parley %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String()), err
}

// databases returns the database flags of each engine, each on a fresh database.
func databases(t *testing.T) map[string][]string {
	dbs := map[string][]string{"sqlite": {"--data-dir", t.TempDir()}}
	if _, ok := enginetest.Engines()["postgres"]; ok {
		dbs["postgres"] = []string{"--database-url", enginetest.PostgresSchemaURL(t)}
	}
	return dbs
}

func TestAdminCommands(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			id, err := cli(t, db, "assistant", "create", "--name", "Support bot")
			if err != nil || !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
				t.Fatalf("assistant create printed %q (%v), want just an id", id, err)
			}
			list, err := cli(t, db, "assistant", "list", "--json")
			if err != nil || !strings.Contains(list, id) || !strings.Contains(list, "Support bot") {
				t.Fatalf("assistant list: %s %v", list, err)
			}
			tok, err := cli(t, db, "token", "create", "--assistant", id, "--scope", "read_all", "--name", "analytics", "--expires", "720h")
			if err != nil || !strings.HasPrefix(tok, "prly_") || strings.ContainsAny(tok, " \n") {
				t.Fatalf("token create printed %q (%v), want just the token", tok, err)
			}
			out, err := cli(t, db, "token", "list", "--assistant", id, "--json")
			if err != nil {
				t.Fatal(err)
			}
			var tokens []map[string]any
			if err := json.Unmarshal([]byte(out), &tokens); err != nil || len(tokens) != 1 {
				t.Fatalf("token list --json: %s (%v)", out, err)
			}
			want := []string{"created_at", "expires_at", "id", "last_used_at", "name", "revoked_at", "scope"}
			var keys []string
			for k := range tokens[0] {
				keys = append(keys, k)
			}
			if strings.Join(sorted(keys), ",") != strings.Join(want, ",") || strings.Contains(out, tok) {
				t.Fatalf("token list shows %v (or the secret)", keys)
			}
			if tokens[0]["scope"] != "read_all" || tokens[0]["name"] != "analytics" || tokens[0]["revoked_at"] != nil {
				t.Fatalf("token = %v", tokens[0])
			}
			expires, _ := time.Parse(time.RFC3339Nano, tokens[0]["expires_at"].(string))
			if d := time.Until(expires); d < 719*time.Hour || d > 720*time.Hour {
				t.Fatalf("expires in %s, want 720h", d)
			}
			tokenID := tokens[0]["id"].(string)
			if got, err := cli(t, db, "token", "revoke", tokenID); err != nil || got != tokenID {
				t.Fatalf("revoke: %q %v", got, err)
			}
			out, _ = cli(t, db, "token", "list", "--assistant", id, "--json")
			if !strings.Contains(out, `"revoked_at":"`) {
				t.Fatalf("revoked token not marked: %s", out)
			}
			// Mistakes are usage errors, not crashes.
			for _, bad := range [][]string{
				{"token", "create", "--assistant", id, "--scope", "admin"},
				{"token", "create", "--assistant", "not-an-id", "--scope", "read_all"},
				{"token", "revoke"},
				{"assistant", "create"},
				{"nonsense"},
			} {
				if _, err := cli(t, db, bad...); err == nil {
					t.Errorf("parley %v succeeded", bad)
				}
			}
			if _, err := cli(t, db, "token", "revoke", "01a21577-0000-7000-8000-000000000000"); err == nil {
				t.Errorf("revoking an unknown token succeeded")
			}
			op, err := cli(t, db, "operator", "create", "--assistant", id, "--name", "Ann", "--email", "ann@example.com", "--role", "admin")
			if err != nil || len(op) != 36 {
				t.Fatalf("operator create: %q %v", op, err)
			}
			if out, _ := cli(t, db, "operator", "list", "--assistant", id); !strings.Contains(out, "admin\tAnn\tann@example.com") {
				t.Fatalf("operator list: %q", out)
			}
		})
	}
}

func sorted(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeDemo runs the README's command: serve --demo prints a URL and a token that work,
// and the demo data is there; a second start seeds nothing twice.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	start := func() (string, string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		var out syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, &out, io.Discard)
		}()
		re := regexp.MustCompile(`running at (http://\S+) .*?Demo token \(write_all, shown once\): (prly_\S+)`)
		deadline := time.Now().Add(60 * time.Second)
		for {
			if m := re.FindStringSubmatch(strings.ReplaceAll(out.String(), "\n", " ")); m != nil {
				return m[1], m[2], func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("serve: %v", err)
					}
				}
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("serve --demo printed no URL and token: %q", out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	count := func(base, tok, query string) int {
		req, _ := http.NewRequest("GET", base+"/v1/api_core/conversations?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var page struct{ Count int }
		if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != 200 {
			t.Fatalf("list: %d %v", res.StatusCode, err)
		}
		return page.Count
	}
	base, tok, stop := start()
	if n := count(base, tok, ""); n != demoConversations {
		t.Fatalf("demo has %d conversations, want %d", n, demoConversations)
	}
	if n := count(base, tok, "source=whatsapp"); n == 0 || n == demoConversations {
		t.Fatalf("demo sources not varied: %d whatsapp", n)
	}
	stop()
	base, tok2, stop := start()
	defer stop()
	if tok2 == tok {
		t.Fatalf("the same token printed twice")
	}
	if n := count(base, tok2, ""); n != demoConversations {
		t.Fatalf("after a restart the demo has %d conversations, want %d", n, demoConversations)
	}
}

// TestAnalyzeAndEval: `parley analyze` analyses stored conversations; `parley eval` reads the
// shared test data formats.
func TestAnalyzeAndEval(t *testing.T) {
	db := []string{"--data-dir", t.TempDir()}
	ctx := context.Background()
	st, err := (&dbFlags{dataDir: db[1]}).open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := seedDemo(ctx, st)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, db, "analyze"); err == nil {
		t.Fatal("analyze without a scope succeeded")
	}
	out, err := cli(t, db, "analyze", "--assistant", a)
	if err != nil || out != fmt.Sprintf("analysed %d conversations (0 failed)", demoConversations) {
		t.Fatalf("analyze: %q %v", out, err)
	}
	st, _ = (&dbFlags{dataDir: db[1]}).open(ctx)
	defer st.Close()
	page, err := st.Conversations(ctx, a, cv.Filter{Languages: []string{"en"}})
	if err != nil || page.Count == 0 || page.Count == demoConversations {
		t.Fatalf("after analyze, %d English conversations (%v)", page.Count, err)
	}
	data := filepath.Join(repoRoot(t), "..", "shared", "testdata")
	out, err = cli(t, nil, "eval", "flags", "--file", filepath.Join(data, "support", "bitext_dev.csv"))
	if err != nil || !strings.Contains(strings.ToLower(out), "recall") {
		t.Fatalf("eval flags: %q %v", out, err)
	}
	if _, err := cli(t, nil, "eval", "nonsense", "--file", "x"); err == nil {
		t.Fatal("eval of an unknown analyzer succeeded")
	}
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
