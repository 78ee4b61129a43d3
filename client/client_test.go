package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	mobyclient "github.com/moby/moby/client"
)

func TestResolveHost(t *testing.T) {
	t.Setenv(EnvHost, "")
	if got := ResolveHost(""); got != DefaultHost {
		t.Errorf("default: got %q", got)
	}
	t.Setenv(EnvHost, "unix:///tmp/env.sock")
	if got := ResolveHost(""); got != "unix:///tmp/env.sock" {
		t.Errorf("env: got %q", got)
	}
	if got := ResolveHost("tcp://127.0.0.1:2375"); got != "tcp://127.0.0.1:2375" {
		t.Errorf("flag must win over env: got %q", got)
	}
}

func TestNewRejectsBadHost(t *testing.T) {
	if _, err := New(Options{Host: "no-scheme-here"}); err == nil {
		t.Fatal("expected an error for a host without a scheme")
	}
}

func TestMissingSocketExplained(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "absent.sock")
	c, err := New(Options{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ServerVersion(context.Background(), mobyclient.ServerVersionOptions{})
	err = c.ExplainError(err)
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("want *ConnectError, got %T: %v", err, err)
	}
	want := "cannot connect to pouchd at " + host + ": is it running?"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}
}

func TestOtherErrorsUnchanged(t *testing.T) {
	c, err := New(Options{Host: DefaultHost})
	if err != nil {
		t.Fatal(err)
	}
	orig := errors.New("Error response from daemon: No such container: x")
	if got := c.ExplainError(orig); got != orig {
		t.Errorf("got %v", got)
	}
}

// TestNegotiatesVersion serves a fake daemon on a unix socket advertising
// API 1.41 and checks the client talks to it on /v1.41 paths.
func TestNegotiatesVersion(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Api-Version", "1.41")
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			_, _ = w.Write([]byte("OK"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Version":"0.1.0","ApiVersion":"1.41"}`))
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	c, err := New(Options{Host: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.ServerVersion(context.Background(), mobyclient.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "0.1.0" {
		t.Errorf("version: got %q", v.Version)
	}
	if c.ClientVersion() != "1.41" {
		t.Errorf("negotiated version: got %q", c.ClientVersion())
	}
	mu.Lock()
	defer mu.Unlock()
	if got := paths[len(paths)-1]; got != "GET /v1.41/version" {
		t.Errorf("last request: got %q (all: %v)", got, paths)
	}
}
