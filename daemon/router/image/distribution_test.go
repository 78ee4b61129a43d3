package image

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/pouchcontainer/pouch/daemon/server"
	svc "github.com/pouchcontainer/pouch/services/image"
)

// fakePuller is a Backend whose Pull and Push replay messages then fail
// with err.
type fakePuller struct {
	Backend
	msgs []svc.Progress
	err  error
	pull svc.PullOptions
	push svc.PushOptions
}

func (f *fakePuller) Pull(_ context.Context, opts svc.PullOptions, out svc.ProgressOutput) error {
	f.pull = opts
	for _, m := range f.msgs {
		if err := out.WriteProgress(m); err != nil {
			return err
		}
	}
	return f.err
}

func (f *fakePuller) Push(_ context.Context, opts svc.PushOptions, out svc.ProgressOutput) error {
	f.push = opts
	for _, m := range f.msgs {
		if err := out.WriteProgress(m); err != nil {
			return err
		}
	}
	return f.err
}

func serve(b Backend, method, target string, hdr http.Header) *httptest.ResponseRecorder {
	srv := server.New(New(b, nil))
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

func TestCreateStreamsDockerMessages(t *testing.T) {
	f := &fakePuller{msgs: []svc.Progress{
		{ID: "latest", Status: "Pulling from library/busybox"},
		{ID: "3c51ef92b536", Status: "Pulling fs layer", Layer: true},
		{ID: "3c51ef92b536", Status: "Downloading", Layer: true, Current: 50, Total: 100},
		{Status: "Status: Downloaded newer image for busybox:latest"},
	}}
	auth := base64.RawURLEncoding.EncodeToString([]byte(`{"username":"alice","password":"pw"}`))
	w := serve(f, "POST", "/v1.51/images/create?fromImage=busybox&tag=1.36&platform=linux/arm64/v8", http.Header{"X-Registry-Auth": {auth}})
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if f.pull.Ref != "busybox" || f.pull.Tag != "1.36" || f.pull.Platform == nil || f.pull.Platform.Architecture != "arm64" || f.pull.Platform.Variant != "v8" {
		t.Errorf("options %+v", f.pull)
	}
	if f.pull.Auth.Username != "alice" || f.pull.Auth.Password != "pw" {
		t.Errorf("credentials not decoded: %v", f.pull.Auth)
	}
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	want := []string{
		`{"status":"Pulling from library/busybox","id":"latest"}`,
		`{"status":"Pulling fs layer","progressDetail":{},"id":"3c51ef92b536"}`,
		`{"status":"Downloading","progressDetail":{"current":50,"total":100},"progress":"[=========================\u003e                         ]      50B/100B","id":"3c51ef92b536"}`,
		`{"status":"Status: Downloaded newer image for busybox:latest"}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestCreateErrors(t *testing.T) {
	// Before the first message: a plain HTTP error with the class's status.
	f := &fakePuller{err: fmt.Errorf("manifest for busybox:nope not found: manifest unknown: %w", errdefs.ErrNotFound)}
	w := serve(f, "POST", "/images/create?fromImage=busybox&tag=nope", nil)
	if w.Code != 404 || !strings.Contains(w.Body.String(), `"message":"manifest for busybox:nope not found: manifest unknown"`) {
		t.Errorf("404: %d %s", w.Code, w.Body)
	}
	f = &fakePuller{err: fmt.Errorf("pull access denied: %w", errdefs.ErrUnauthenticated)}
	if w := serve(f, "POST", "/images/create?fromImage=busybox", nil); w.Code != 401 {
		t.Errorf("401: %d %s", w.Code, w.Body)
	}
	for _, target := range []string{"/images/create", "/images/create?fromImage=busybox&platform=linux/nope/x/y"} {
		if w := serve(&fakePuller{}, "POST", target, nil); w.Code != 400 {
			t.Errorf("%s: %d %s", target, w.Code, w.Body)
		}
	}
	if w := serve(&fakePuller{}, "POST", "/images/create?fromSrc=-", nil); w.Code != 501 {
		t.Errorf("fromSrc: %d", w.Code)
	}
	// After: the stream's last message, in both the new and the old field.
	f = &fakePuller{msgs: []svc.Progress{{ID: "latest", Status: "Pulling from library/busybox"}}, err: fmt.Errorf("failed to pull busybox: short read: %w", errdefs.ErrUnavailable)}
	w = serve(f, "POST", "/images/create?fromImage=busybox", nil)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	sc := bufio.NewScanner(w.Body)
	var last map[string]any
	for sc.Scan() {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatal(err)
		}
	}
	detail, _ := last["errorDetail"].(map[string]any)
	if detail["message"] != "failed to pull busybox: short read" || last["error"] != "failed to pull busybox: short read" {
		t.Errorf("last message %v", last)
	}
}

func TestPushRoute(t *testing.T) {
	f := &fakePuller{msgs: []svc.Progress{
		{Status: "The push refers to repository [127.0.0.1:5000/team/app]"},
		{Status: "v1: digest: sha256:abc size: 527"},
		{Aux: &svc.PushResult{Tag: "v1", Digest: "sha256:abc", Size: 527}},
	}}
	w := serve(f, "POST", "/v1.51/images/127.0.0.1:5000/team/app/push?tag=v1", http.Header{"X-Registry-Auth": {"not base64 at all!"}})
	if w.Code != 200 {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	if f.push.Name != "127.0.0.1:5000/team/app" || f.push.Tag != "v1" || !f.push.Auth.Empty() {
		t.Errorf("options %+v", f.push)
	}
	body, _ := io.ReadAll(w.Body)
	if !strings.Contains(string(body), `{"progressDetail":{},"aux":{"Tag":"v1","Digest":"sha256:abc","Size":527}}`) {
		t.Errorf("no aux message:\n%s", body)
	}
	f = &fakePuller{err: fmt.Errorf("An image does not exist locally with the tag: x: %w", errdefs.ErrNotFound)}
	if w := serve(f, "POST", "/images/x/push", nil); w.Code != 404 {
		t.Errorf("missing image: %d", w.Code)
	}
}

func TestProgressBar(t *testing.T) {
	for _, c := range []struct {
		cur, total int64
		want       string
	}{
		{0, 100, "[>                                                  ]       0B/100B"},
		{100, 100, "[==================================================>]     100B/100B"},
		{1087884, 2175768, "[=========================>                         ]  1.088MB/2.176MB"},
		{150, 100, "[==================================================>]     100B/100B"},
	} {
		if got := progressBar(c.cur, c.total); got != c.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", c.cur, c.total, got, c.want)
		}
	}
}
