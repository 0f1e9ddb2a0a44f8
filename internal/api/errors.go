package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Error codes of the error envelope.
const (
	CodeBadRequest         = "BAD_REQUEST"
	CodePermissionDenied   = "PERMISSION_DENIED"
	CodeNotFound           = "NOT_FOUND"
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	CodeConflict           = "CONFLICT"
	CodePreconditionFailed = "PRECONDITION_FAILED"
	CodeTooLarge           = "REQUEST_TOO_LARGE"
	CodeUnsupportedMedia   = "UNSUPPORTED_MEDIA_TYPE"
	CodeValidation         = "VALIDATION_ERROR"
	CodeTooManyRequests    = "TOO_MANY_REQUESTS"
	CodeUnknown            = "UNKNOWN"
	CodeUnavailable        = "SERVICE_UNAVAILABLE"
)

// RootKey is the envelope key of errors that concern the request as a whole.
const RootKey = "root"

// apiError is an error answered to the client: a status, a code, and the field it concerns.
type apiError struct {
	Status  int
	Code    string
	Field   string
	Message string
	Header  http.Header
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s %s: %s", e.Status, e.Code, e.Field, e.Message)
}

func errorf(status int, code, field, format string, args ...any) *apiError {
	if field == "" {
		field = RootKey
	}
	return &apiError{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func badParam(name, format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, CodeBadRequest, name, format, args...)
}

func invalid(field, format string, args ...any) *apiError {
	return errorf(http.StatusUnprocessableEntity, CodeValidation, field, format, args...)
}

var errNotFound = errorf(http.StatusNotFound, CodeNotFound, "", "Not found.")

type errorItem struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

// errorBody is the envelope: {"errors": {"<field or root>": [{"message", "code"}]}}.
type errorBody struct {
	Errors map[string][]errorItem `json:"errors"`
}

// writeError answers err in the envelope. Domain errors map to their statuses; anything else is
// a 500 whose details go to the log, not to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var ve *cv.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = invalid(ve.Field, "%s", ve.Message)
	case errors.Is(err, cv.ErrNotFound):
		ae = errNotFound
	case errors.Is(err, cv.ErrPreconditionFailed):
		ae = errorf(http.StatusPreconditionFailed, CodePreconditionFailed, "If-Match", "The conversation has changed since the version given in If-Match.")
	case errors.Is(err, cv.ErrConflict):
		ae = errorf(http.StatusConflict, CodeConflict, "", "%s", err.Error())
	case errors.As(err, &mbe):
		ae = errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "", "The request body is larger than %d bytes.", mbe.Limit)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		ae = errorf(499, CodeUnavailable, "", "Request cancelled.")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, CodeUnknown, "", "Internal error.")
	}
	for k, v := range ae.Header {
		w.Header()[k] = v
	}
	writeJSON(w, ae.Status, errorBody{Errors: map[string][]errorItem{ae.Field: {{Message: ae.Message, Code: ae.Code}}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"errors":{"root":[{"message":"Internal error.","code":"UNKNOWN"}]}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
