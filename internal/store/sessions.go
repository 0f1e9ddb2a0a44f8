package store

import "time"

// Session is a dashboard sign-in: an operator's browser holds the secret in a cookie, the
// store keeps only its hash. The dashboard decides when one has expired: idle since
// LastSeenAt too long, or past ExpiresAt.
type Session struct {
	ID         string
	OperatorID string
	Hash       []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}
