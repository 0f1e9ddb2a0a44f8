package auth

import (
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

func TestTokens(t *testing.T) {
	secret, tok := NewToken("a", cv.ScopeRead, "n", 0, time.Now())
	if !strings.HasPrefix(secret, Prefix) || len(secret) != len(Prefix)+43 {
		t.Fatalf("secret %q", secret)
	}
	if !Matches(secret, tok.Hash) || Matches(secret+"x", tok.Hash) {
		t.Fatal("hash comparison wrong")
	}
	if strings.Contains(string(tok.Hash), secret) {
		t.Fatal("secret stored in the clear")
	}
	if d := tok.ExpiresAt.Sub(tok.CreatedAt); d != DefaultTTL {
		t.Fatalf("default ttl %s", d)
	}
	other, _ := NewToken("a", cv.ScopeRead, "n", time.Hour, time.Now())
	if other == secret {
		t.Fatal("two tokens alike")
	}
	for header, want := range map[string]bool{"Bearer abc": true, "bearer abc": true, "Basic abc": false, "Bearer ": false, "abc": false} {
		if _, ok := BearerToken(header); ok != want {
			t.Errorf("BearerToken(%q) ok=%v", header, ok)
		}
	}
}

func TestPasswords(t *testing.T) {
	if _, err := HashPassword("short"); err == nil {
		t.Fatal("short password accepted")
	}
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("no salt")
	}
	if ok, err := CheckPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if ok, _ := CheckPassword(h, "correct horse batterY"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := CheckPassword("$bcrypt$x", "p"); err == nil {
		t.Fatal("foreign hash accepted")
	}
}
