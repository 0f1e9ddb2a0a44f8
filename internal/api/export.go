package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/wire"
)

// Export formats.
const (
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// MaxExportMetadataColumns bounds the metadata.<key> columns of a CSV export: more distinct
// keys than that is an error that points to NDJSON, rather than a sheet nobody can open.
const MaxExportMetadataColumns = 1000

// exportEventsPage is how many events of one conversation an NDJSON export with
// include=events reads at a time.
const exportEventsPage = 500

// flushEvery bounds how long written rows wait in buffers before they go out.
const (
	flushEveryRows = 256
	flushEveryTime = 200 * time.Millisecond
)

// CSVColumns are the columns of a CSV export before its metadata.<key> columns: every list
// field (the assignee as three columns), the detail fields, the unified_analysis fields, and
// the rating.
var CSVColumns = []string{
	"id", "ord", "created_at", "last_message_at", "title", "source", "terminated", "resolution_status",
	"has_unread_messages", "supports_inbox_control", "last_message_content", "most_frequent_language",
	"assignee_type", "assignee_id", "assignee_name", "visitor_name", "visitor_email", "visitor_phone_number",
	"visitor_label", "url", "last_visitor_message_at", "version",
	"sentiment", "analysis_resolution_status", "topic", "is_flagged", "flag_reason", "analysis_summary",
	"rating_score", "rating_comment", "rating_created_at",
}

// MetadataColumnPrefix starts the name of a CSV column that holds one metadata key.
const MetadataColumnPrefix = "metadata."

// exportParams are an export's parameters: the list's filters and sort, the format, and
// whether NDJSON lines carry the timeline.
type exportParams struct {
	filter cv.Filter
	format string
	events bool
}

// rejectPaging refuses the list's paging parameters on endpoints that answer about every
// match at once.
func rejectPaging(q url.Values, what string) *apiError {
	for _, name := range []string{"limit", "offset", "cursor"} {
		if q.Has(name) {
			return badParam(name, "%s covers every matching conversation; %s is not supported here", what, name)
		}
	}
	return nil
}

func parseExportParams(q url.Values) (exportParams, *apiError) {
	var p exportParams
	if err := rejectPaging(q, "an export"); err != nil {
		return p, err
	}
	f, err := parseListParams(q)
	if err != nil {
		return p, err
	}
	p.filter = f
	switch p.format = q.Get("format"); p.format {
	case "":
		p.format = FormatNDJSON
	case FormatNDJSON, FormatCSV:
	default:
		return p, badParam("format", "must be ndjson or csv")
	}
	include, err := enumList(q, "include", []string{"events"})
	if err != nil {
		return p, err
	}
	p.events = len(include) > 0
	if p.events && p.format != FormatNDJSON {
		return p, badParam("include", "include=events needs format=ndjson: a CSV row is one conversation")
	}
	return p, nil
}

// exportConversations streams every conversation that matches the list's filters, as NDJSON
// (one detail object a line, optionally with its timeline) or CSV (one row a conversation). It
// walks the store in keyset pages and writes each row as it comes, so memory stays the same at
// any size. Once the first byte is out, a failure can no longer be an error response: the
// connection is cut instead, so that a client never takes a truncated export for a whole one.
func (s *Server) exportConversations(w http.ResponseWriter, r *http.Request, p principal) error {
	params, perr := parseExportParams(r.URL.Query())
	if perr != nil {
		return perr
	}
	ctx := r.Context()
	var keys []string
	if params.format == FormatCSV {
		var err error
		if keys, err = s.store.MetadataKeys(ctx, p.assistantID(), params.filter, MaxExportMetadataColumns+1); err != nil {
			return err
		}
		if len(keys) > MaxExportMetadataColumns {
			return badParam("format", "the matching conversations have more than %d distinct metadata keys, too many for CSV columns: narrow the filters or use format=ndjson", MaxExportMetadataColumns)
		}
	}

	h := w.Header()
	name := "conversations-" + s.now().UTC().Format("20060102T150405Z") + "." + params.format
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if params.format == FormatCSV {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/x-ndjson")
	}
	rc := http.NewResponseController(w)
	// A long export outlives the server's read timeout, which would otherwise cancel it.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}

	out := &clientWriter{w: w}
	bw := bufio.NewWriterSize(out, 32<<10)
	var row func(c *cv.Conversation) error
	if params.format == FormatCSV {
		cw := newCSVExport(bw, keys)
		if err := cw.header(); err != nil {
			return s.abortExport(r, out, err)
		}
		row = cw.row
	} else {
		nw := &ndjsonExport{w: bw, events: params.events, s: s, ctx: ctx, assistantID: p.assistantID()}
		row = nw.row
	}
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			if out.err == nil {
				out.err = err
			}
			return err
		}
		return nil
	}
	rows, last := 0, time.Now()
	err := s.store.EachConversation(ctx, p.assistantID(), params.filter, func(c *cv.Conversation) error {
		if err := row(c); err != nil {
			return err
		}
		if rows++; rows%flushEveryRows == 0 || time.Since(last) > flushEveryTime {
			last = time.Now()
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return s.abortExport(r, out, err)
	}
	return nil
}

// clientWriter remembers that writing to the client failed: the client went away.
type clientWriter struct {
	w   http.ResponseWriter
	err error
}

func (c *clientWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// abortExport ends an export that failed after its first byte: quietly when the client went
// away, else by cutting the connection (an HTTP/1.1 chunked body without its last chunk, an
// HTTP/2 stream reset), which every client reports as an error.
func (s *Server) abortExport(r *http.Request, out *clientWriter, err error) error {
	if r.Context().Err() != nil || out.err != nil {
		return nil
	}
	s.log.Error("export failed after the response started", "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

// csvExport writes conversations as CSV rows (RFC 4180, by encoding/csv).
type csvExport struct {
	w    *csv.Writer
	keys []string
	rec  []string
}

func newCSVExport(w *bufio.Writer, keys []string) *csvExport {
	return &csvExport{w: csv.NewWriter(w), keys: keys, rec: make([]string, 0, len(CSVColumns)+len(keys))}
}

func (e *csvExport) header() error {
	rec := append(e.rec[:0], CSVColumns...)
	for _, k := range e.keys {
		rec = append(rec, MetadataColumnPrefix+k)
	}
	return e.write(rec)
}

func (e *csvExport) write(rec []string) error {
	if err := e.w.Write(rec); err != nil {
		return err
	}
	// The csv writer buffers on its own; hand each row on so that the caller's flushes see it.
	e.w.Flush()
	return e.w.Error()
}

func (e *csvExport) row(c *cv.Conversation) error {
	d := wire.NewDetail(c)
	rec := append(e.rec[:0],
		d.ID, strconv.FormatInt(d.Ord, 10), timeCell(c.CreatedAt), timeCell(c.LastMessageAt), d.Title, d.Source,
		strconv.FormatBool(d.Terminated), d.ResolutionStatus, strconv.FormatBool(d.HasUnreadMessages),
		strconv.FormatBool(d.SupportsInboxControl), d.LastMessageContent, d.MostFrequentLanguage,
		d.Assignee.Type, strCell(d.Assignee.ID), strCell(d.Assignee.Name), strCell(d.VisitorName), strCell(d.VisitorEmail),
		strCell(d.VisitorPhoneNumber), strCell(d.VisitorLabel), strCell(d.URL), timePtrCell(c.LastVisitorMessageAt),
		strconv.FormatInt(d.Version, 10),
	)
	var analysis map[string]json.RawMessage
	if len(c.UnifiedAnalysis) > 0 {
		_ = json.Unmarshal(c.UnifiedAnalysis, &analysis) // not an object: no analysis cells
	}
	for _, k := range []string{"sentiment", "resolution_status", "topic", "is_flagged", "flag_reason", "summary"} {
		rec = append(rec, rawCell(analysis[k]))
	}
	if rt := c.Rating; rt != nil {
		rec = append(rec, strconv.Itoa(rt.Score), strCell(rt.Comment), timeCell(rt.CreatedAt))
	} else {
		rec = append(rec, "", "", "")
	}
	for _, k := range e.keys {
		rec = append(rec, MetadataCell(c.ClientMetadata[k]))
	}
	return e.write(rec)
}

// timeCell is a time as the JSON responses write it (RFC 3339 in UTC with a Z).
func timeCell(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func timePtrCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return timeCell(*t)
}

func strCell(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// rawCell is a JSON value as a cell: a string as itself, null or nothing as empty, anything
// else as its compact JSON text.
func rawCell(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// MetadataCell is a metadata value as a CSV cell: a string as itself, a missing key or null
// as empty, numbers and booleans as their JSON text, objects and arrays as compact JSON.
func MetadataCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// ndjsonExport writes conversations as NDJSON: one detail object a line, with "events" (the
// whole timeline, read in pages and written as it is read) when asked for.
type ndjsonExport struct {
	w           *bufio.Writer
	events      bool
	s           *Server
	ctx         context.Context
	assistantID string
}

func (e *ndjsonExport) row(c *cv.Conversation) error {
	b, err := json.Marshal(wire.NewDetail(c))
	if err != nil {
		return err
	}
	if !e.events {
		b = append(b, '\n')
		_, err = e.w.Write(b)
		return err
	}
	// The detail object without its closing brace, then the timeline, then the brace.
	if _, err := e.w.Write(b[:len(b)-1]); err != nil {
		return err
	}
	if _, err := e.w.WriteString(`,"events":[`); err != nil {
		return err
	}
	f := cv.EventFilter{Limit: exportEventsPage}
	first := true
	for {
		page, err := e.s.store.Events(e.ctx, e.assistantID, c.ID, f)
		if errors.Is(err, cv.ErrNotFound) {
			break // deleted since the page of conversations was read: its timeline is gone
		}
		if err != nil {
			return err
		}
		for i := range page.Items {
			eb, err := json.Marshal(wire.NewEvent(&page.Items[i]))
			if err != nil {
				return err
			}
			if !first {
				if err := e.w.WriteByte(','); err != nil {
					return err
				}
			}
			first = false
			if _, err := e.w.Write(eb); err != nil {
				return err
			}
		}
		if len(page.Items) < exportEventsPage {
			break
		}
		last := page.Items[len(page.Items)-1].Ord
		f.AfterOrd = &last
	}
	_, err = e.w.WriteString("]}\n")
	return err
}
