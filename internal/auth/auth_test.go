package auth

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

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

// TestPasswordParameters: new hashes use the current parameters; a hash written with the
// earlier ones (64 MiB, 3 passes, 2 lanes) is still checked with its own.
func TestPasswordParameters(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "$m=19456,t=2,p=1$") {
		t.Fatalf("new hash %q, want m=19456,t=2,p=1", h)
	}
	salt := []byte("0123456789abcdef")
	b64 := base64.RawStdEncoding
	old := fmt.Sprintf("$argon2id$v=%d$m=65536,t=3,p=2$%s$%s", argon2.Version, b64.EncodeToString(salt),
		b64.EncodeToString(argon2.IDKey([]byte("correct horse battery"), salt, 3, 64*1024, 2, 32)))
	if ok, err := CheckPassword(old, "correct horse battery"); !ok || err != nil {
		t.Fatalf("hash with the earlier parameters refused: %v", err)
	}
	if ok, _ := CheckPassword(old, "correct horse batterx"); ok {
		t.Fatal("wrong password accepted against the earlier parameters")
	}
}
