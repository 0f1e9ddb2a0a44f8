// Package links tracks the links that assistants and operators send: it rewrites each http(s)
// URL of a message to a redirect on this server (/l/{id}) before the message is stored, and
// serves the redirect, recording every click as a tracked_link event of the conversation.
//
// The seam with the store: Rewrite cuts the links out of a message (cv.NewMessage.Links) and
// the store writes them in the message's own transaction, naming its event id. So a link always
// belongs to a stored message, a retried message (a known external_id) stores no new links, and
// no second round trip is needed once the message id is known.
package links

import (
	"crypto/rand"
	"encoding/base64"
)

// idBytes is the randomness of an id: 128 bits.
const idBytes = 16

// IDLen is the length of an id: idBytes in unpadded base64url.
const IDLen = 22

var idEncoding = base64.RawURLEncoding.Strict()

// NewID returns a fresh, unguessable link id.
func NewID() string {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return idEncoding.EncodeToString(b)
}

// ValidID reports whether s is shaped exactly like an id NewID makes: IDLen base64url
// characters that decode canonically to idBytes bytes. Anything else cannot exist, and is
// refused before any lookup.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	b, err := idEncoding.DecodeString(s)
	return err == nil && len(b) == idBytes
}
