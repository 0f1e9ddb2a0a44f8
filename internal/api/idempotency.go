package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"
	"unicode/utf8"
)

// IdempotencyHeader names the header that makes a write safe to retry: the first response to
// a key is stored for 24 hours and replayed to every retry with the same key and request.
const IdempotencyHeader = "Idempotency-Key"

// recorder keeps a copy of what a handler writes.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// idempotent runs h once per Idempotency-Key. A retry of a finished request gets the stored
// response with the header Idempotent-Replayed: true; a retry while the first is still running
// gets 409; the same key with another request gets 422. Server errors are not stored, so a
// retry after one runs again.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, p principal, h handler) error {
	key := r.Header.Get(IdempotencyHeader)
	if len(key) > 255 || !utf8.ValidString(key) {
		return badParam(IdempotencyHeader, "must be at most 255 bytes of UTF-8")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	io.WriteString(sum, r.Method+" "+r.URL.RequestURI()+"\n")
	sum.Write(body)
	fingerprint := hex.EncodeToString(sum.Sum(nil))

	rec, claimed, err := s.store.ClaimIdempotencyKey(r.Context(), p.assistantID(), key, fingerprint)
	if err != nil {
		return err
	}
	if !claimed {
		switch {
		case rec.Fingerprint != fingerprint:
			return invalid(IdempotencyHeader, "this key was used for a different request")
		case rec.Status == 0:
			return errorf(http.StatusConflict, CodeConflict, IdempotencyHeader, "a request with this key is still being processed")
		}
		header, body := decodeReplay(rec.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(rec.Status)
		_, _ = w.Write(body)
		return nil
	}
	rw := &recorder{ResponseWriter: w}
	herr := h(rw, r, p)
	if herr != nil {
		s.writeError(rw, r, herr)
	}
	// Finish or release even when the client has gone away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if rw.status >= 500 || rw.status == 0 {
		err = s.store.ReleaseIdempotencyKey(ctx, p.assistantID(), key)
	} else {
		err = s.store.FinishIdempotencyKey(ctx, p.assistantID(), key, rw.status, encodeReplay(rw.Header(), rw.body.Bytes()))
	}
	if err != nil {
		s.log.Error("idempotency key", "key", key, "err", err)
	}
	return nil
}

// replayHeaders are the response headers a replay repeats besides the body.
var replayHeaders = []string{"Content-Type", "ETag", "Location"}

// encodeReplay keeps the replayed headers before the body: one "Name: value" line each, then
// an empty line (the store keeps status and bytes, nothing it needs to understand).
func encodeReplay(h http.Header, body []byte) []byte {
	var b bytes.Buffer
	for _, k := range replayHeaders {
		if v := h.Get(k); v != "" {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return b.Bytes()
}

func decodeReplay(stored []byte) (http.Header, []byte) {
	h := http.Header{}
	head, body, ok := bytes.Cut(stored, []byte("\n\n"))
	if !ok {
		if rest, found := bytes.CutPrefix(stored, []byte("\n")); found {
			return h, rest
		}
		return http.Header{"Content-Type": {"application/json"}}, stored
	}
	for _, line := range bytes.Split(head, []byte("\n")) {
		if k, v, ok := bytes.Cut(line, []byte(": ")); ok {
			h.Set(string(k), string(v))
		}
	}
	return h, body
}
