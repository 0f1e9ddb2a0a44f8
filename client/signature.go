package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>" (see VerifySignature).
	SignatureHeader = "Parley-Signature"
	// DeliveryHeader carries the delivery's id, the same as the body's "id": a retry of a
	// delivery has the same id, so receivers can drop what they have already handled.
	DeliveryHeader = "Parley-Delivery"
	// EventHeader carries the change type, the same as the body's "type".
	EventHeader = "Parley-Event"
)

// DefaultSignatureTolerance is how far a signature's timestamp may be from the receiver's
// clock: older deliveries are refused as possible replays.
const DefaultSignatureTolerance = 5 * time.Minute

// Errors of VerifySignature.
var (
	ErrSignatureHeader   = errors.New("parley: malformed Parley-Signature header")
	ErrSignatureExpired  = errors.New("parley: Parley-Signature timestamp outside the tolerance")
	ErrSignatureMismatch = errors.New("parley: no Parley-Signature matches the body")
)

// VerifySignature checks a webhook delivery: header is its Parley-Signature header,
// "t=<unix seconds>,v1=<hex>", and body the raw request body, byte for byte as received. It
// holds when one v1 value is the hex HMAC-SHA256, keyed with the endpoint's secret, of
// "<t>.<body>", and t is within tolerance of now (tolerance 0 skips the time check). Verify
// before parsing the body, and answer 2xx quickly: a slow answer is retried.
func VerifySignature(secret string, header string, body []byte, tolerance time.Duration, now time.Time) error {
	ts, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return err
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
			return ErrSignatureExpired
		}
	}
	want := signature(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}

// signature is HMAC-SHA256(secret, "<t>.<body>").
func signature(secret string, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseSignatureHeader reads "t=<unix seconds>,v1=<hex>[,v1=<hex>...]": one t, one or more
// v1 (several during a secret rotation), and any other scheme ignored. Spaces around the
// parts are allowed.
func parseSignatureHeader(h string) (t int64, v1 [][]byte, err error) {
	if len(h) > 4096 {
		return 0, nil, ErrSignatureHeader
	}
	seenT := false
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, ErrSignatureHeader
		}
		switch k {
		case "t":
			if seenT || v == "" || len(v) > 12 || strings.TrimLeft(v, "0123456789") != "" {
				return 0, nil, ErrSignatureHeader
			}
			t, _ = strconv.ParseInt(v, 10, 64)
			seenT = true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return 0, nil, ErrSignatureHeader
			}
			v1 = append(v1, b)
		}
	}
	if !seenT || len(v1) == 0 {
		return 0, nil, ErrSignatureHeader
	}
	return t, v1, nil
}

// WebhookEvent is the body of a webhook delivery, and the data of an event of the live stream.
type WebhookEvent struct {
	// ID is the delivery's id (the Parley-Delivery header) for a webhook, and the change's
	// sequence number for the live stream (the SSE id).
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	CreatedAt   time.Time `json:"created_at"`
	AssistantID string    `json:"assistant_id"`
	// Actor made the change.
	Actor Actor       `json:"actor"`
	Data  WebhookData `json:"data"`
}

// WebhookData is what a change concerns.
type WebhookData struct {
	// Conversation is the conversation as it is when the delivery is first sent (only its ID
	// once it has been deleted).
	Conversation ConversationDetail `json:"conversation"`
	// Message is the new message of message.created.
	Message *MessageEvent `json:"message,omitempty"`
	// Event is the timeline event of other changes that name one (tracked_link.clicked, an
	// edited message, a log).
	Event *Event `json:"event,omitempty"`
	// Fields are the changed fields of conversation.updated.
	Fields []string `json:"fields,omitempty"`
	// Keys are the changed metadata keys of metadata.updated.
	Keys []string `json:"keys,omitempty"`
}
