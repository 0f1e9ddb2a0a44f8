package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
)

// Export formats.
const (
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// ExportOptions select and shape an export: every list filter and the order, the format
// (FormatNDJSON by default, or FormatCSV), and for NDJSON whether each line carries the
// conversation's whole timeline.
type ExportOptions struct {
	Filter
	Sort          string
	Format        string
	IncludeEvents bool
}

func (o ExportOptions) values() url.Values {
	q := url.Values{}
	o.Filter.values(q)
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	if o.Format != "" {
		q.Set("format", o.Format)
	}
	if o.IncludeEvents {
		q.Set("include", "events")
	}
	return q
}

// Export streams every conversation that matches opts: NDJSON, one detail object a line (with
// "events" when opts.IncludeEvents), or CSV with a header row, one row a conversation and one
// metadata.<key> column per metadata key. The caller reads and closes the stream. If the
// server fails part way, reading fails (never a silently short export).
//
// Exports count as heavy requests for rate limiting.
func (s *ConversationsService) Export(ctx context.Context, opts ExportOptions) (io.ReadCloser, error) {
	res, err := s.c.send(ctx, request{method: http.MethodGet, path: apiPrefix + "/conversations/export", query: opts.values()})
	if err != nil {
		return nil, err
	}
	return res.Body, nil
}

// ExportedConversation is one line of an NDJSON export: the detail object and, when asked
// for, the timeline.
type ExportedConversation struct {
	ConversationDetail
	Events []Event `json:"events,omitempty"`
}

// ExportEach streams an NDJSON export (opts.Format is ignored) and yields its conversations
// one at a time, in constant memory. It stops at the first error, which it yields.
func (s *ConversationsService) ExportEach(ctx context.Context, opts ExportOptions) iter.Seq2[*ExportedConversation, error] {
	return func(yield func(*ExportedConversation, error) bool) {
		opts.Format = FormatNDJSON
		body, err := s.Export(ctx, opts)
		if err != nil {
			yield(nil, err)
			return
		}
		defer body.Close()
		for c, err := range DecodeNDJSON(body) {
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// DecodeNDJSON yields the conversations of an NDJSON export read from r (a saved file, say).
// It stops at the first error, which it yields.
func DecodeNDJSON(r io.Reader) iter.Seq2[*ExportedConversation, error] {
	return func(yield func(*ExportedConversation, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		for line := 1; ; line++ {
			b, err := br.ReadBytes('\n')
			if len(b) > 0 && !(len(b) == 1 && b[0] == '\n') {
				var c ExportedConversation
				if jerr := json.Unmarshal(b, &c); jerr != nil {
					yield(nil, fmt.Errorf("parley client: export line %d: %w", line, jerr))
					return
				}
				if err == io.EOF {
					// A whole export ends every line with a newline.
					yield(nil, fmt.Errorf("parley client: export line %d: %w", line, io.ErrUnexpectedEOF))
					return
				}
				if !yield(&c, nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
		}
	}
}
