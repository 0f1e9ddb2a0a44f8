package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sign is the reference signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func sign(secret string, t int64, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10) + "." + body))
	return fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(m.Sum(nil)))
}

func TestVerifySignature(t *testing.T) {
	const secret = "whsec_0123456789abcdef"
	body := `{"id":"d1","type":"conversation.created"}`
	now := time.Unix(1767225600, 0)
	good := sign(secret, now.Unix(), body)
	other := sign("whsec_another-secret-value", now.Unix(), body)
	for _, tc := range []struct {
		name, secret, header, body string
		tolerance                  time.Duration
		want                       error
	}{
		{"valid", secret, good, body, 5 * time.Minute, nil},
		{"spaces around parts", secret, strings.ReplaceAll(good, ",", " , "), body, 5 * time.Minute, nil},
		{"one of several v1 (rotation)", secret, other + ",v1=" + strings.SplitN(good, "v1=", 2)[1], body, 5 * time.Minute, nil},
		{"unknown schemes ignored", secret, good + ",v0=abc", body, 5 * time.Minute, nil},
		{"tampered body", secret, good, strings.Replace(body, "created", "deleted", 1), 5 * time.Minute, ErrSignatureMismatch},
		{"extra whitespace in body", secret, good, body + "\n", 5 * time.Minute, ErrSignatureMismatch},
		{"wrong secret", "whsec_wrong-wrong-wrong", good, body, 5 * time.Minute, ErrSignatureMismatch},
		{"old timestamp", secret, sign(secret, now.Add(-6*time.Minute).Unix(), body), body, 5 * time.Minute, ErrSignatureExpired},
		{"future timestamp", secret, sign(secret, now.Add(6*time.Minute).Unix(), body), body, 5 * time.Minute, ErrSignatureExpired},
		{"old timestamp, no tolerance", secret, sign(secret, now.Add(-48*time.Hour).Unix(), body), body, 0, nil},
		{"timestamp changed", secret, strings.Replace(good, "t=1767225600", "t=1767225601", 1), body, 5 * time.Minute, ErrSignatureMismatch},
		{"empty", secret, "", body, 0, ErrSignatureHeader},
		{"no v1", secret, "t=1767225600", body, 0, ErrSignatureHeader},
		{"no t", secret, strings.SplitN(good, ",", 2)[1], body, 0, ErrSignatureHeader},
		{"two t", secret, "t=1," + good, body, 0, ErrSignatureHeader},
		{"t not a number", secret, strings.Replace(good, "t=1767225600", "t=soon", 1), body, 0, ErrSignatureHeader},
		{"negative t", secret, strings.Replace(good, "t=1767225600", "t=-1", 1), body, 0, ErrSignatureHeader},
		{"short v1", secret, "t=1767225600,v1=abcd", body, 0, ErrSignatureHeader},
		{"v1 not hex", secret, "t=1767225600,v1=" + strings.Repeat("zz", 32), body, 0, ErrSignatureHeader},
		{"part without =", secret, good + ",garbage", body, 0, ErrSignatureHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.secret, tc.header, []byte(tc.body), tc.tolerance, now)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifySignature = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParseSignatureHeader: the parser never panics, accepts only what it can explain, and a
// header it accepts verifies exactly the bodies it was made for.
func FuzzParseSignatureHeader(f *testing.F) {
	f.Add("t=1767225600,v1=" + strings.Repeat("ab", 32))
	f.Add(sign("s", 1767225600, "{}"))
	f.Add("t=1, v1=" + strings.Repeat("00", 32) + " ,v1=" + strings.Repeat("ff", 32))
	f.Add("v1=,t=")
	f.Add("t=99999999999999999999,v1=" + strings.Repeat("ab", 32))
	f.Add(",,,")
	f.Add("t==1,v1==")
	f.Fuzz(func(t *testing.T, h string) {
		ts, sigs, err := parseSignatureHeader(h)
		if err != nil {
			if !errors.Is(err, ErrSignatureHeader) {
				t.Fatalf("error %v is not ErrSignatureHeader", err)
			}
			if VerifySignature("s", h, nil, 0, time.Now()) == nil {
				t.Fatal("a header the parser refuses verified")
			}
			return
		}
		if ts < 0 || len(sigs) == 0 {
			t.Fatalf("accepted t=%d with %d signatures", ts, len(sigs))
		}
		for _, s := range sigs {
			if len(s) != sha256.Size {
				t.Fatalf("accepted a %d-byte signature", len(s))
			}
		}
		// A header carrying the right signature for a body verifies it; any other body fails.
		right := sign("secret", ts, "body")
		hdr := h + "," + strings.SplitN(right, ",", 2)[1]
		if err := VerifySignature("secret", hdr, []byte("body"), 0, time.Now()); err != nil {
			t.Fatalf("%q with its right signature added: %v", hdr, err)
		}
		if err := VerifySignature("secret", hdr, []byte("bodY"), 0, time.Now()); err == nil {
			t.Fatalf("%q verified another body", hdr)
		}
	})
}
