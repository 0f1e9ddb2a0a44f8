// Package webhook delivers an assistant's changes to the HTTP endpoints it registered: signed,
// at least once, in order per conversation, retried with backoff for a day, from a durable
// outbox. It also renders the event body that webhooks and the live stream share.
//
// Design. The change log (written in the same transaction as every change, and ordered by
// commit per assistant: see sqlstore.flushChanges) is the source. Each endpoint keeps a cursor
// on its assistant's log; the dispatcher moves the cursors forward and materializes one
// delivery row per (endpoint, change) it wants: that table is the outbox, the retry state and
// the deliveries list in one. Senders claim due rows with a lease (SKIP LOCKED on PostgreSQL,
// the single writer on SQLite), so several processes never send a delivery at once; only the
// oldest pending delivery of a conversation for an endpoint is ever due, so one conversation's
// deliveries reach an endpoint in order while a failing one holds back only that conversation.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"
)

// Headers of a delivery.
const (
	HeaderSignature = "Parley-Signature"
	HeaderDelivery  = "Parley-Delivery"
	HeaderEvent     = "Parley-Event"
)

// UserAgent is the User-Agent of deliveries.
const UserAgent = "Parley-Webhooks/1 (+https://github.com/parleyhq/parley)"

// Sign returns the Parley-Signature header value of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// NewSecret returns a new random signing secret: "whsec_" and 32 random bytes, base64url.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}
