package auth

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/pkg/registry"
)

type fakeLogin struct {
	creds  registry.Credentials
	server string
	err    error
}

func (f *fakeLogin) Login(_ context.Context, creds registry.Credentials, server string) error {
	f.creds, f.server = creds, server
	return f.err
}

func post(b Backend, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/v1.51/auth", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	server.New(New(b)).ServeHTTP(w, req)
	return w
}

func TestAuth(t *testing.T) {
	f := &fakeLogin{}
	w := post(f, `{"username":"alice","password":"pw","serveraddress":"127.0.0.1:5000"}`)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"Status":"Login Succeeded"}` {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if f.creds.Username != "alice" || f.creds.Password != "pw" || f.server != "127.0.0.1:5000" {
		t.Errorf("got %v %q", f.creds, f.server)
	}
	f.err = fmt.Errorf("login attempt to https://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized: %w", errdefs.ErrUnauthenticated)
	w = post(f, `{"username":"alice","password":"bad","serveraddress":"127.0.0.1:5000"}`)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "401 Unauthorized") || strings.Contains(w.Body.String(), "bad") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if w := post(f, `{bad json`); w.Code != 400 {
		t.Errorf("bad body: %d", w.Code)
	}
}
