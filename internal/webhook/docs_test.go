package webhook_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// The "Receive webhooks" and "Live stream" sections of docs/integrations.md: their recipes and
// examples run here.

const integrationsDoc = "../../docs/integrations.md"

// docSection returns the body of a "## " section.
func docSection(t *testing.T, title string) string {
	t.Helper()
	b, err := os.ReadFile(integrationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split("\n"+string(b), "\n## ")[1:] {
		if head, body, _ := strings.Cut(part, "\n"); strings.TrimSpace(head) == title {
			return body
		}
	}
	t.Fatalf("%s has no section %q", integrationsDoc, title)
	return ""
}

var fence = regexp.MustCompile("(?s)```(\\w+)\n(.*?)```")

// blocks returns the code blocks of a section in one language.
func blocks(section, lang string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(section, -1) {
		if m[1] == lang {
			out = append(out, m[2])
		}
	}
	return out
}

// commands returns the shell commands of a section's sh blocks, continuation lines joined.
func commands(section string) []string {
	var out []string
	for _, b := range blocks(section, "sh") {
		for _, c := range strings.Split(strings.ReplaceAll(b, "\\\n", " "), "\n") {
			if c = strings.TrimSpace(c); c != "" && !strings.HasPrefix(c, "#") {
				out = append(out, c)
			}
		}
	}
	return out
}

// TestDocGoRecipe: the Go recipe is the handler that ExampleVerifySignature runs.
func TestDocGoRecipe(t *testing.T) {
	goBlocks := blocks(docSection(t, "Receive webhooks"), "go")
	if len(goBlocks) != 1 {
		t.Fatalf("%d Go blocks, want the recipe", len(goBlocks))
	}
	b, err := os.ReadFile("../../client/example_signature_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "// recipe:start\n")
	recipe, _, ok := strings.Cut(rest, "\t// recipe:end")
	if !ok {
		t.Fatal("the example has no recipe markers")
	}
	var lines []string
	for _, l := range strings.Split(recipe, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	if got, want := goBlocks[0], strings.Join(lines, "\n"); got != want {
		t.Errorf("the doc's Go recipe differs from ExampleVerifySignature's handler:\n--- doc\n%s\n--- example\n%s", got, want)
	}
}

// TestDocOpenSSLRecipe runs the shell recipe on a real delivery: valid as received, INVALID
// once a byte of the body changes.
func TestDocOpenSSLRecipe(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	var line string
	for _, c := range commands(docSection(t, "Receive webhooks")) {
		if strings.Contains(c, "openssl") {
			line = c
		}
	}
	if line == "" {
		t.Fatal("no openssl recipe")
	}
	st := enginetest.SQLite(t)
	n := startNode(t, st, fastRetries(time.Minute))
	env := &apitest.Env{T: t, URL: n.URL, Store: st}
	A := env.NewTenant("A")
	rcv := newReceiver(t)
	rcv.up(modeUp, 0)
	_, secret := createHook(t, env, A.Write, map[string]any{"url": rcv.URL()})
	rcv.setSecret(secret)
	writer{t, env, A.Write}.create("Où est ma commande ? \"quotes\" and a \\ backslash")
	var got received
	eventually(t, 10*time.Second, "a delivery", func() bool {
		r, _, _ := rcv.snapshot()
		if len(r) > 0 {
			got = r[0]
		}
		return len(r) > 0
	})
	dir := t.TempDir()
	run := func(body []byte) string {
		if err := os.WriteFile(filepath.Join(dir, "body.json"), body, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SIG="+got.Signature, "SECRET="+secret)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", line, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out := run(got.Body); out != "valid" {
		t.Errorf("the recipe on a genuine delivery printed %q", out)
	}
	tampered := []byte(strings.Replace(string(got.Body), "commande", "commandE", 1))
	if out := run(tampered); out != "INVALID" {
		t.Errorf("the recipe on a tampered body printed %q", out)
	}
}

// TestDocCurlExamples runs every curl command of both sections with the page's variables, and
// checks the example bodies against real ones.
func TestDocCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	e := apitest.Start(t, enginetest.SQLite, nil)
	hooksSection, streamSection := docSection(t, "Receive webhooks"), docSection(t, "Live stream")
	vars := map[string]string{"PARLEY_URL": e.URL, "PARLEY_TOKEN": e.A.Write}
	sh := func(ctx context.Context, c string) (string, error) {
		cmd := exec.CommandContext(ctx, "sh", "-c", "exec "+c) // curl itself gets the context's kill
		cmd.WaitDelay = time.Second
		cmd.Env = os.Environ()
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.Output()
		return string(out), err
	}
	var created map[string]any
	ran := 0
	for _, c := range commands(hooksSection) {
		if !strings.HasPrefix(c, "curl ") {
			continue
		}
		ran++
		out, err := sh(context.Background(), c)
		if err != nil {
			t.Fatalf("%s: %v: %s", c, err, out)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s: not JSON: %s", c, out)
		}
		if strings.Contains(c, "-X POST") && strings.HasSuffix(c, `/webhooks"`) {
			created = m
			vars["WEBHOOK_ID"] = m["id"].(string)
			// A change and its delivery, for the commands that name one.
			id := obj(t, e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": "api"}))["id"].(string)
			e.Must(http.StatusOK, "PATCH", "/v1/api_core/conversations/"+id, e.A.Write, map[string]any{"resolution_status": "resolved"})
			if _, err := e.Store.QueueWebhookDeliveries(t.Context(), 100); err != nil {
				t.Fatal(err)
			}
			ds := deliveries(t, e, e.A.Read, vars["WEBHOOK_ID"])
			if len(ds) != 1 || ds[0]["type"] != "conversation.resolved" {
				t.Fatalf("deliveries of the doc's endpoint: %v", ds)
			}
			vars["DELIVERY_ID"] = ds[0]["id"].(string)
		}
	}
	if ran != 4 || created == nil || vars["DELIVERY_ID"] == "" {
		t.Fatalf("ran %d curl commands of the webhooks section (created %v)", ran, created)
	}
	// The example answers have the real answers' keys.
	examples := blocks(hooksSection, "json")
	if len(examples) != 2 {
		t.Fatalf("%d JSON examples, want the create answer and a body", len(examples))
	}
	var createExample map[string]any
	if err := json.Unmarshal([]byte(examples[0]), &createExample); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "create answer", createExample, created)
	var bodyExample map[string]any
	if err := json.Unmarshal([]byte(examples[1]), &bodyExample); err != nil {
		t.Fatal(err)
	}
	real := realBody(t)
	sameKeys(t, "body", bodyExample, real)
	for _, k := range []string{"data", "actor"} {
		sameKeys(t, "body "+k, bodyExample[k].(map[string]any), real[k].(map[string]any))
	}
	for _, k := range []string{"conversation", "message"} {
		sameKeys(t, "body data."+k, bodyExample["data"].(map[string]any)[k].(map[string]any), real["data"].(map[string]any)[k].(map[string]any))
	}

	// The stream examples: events come as the page shows them, and resume after an id.
	streams := 0
	for _, c := range commands(streamSection) {
		if !strings.HasPrefix(c, "curl ") {
			continue
		}
		streams++
		resumeFrom := ""
		if strings.Contains(c, "Last-Event-ID") {
			log, _ := e.Store.Changes(t.Context(), e.A.ID, 0, 100)
			resumeFrom = strconv.FormatInt(log[0].Seq, 10)
			c = regexp.MustCompile(`Last-Event-ID: \d+`).ReplaceAllString(c, "Last-Event-ID: "+resumeFrom)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		go func() {
			time.Sleep(300 * time.Millisecond)
			e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": "api"})
		}()
		out, _ := sh(ctx, c) // ends when the context does
		cancel()
		if !strings.HasPrefix(out, "retry: 2000\n") || !strings.Contains(out, "\nevent: conversation.created\ndata: {") {
			t.Errorf("%s printed:\n%s", c, out)
		}
		if resumeFrom != "" && !strings.Contains(out, "event: conversation.updated") {
			t.Errorf("resumed after %s, missing the changes that followed:\n%s", resumeFrom, out)
		}
	}
	if streams != 2 {
		t.Errorf("ran %d stream examples, want 2", streams)
	}
}

// realBody is a real delivery body of a message.created change.
func realBody(t *testing.T) map[string]any {
	t.Helper()
	st := enginetest.SQLite(t)
	n := startNode(t, st, fastRetries(time.Minute))
	env := &apitest.Env{T: t, URL: n.URL, Store: st}
	A := env.NewTenant("A")
	rcv := newReceiver(t)
	rcv.up(modeUp, 0)
	_, secret := createHook(t, env, A.Write, map[string]any{"url": rcv.URL(), "event_types": []string{"message.created"}})
	rcv.setSecret(secret)
	w := writer{t, env, A.Write}
	w.message(w.create(), "Where is my order?")
	var body map[string]any
	eventually(t, 10*time.Second, "a delivery", func() bool {
		r, _, _ := rcv.snapshot()
		if len(r) > 0 {
			_ = json.Unmarshal(r[0].Body, &body)
		}
		return body != nil
	})
	return body
}

func sameKeys(t *testing.T, what string, doc, real map[string]any) {
	t.Helper()
	if got, want := slices.Sorted(maps.Keys(doc)), slices.Sorted(maps.Keys(real)); !slices.Equal(got, want) {
		t.Errorf("the doc's %s has keys %v; a real one %v", what, got, want)
	}
}

func obj(t *testing.T, r apitest.Response) map[string]any { return r.Map(t) }
