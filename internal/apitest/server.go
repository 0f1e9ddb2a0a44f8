package apitest

import (
	"net/http/httptest"
	"testing"

	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// StartServer runs the whole server on a fresh store from open, like Start, with the
// configuration that build returns for the store and the server's own URL (known before the
// server starts, so that the configuration can name it: a public URL, mounts that need it).
func StartServer(t testing.TB, open enginetest.Opener, build func(st store.Store, url string) server.Config) *Env {
	t.Helper()
	st := open(t)
	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	hs.Config.Handler = server.New(st, build(st, url)).Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	e := &Env{T: t, URL: hs.URL, Store: st}
	e.A = e.NewTenant("Assistant A")
	e.B = e.NewTenant("Assistant B")
	return e
}
