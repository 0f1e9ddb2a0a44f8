// Package auth mints and checks API tokens. A token is an opaque random string shown once; only
// its SHA-256 hash is stored (the secret has 256 bits of entropy, so a fast hash is enough and a
// slow one would only cost every request).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Prefix starts every token, so that secret scanners and people can recognise one.
const Prefix = "prly_"

// DefaultTTL is how long a token lives unless told otherwise: 52 weeks.
const DefaultTTL = 52 * 7 * 24 * time.Hour

// NewToken makes a token for an assistant: the secret to show once, and the record to store.
func NewToken(assistantID string, scope cv.Scope, name string, ttl time.Duration, now time.Time) (string, cv.Token) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	secret := Prefix + base64.RawURLEncoding.EncodeToString(b)
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	now = now.UTC().Truncate(time.Microsecond)
	return secret, cv.Token{
		ID: uuid.Must(uuid.NewV7()).String(), AssistantID: assistantID, Name: name, Scope: scope,
		Hash: Hash(secret), CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
}

// Hash is the stored form of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Matches compares a secret with a stored hash in constant time.
func Matches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(Hash(secret), hash) == 1
}

// BearerToken extracts the token from an Authorization header value.
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 256
}
