package webhook

import (
	"net/url"
	"slices"
	"strings"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Limits on an endpoint.
const (
	MaxURLBytes         = 2048
	MaxDescriptionRunes = 500
	MinSecretBytes      = 16
	MaxSecretBytes      = 256
	// MaxEndpoints is how many endpoints one assistant may have.
	MaxEndpoints = 20
)

// CheckURL validates an endpoint URL: absolute http or https, with a host, no user
// information (credentials belong in the signature, not in the URL) and no fragment.
func CheckURL(field, raw string) error {
	if raw == "" {
		return cv.Invalid(field, "is required")
	}
	if len(raw) > MaxURLBytes {
		return cv.Invalid(field, "is longer than %d bytes", MaxURLBytes)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs():
		return cv.Invalid(field, "must be an absolute http or https URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return cv.Invalid(field, "must be an http or https URL, not %s", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return cv.Invalid(field, "must name a host")
	case u.User != nil:
		return cv.Invalid(field, "must not carry credentials: verify the Parley-Signature header instead")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return cv.Invalid(field, "must not have a fragment")
	}
	return nil
}

// CheckEventTypes validates a list of change types and returns it without duplicates, in the
// order of conversation.ChangeTypes. Empty means every type.
func CheckEventTypes(field string, types []string) ([]string, error) {
	out := []string{}
	for _, t := range cv.ChangeTypes {
		if slices.Contains(types, t) {
			out = append(out, t)
		}
	}
	for _, t := range types {
		if !slices.Contains(cv.ChangeTypes, t) {
			return nil, cv.Invalid(field, "unknown event type %q: expected some of %s", t, strings.Join(cv.ChangeTypes, ", "))
		}
	}
	return out, nil
}

// CheckDescription validates a description.
func CheckDescription(field, d string) error {
	if len([]rune(d)) > MaxDescriptionRunes {
		return cv.Invalid(field, "is longer than %d characters", MaxDescriptionRunes)
	}
	return nil
}

// CheckSecret validates a signing secret a client chose.
func CheckSecret(field, s string) error {
	if len(s) < MinSecretBytes || len(s) > MaxSecretBytes {
		return cv.Invalid(field, "must be %d to %d bytes", MinSecretBytes, MaxSecretBytes)
	}
	if strings.TrimSpace(s) != s {
		return cv.Invalid(field, "must not start or end with spaces")
	}
	return nil
}
