package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/containerd/errdefs"
)

type table []Route

func (t table) Routes() []Route { return t }

func TestRoutingAndErrorClasses(t *testing.T) {
	var got map[string]string
	h := func(err error) HandlerFunc {
		return func(_ context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
			got = v
			if err == nil {
				w.WriteHeader(204)
			}
			return err
		}
	}
	s := New(table{
		{Method: "GET", Path: "/images/{name:.+}/json", Handler: h(nil)},
		{Method: "GET", Path: "/containers/{id}/json", Handler: h(fmt.Errorf("No such container: x: %w", errdefs.ErrNotFound))},
		{Method: "POST", Path: "/conflict", Handler: h(fmt.Errorf("taken: %w", errdefs.ErrConflict))},
		{Method: "POST", Path: "/bad", Handler: h(fmt.Errorf(`exec: "/etc": permission denied: %w`, errdefs.ErrInvalidArgument))},
		{Method: "POST", Path: "/boom", Handler: h(errors.New("disk on fire"))},
	})
	cases := []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/v1.41/images/docker.io/library/busybox:latest/json", 204, ""},
		{"GET", "/containers/abc/json", 404, "No such container: x"},
		{"POST", "/conflict", 409, "taken"},
		{"POST", "/bad", 400, `exec: "/etc": permission denied`},
		{"POST", "/boom", 500, "disk on fire"},
		{"GET", "/nope", 404, "page not found"},
		{"GET", "/conflict", 405, "method not allowed"},
		{"GET", "/v1.10/containers/abc/json", 400, ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		if c.msg != "" && rec.Body.String() != fmt.Sprintf("{\"message\":%q}\n", c.msg) {
			t.Errorf("%s %s: body %s", c.method, c.path, rec.Body)
		}
		if rec.Header().Get("Api-Version") != APIVersion && c.status != 400 {
			t.Errorf("%s: no Api-Version header", c.path)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/images/docker.io/library/busybox:latest/json", nil))
	if got["name"] != "docker.io/library/busybox:latest" {
		t.Errorf("name with slashes: %v", got)
	}
}
