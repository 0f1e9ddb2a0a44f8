package ratelimit

import (
	"net"
	"net/http"
)

// ClientAddr is the key of a request's client: the IP address of the connection. (Behind a
// reverse proxy every client shares the proxy's address; Parley does not read X-Forwarded-For,
// which any client can write.)
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
