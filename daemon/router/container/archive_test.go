package container

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"github.com/pouchcontainer/pouch/daemon/server"
	svc "github.com/pouchcontainer/pouch/services/container"
)

type fakeArchive struct {
	ArchiveBackend
	stat     *ctypes.PathStat
	err      error // returned before anything is written
	lateErr  error // returned after the archive started
	extract  svc.ExtractOptions
	body     string
	commit   svc.CommitOptions
	commitID string
}

func (f *fakeArchive) StatPath(_ context.Context, ref, p string) (*ctypes.PathStat, error) {
	return f.stat, f.err
}

func (f *fakeArchive) ArchivePath(_ context.Context, ref, p string, open func(*ctypes.PathStat) (io.Writer, error)) error {
	if f.err != nil {
		return f.err
	}
	w, err := open(f.stat)
	if err != nil {
		return err
	}
	_, _ = io.WriteString(w, "TAR")
	return f.lateErr
}

func (f *fakeArchive) ExtractToDir(_ context.Context, ref, p string, opts svc.ExtractOptions, r io.Reader) error {
	f.extract = opts
	b, _ := io.ReadAll(r)
	f.body = string(b)
	return f.err
}

func (f *fakeArchive) Export(_ context.Context, ref string, w io.Writer) error {
	if f.err != nil {
		return f.err
	}
	_, _ = io.WriteString(w, "EXPORT")
	return nil
}

func (f *fakeArchive) Changes(_ context.Context, ref string) ([]ctypes.FilesystemChange, error) {
	return nil, f.err
}

func (f *fakeArchive) Commit(_ context.Context, ref string, _ svc.ImageCommitter, opts svc.CommitOptions) (digest.Digest, error) {
	f.commit = opts
	return digest.Digest(f.commitID), f.err
}

func serveArchive(f *fakeArchive, method, target, body string) *httptest.ResponseRecorder {
	srv := server.New(NewArchive(f, nil))
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" && method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

func TestArchiveRoutes(t *testing.T) {
	stat := &ctypes.PathStat{Name: "f", Size: 3, Mode: 0o644}
	f := &fakeArchive{stat: stat}
	w := serveArchive(f, "HEAD", "/v1.24/containers/c/archive?path=/f", "")
	b, _ := base64.StdEncoding.DecodeString(w.Header().Get("X-Docker-Container-Path-Stat"))
	var got ctypes.PathStat
	if err := json.Unmarshal(b, &got); err != nil || w.Code != 200 || got.Name != "f" || got.Size != 3 {
		t.Errorf("HEAD: %d %s %v", w.Code, b, err)
	}
	w = serveArchive(f, "GET", "/containers/c/archive?path=/f", "")
	if w.Code != 200 || w.Body.String() != "TAR" || w.Header().Get("Content-Type") != "application/x-tar" || w.Header().Get("X-Docker-Container-Path-Stat") == "" {
		t.Errorf("GET: %d %q %v", w.Code, w.Body, w.Header())
	}
	f.lateErr = errors.New("broke halfway")
	if w = serveArchive(f, "GET", "/containers/c/archive?path=/f", ""); w.Code != 200 || w.Body.String() != "TAR" {
		t.Errorf("a failure after the start cuts the archive: %d %q", w.Code, w.Body)
	}
	f.lateErr = nil
	for _, target := range []string{"/containers/c/archive", "/containers/c/archive?path="} {
		if w = serveArchive(f, "GET", target, ""); w.Code != 400 || !strings.Contains(w.Body.String(), "path cannot be empty") {
			t.Errorf("GET %s: %d %s", target, w.Code, w.Body)
		}
	}
	w = serveArchive(f, "PUT", "/containers/c/archive?path=/d&noOverwriteDirNonDir=true&copyUIDGID=1", "BODY")
	if w.Code != 200 || !f.extract.NoOverwriteDirNonDir || !f.extract.CopyUIDGID || f.body != "BODY" {
		t.Errorf("PUT: %d %+v %q", w.Code, f.extract, f.body)
	}
	if w = serveArchive(f, "PUT", "/containers/c/archive?path=/d&copyUIDGID=perhaps", "BODY"); w.Code != 400 {
		t.Errorf("PUT with a bad boolean: %d", w.Code)
	}
	if w = serveArchive(f, "GET", "/containers/c/export", ""); w.Code != 200 || w.Body.String() != "EXPORT" {
		t.Errorf("export: %d %q", w.Code, w.Body)
	}
	if w = serveArchive(f, "GET", "/containers/c/changes", ""); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "null" {
		t.Errorf("no changes is null, as in Docker: %d %q", w.Code, w.Body)
	}
	f.err = errdefs.ErrNotFound
	for _, tc := range [][2]string{{"GET", "/containers/c/archive?path=/f"}, {"HEAD", "/containers/c/archive?path=/f"}, {"PUT", "/containers/c/archive?path=/f"}, {"GET", "/containers/c/export"}, {"GET", "/containers/c/changes"}} {
		if w = serveArchive(f, tc[0], tc[1], ""); w.Code != 404 {
			t.Errorf("%s %s: %d", tc[0], tc[1], w.Code)
		}
	}
}

func TestCommitRoute(t *testing.T) {
	f := &fakeArchive{commitID: "sha256:" + strings.Repeat("a", 64)}
	w := serveArchive(f, "POST", "/commit?container=c&repo=busybox&tag=v2&comment=m&author=a&changes=CMD+x&changes=ENV+A%3D1", "")
	var resp ctypes.CommitResponse
	_ = json.Unmarshal(w.Body.Bytes(), &resp)
	if w.Code != 201 || resp.ID != f.commitID {
		t.Fatalf("commit: %d %s", w.Code, w.Body)
	}
	c := f.commit
	if c.Ref != "docker.io/library/busybox:v2" || c.Comment != "m" || c.Author != "a" || !c.Pause || strings.Join(c.Changes, "|") != "CMD x|ENV A=1" || c.Config != nil {
		t.Errorf("options %+v", c)
	}
	serveArchive(f, "POST", "/commit?container=c&pause=0", `{"Cmd":["echo"]}`)
	if f.commit.Pause || f.commit.Config == nil || f.commit.Config.Cmd[0] != "echo" || f.commit.Ref != "" {
		t.Errorf("options %+v", f.commit)
	}
	serveArchive(f, "POST", "/commit?container=c", "null")
	if f.commit.Config != nil {
		t.Errorf("a null body is no configuration: %+v", f.commit.Config)
	}
	for _, q := range []string{"container=c&repo=Bad", "container=c&repo=a@sha256:" + strings.Repeat("b", 64), "container=c&pause=sometimes"} {
		if w := serveArchive(f, "POST", "/commit?"+q, ""); w.Code != 400 {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
	if w := serveArchive(f, "POST", "/commit?container=c", "{not json"); w.Code != 400 {
		t.Errorf("bad body: %d", w.Code)
	}
	f.err = errdefs.ErrNotFound
	if w := serveArchive(f, "POST", "/commit?container=nope", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown container: %d", w.Code)
	}
}
