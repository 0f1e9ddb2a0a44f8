package widget

import (
	"net/http"
	"net/url"
	"strings"
)

// normalOrigin is an origin as compared: lower-case scheme and host, no default port, no
// trailing slash. "" when s is not an http(s) origin.
func normalOrigin(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return ""
	}
	host := strings.ToLower(u.Host)
	if u.Scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	} else {
		host = strings.TrimSuffix(host, ":80")
	}
	return strings.ToLower(u.Scheme) + "://" + host
}

// originAllowed reports whether a request with the Origin header origin may use the widget of
// an assistant that allows allowed: an empty list allows any origin (and requests without
// one); otherwise the origin must be in the list.
func originAllowed(allowed []string, origin string) bool {
	if len(allowed) == 0 {
		return true
	}
	o := normalOrigin(origin)
	if o == "" {
		return false
	}
	for _, a := range allowed {
		if normalOrigin(a) == o {
			return true
		}
	}
	return false
}

// allowCORS lets the page at origin read the response.
func allowCORS(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "Retry-After")
}

// preflight answers a CORS preflight of an allowed origin.
func preflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
