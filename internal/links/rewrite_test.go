package links

import (
	"strings"
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
)

const base = "https://parley.example"

func TestValidID(t *testing.T) {
	for i := 0; i < 100; i++ {
		id := NewID()
		if !ValidID(id) || len(id) != IDLen {
			t.Fatalf("NewID() = %q is not a valid id", id)
		}
	}
	id := NewID()
	bad := []string{
		"", "abc", id + "A", id[:IDLen-1], strings.Repeat("A", 21) + "B", // B has non-zero padding bits
		id[:10] + "+" + id[11:], id[:10] + "/" + id[11:], id[:10] + "=" + id[11:], id[:10] + " " + id[11:],
		id[:10] + "é" + id[12:], "../../../../etc/passwd", "%2e%2e%2fexample.com",
	}
	for _, s := range bad {
		if ValidID(s) {
			t.Errorf("ValidID(%q) = true", s)
		}
	}
	if !ValidID(strings.Repeat("A", 22)) {
		t.Error("ValidID of 22 A's (16 zero bytes) = false")
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		in      string
		targets []string // links made, in order
		out     string   // with {0}, {1} for the links' paths
	}{
		{"no links here", nil, "no links here"},
		{"see https://example.com/a?b=1&c=2#x.", []string{"https://example.com/a?b=1&c=2#x"}, "see {0}."},
		{"(http://example.com/p) and [doc](https://docs.example.com/x_(y))", []string{"http://example.com/p", "https://docs.example.com/x_(y)"}, "({0}) and [doc]({1})"},
		{"twice: https://a.example/ https://a.example/ and HTTPS://B.example/Q", []string{"https://a.example/", "HTTPS://B.example/Q"}, "twice: {0} {0} and {1}"},
		{"<https://a.example/x>, \"https://b.example/\"", []string{"https://a.example/x", "https://b.example/"}, "<{0}>, \"{1}\""},
		{"https://a.example/done!", []string{"https://a.example/done"}, "{0}!"},
		{"not a link: https:// or ftp://x.example or mailto:a@b.example", nil, "not a link: https:// or ftp://x.example or mailto:a@b.example"},
		{"credentials https://user:pw@a.example/ are left", nil, "credentials https://user:pw@a.example/ are left"},
		{"already tracked " + base + "/l/AAAAAAAAAAAAAAAAAAAAAA", nil, "already tracked " + base + "/l/AAAAAAAAAAAAAAAAAAAAAA"},
		{"unicode https://例え.jp/パス ok", []string{"https://例え.jp/パス"}, "unicode {0} ok"},
	}
	for _, tc := range tests {
		m := cv.NewMessage{Author: cv.AuthorAI, Content: tc.in}
		Rewrite(base+"/", &m)
		if len(m.Links) != len(tc.targets) {
			t.Errorf("%q: %d links %+v, want %d", tc.in, len(m.Links), m.Links, len(tc.targets))
			continue
		}
		want := tc.out
		for i, l := range m.Links {
			if l.URL != tc.targets[i] || !ValidID(l.ID) {
				t.Errorf("%q: link %d = %+v, want target %q", tc.in, i, l, tc.targets[i])
			}
			want = strings.ReplaceAll(want, "{"+string(rune('0'+i))+"}", base+"/l/"+l.ID)
		}
		if m.Content != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, m.Content, want)
		}
	}
}

func TestRewriteLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < MaxPerMessage+5; i++ {
		b.WriteString("https://example.com/" + strings.Repeat("x", i+1) + " ")
	}
	long := "https://example.com/" + strings.Repeat("y", MaxURLBytes)
	m := cv.NewMessage{Author: cv.AuthorOperator, Content: long + " " + b.String()}
	Rewrite(base, &m)
	if len(m.Links) != MaxPerMessage {
		t.Errorf("%d links, want the first %d", len(m.Links), MaxPerMessage)
	}
	if !strings.HasPrefix(m.Content, long+" ") {
		t.Error("an over-long URL was rewritten")
	}
	if !strings.Contains(m.Content, "https://example.com/"+strings.Repeat("x", MaxPerMessage+1)+" ") {
		t.Error("links past the limit were not left as they were")
	}
}

func TestTrack(t *testing.T) {
	for _, tc := range []struct {
		on     bool
		author string
		want   bool
	}{
		{true, cv.AuthorAI, true}, {true, cv.AuthorOperator, true}, {true, cv.AuthorVisitor, false},
		{false, cv.AuthorAI, false}, {false, cv.AuthorOperator, false},
	} {
		m := cv.NewMessage{Author: tc.author, Content: "https://example.com/"}
		Track(tc.on, base, &m)
		if got := len(m.Links) == 1 && strings.HasPrefix(m.Content, base+"/l/"); got != tc.want {
			t.Errorf("Track(%v) of a %s message: rewritten = %v, want %v", tc.on, tc.author, got, tc.want)
		}
	}
}

func TestWithUTM(t *testing.T) {
	for _, tc := range []struct{ in, medium, want string }{
		{"https://example.com", "widget", "https://example.com?utm_source=parley&utm_medium=widget"},
		{"https://example.com/p?a=1&b=%20x#frag", "telegram", "https://example.com/p?a=1&b=%20x&utm_source=parley&utm_medium=telegram#frag"},
		{"https://example.com/?utm_source=news", "slack", "https://example.com/?utm_source=news&utm_medium=slack"},
		{"https://example.com/?utm_medium=email&utm_source=x", "slack", "https://example.com/?utm_medium=email&utm_source=x"},
		{"https://example.com/?a=1&", "api", "https://example.com/?a=1&utm_source=parley&utm_medium=api"},
		{"https://example.com/#a?b", "widget", "https://example.com/?utm_source=parley&utm_medium=widget#a?b"},
	} {
		if got := WithUTM(tc.in, tc.medium); got != tc.want {
			t.Errorf("WithUTM(%q, %q) =\n %q\nwant %q", tc.in, tc.medium, got, tc.want)
		}
	}
}
