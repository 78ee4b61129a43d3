package image

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	svc "github.com/pouchcontainer/pouch/services/image"
)

type fakeImporter struct {
	fakePuller
	opts svc.ImportOptions
	body string
	err  error
}

func (f *fakeImporter) Import(_ context.Context, r io.Reader, opts svc.ImportOptions) (digest.Digest, error) {
	b, _ := io.ReadAll(r)
	f.opts, f.body = opts, string(b)
	return digest.Digest("sha256:" + strings.Repeat("c", 64)), f.err
}

func serveImportRequest(b ImportBackend, target, body string) *httptest.ResponseRecorder {
	r := &Router{b: b.(Backend)}
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", target, strings.NewReader(body))
	if err := r.importImage(req.Context(), w, req); err != nil {
		w = httptest.NewRecorder()
		w.Code = 0
		w.Body.WriteString(err.Error())
	}
	return w
}

func TestImportRoute(t *testing.T) {
	f := &fakeImporter{}
	w := serveImportRequest(f, "/images/create?fromSrc=-&repo=busybox&tag=imp&changes=CMD+x&changes=&message=hi&platform=linux/amd64", "TARBALL")
	var msg struct{ Status string }
	_ = json.Unmarshal(w.Body.Bytes(), &msg)
	if w.Code != 200 || msg.Status != "sha256:"+strings.Repeat("c", 64) {
		t.Fatalf("import: %d %s", w.Code, w.Body)
	}
	if f.body != "TARBALL" || f.opts.Ref != "docker.io/library/busybox:imp" || f.opts.Message != "hi" || strings.Join(f.opts.Changes, "|") != "CMD x" || f.opts.Platform == nil {
		t.Errorf("options %+v body %q", f.opts, f.body)
	}
	serveImportRequest(f, "/images/create?fromSrc=-", "T")
	if f.opts.Message != "Imported from -" || f.opts.Ref != "" {
		t.Errorf("defaults %+v", f.opts)
	}
	for _, tc := range []struct {
		target string
		class  func(error) bool
	}{
		{"/images/create?fromSrc=http://example.com/x.tar", errdefs.IsNotImplemented},
		{"/images/create?fromSrc=-&repo=UPPER", errdefs.IsInvalidArgument},
		{"/images/create?fromSrc=-&platform=windows/amd64", errdefs.IsInvalidArgument},
	} {
		r := &Router{b: f}
		req := httptest.NewRequest("POST", tc.target, strings.NewReader("x"))
		if err := r.importImage(req.Context(), httptest.NewRecorder(), req); !tc.class(err) {
			t.Errorf("%s: %v", tc.target, err)
		}
	}
	// A backend that cannot import.
	r := &Router{b: &fakePuller{}}
	req := httptest.NewRequest("POST", "/images/create?fromSrc=-", strings.NewReader("x"))
	if err := r.importImage(req.Context(), httptest.NewRecorder(), req); !errdefs.IsNotImplemented(err) {
		t.Errorf("no importer: %v", err)
	}
}
