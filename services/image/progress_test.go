package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/errdefs"
	dref "github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/pkg/reference"
	"github.com/pouchcontainer/pouch/pkg/registry"
)

// recorder is a ProgressOutput that keeps the messages.
type recorder struct {
	mu   sync.Mutex
	msgs []Progress
	fail error
}

func (r *recorder) WriteProgress(p Progress) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.msgs = append(r.msgs, p)
	return nil
}

// lines renders the messages as "id: status [current/total]".
func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		l := m.Status
		if m.ID != "" {
			l = m.ID + ": " + l
		}
		if m.Total > 0 {
			l += fmt.Sprintf(" %d/%d", m.Current, m.Total)
		}
		out = append(out, l)
	}
	return out
}

func blobDesc(data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

func equalLines(t *testing.T, step string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", step, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPullProgress(t *testing.T) {
	ctx := context.Background()
	cs, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	present := []byte("present layer")
	if err := content.WriteBlob(ctx, cs, "present", strings.NewReader(string(present)), blobDesc(present)); err != nil {
		t.Fatal(err)
	}
	big := []byte(strings.Repeat("x", 1000))
	l1, l2, l3, l4 := blobDesc(present), blobDesc(big), blobDesc([]byte("three")), blobDesc([]byte("four"))
	id := func(d ocispec.Descriptor) string { return ShortID(d.Digest) }

	rec := &recorder{}
	p := newPullProgress(&output{out: rec}, cs, 2)
	p.announce(ctx, []ocispec.Descriptor{l1, l2, l3, l4})
	equalLines(t, "announce", rec.lines(), []string{
		id(l1) + ": Already exists",
		id(l2) + ": Pulling fs layer",
		id(l3) + ": Pulling fs layer",
		id(l4) + ": Pulling fs layer",
		id(l4) + ": Waiting",
	})

	// A download in progress shows the ingest's offset.
	rec.msgs = nil
	ref := "layer-" + l2.Digest.String()
	w, err := content.OpenWriter(ctx, cs, content.WithRef(ref), content.WithDescriptor(l2))
	if err != nil {
		t.Fatal(err)
	}
	p.fetchStarted(l2, ref)
	if _, err := w.Write(big[:400]); err != nil {
		t.Fatal(err)
	}
	p.tick(ctx)
	p.tick(ctx) // nothing new: no message
	if _, err := w.Write(big[400:]); err != nil {
		t.Fatal(err)
	}
	p.tick(ctx)
	if err := w.Commit(ctx, l2.Size, l2.Digest); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p.fetchDone(l2)
	equalLines(t, "download", rec.lines(), []string{
		id(l2) + ": Downloading 400/1000",
		id(l2) + ": Downloading 1000/1000",
		id(l2) + ": Verifying Checksum",
		id(l2) + ": Download complete",
	})

	// Extraction reports the bytes the applier read.
	rec.msgs = nil
	p.extractStarted(l2)
	p.layer(l2.Digest).read.Add(250)
	p.tick(ctx)
	p.extractDone(l2)
	// l3 was downloaded but never extracted (its snapshot existed); l4
	// was never fetched (unpacked already).
	p.fetchStarted(l3, "layer-x")
	p.fetchDone(l3)
	rec.msgs = rec.msgs[:3]
	p.finish()
	equalLines(t, "extract and finish", rec.lines(), []string{
		id(l2) + ": Extracting 250/1000",
		id(l2) + ": Extracting 1000/1000",
		id(l2) + ": Pull complete",
		id(l3) + ": Pull complete",
		id(l4) + ": Already exists",
	})
	for _, m := range rec.msgs {
		if !m.Layer {
			t.Errorf("layer message without Layer: %+v", m)
		}
	}
}

func TestOutputStopsOnError(t *testing.T) {
	rec := &recorder{fail: errors.New("client gone")}
	cancelled := false
	o := &output{out: rec, cancel: func() { cancelled = true }}
	o.write(Progress{Status: "a"})
	o.write(Progress{Status: "b"})
	if !cancelled || o.failed() == nil {
		t.Errorf("a failed write must cancel the operation: cancelled=%v err=%v", cancelled, o.failed())
	}
}

func TestPushProgress(t *testing.T) {
	tracker := docker.NewInMemoryTracker()
	rec := &recorder{}
	p := newPushProgress(&output{out: rec}, tracker)
	a, b, c := blobDesc([]byte("a")), blobDesc([]byte(strings.Repeat("b", 100))), blobDesc([]byte("c"))
	id := func(d ocispec.Descriptor) string { return ShortID(d.Digest) }
	p.prepare([]ocispec.Descriptor{a, b, c})
	for _, d := range []ocispec.Descriptor{a, b, c} {
		p.started(d, "ref-"+d.Digest.String())
	}
	tracker.SetStatus("ref-"+a.Digest.String(), docker.Status{Committed: true, PushStatus: docker.PushStatus{Exists: true}})
	tracker.SetStatus("ref-"+c.Digest.String(), docker.Status{Committed: true, PushStatus: docker.PushStatus{MountedFrom: "127.0.0.1:5000/library/busybox"}})
	tracker.SetStatus("ref-"+b.Digest.String(), docker.Status{Status: content.Status{Offset: 40, Total: 100}})
	p.tick(context.Background())
	for _, d := range []ocispec.Descriptor{a, b, c} {
		p.done(d)
	}
	equalLines(t, "push", rec.lines(), []string{
		id(c) + ": Preparing",
		id(b) + ": Preparing",
		id(a) + ": Preparing",
		id(b) + ": Pushing 40/100",
		id(a) + ": Layer already exists",
		id(b) + ": Pushing 100/100",
		id(b) + ": Pushed",
		id(c) + ": Mounted from library/busybox",
	})
}

func TestPullRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, c := range []struct{ ref, tag, want string }{
		{"busybox", "", "busybox"},
		{"busybox", "1.36", "busybox:1.36"},
		{"busybox:old", "new", "busybox:new"},
		{"127.0.0.1:5000/x/y", "v1", "127.0.0.1:5000/x/y:v1"},
		{"127.0.0.1:5000/x/y:v0", "v1", "127.0.0.1:5000/x/y:v1"},
		{"busybox", d, "busybox@" + d},
		{"busybox@" + d, "", "busybox@" + d},
		{"localhost:5000/app", "", "localhost:5000/app"},
	} {
		if got := pullRef(c.ref, c.tag); got != c.want {
			t.Errorf("pullRef(%q, %q) = %q, want %q", c.ref, c.tag, got, c.want)
		}
	}
	for ref, want := range map[string]string{"busybox": "latest", "busybox:1": "1", "busybox@" + d: d} {
		n, err := reference.ParseNamed(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := tagOrDigest(n); got != want {
			t.Errorf("tagOrDigest(%s) = %s", ref, got)
		}
	}
	n, _ := reference.ParseNamed("127.0.0.1:5000/library/busybox")
	if dref.Path(n) != "library/busybox" {
		t.Errorf("path %s", dref.Path(n))
	}
}

func TestPullError(t *testing.T) {
	named, _ := reference.ParseNamed("busybox:nope")
	status := func(code int) error {
		return fmt.Errorf("resolve: %w", remoteerrors.ErrUnexpectedStatus{StatusCode: code, Status: http.StatusText(code)})
	}
	anon, alice := registry.Credentials{}, registry.Credentials{Username: "alice", Password: "pw"}
	for _, c := range []struct {
		err   error
		creds registry.Credentials
		class func(error) bool
		msg   string
	}{
		{fmt.Errorf("busybox:nope: %w", errdefs.ErrNotFound), anon, errdefs.IsNotFound, "manifest for busybox:nope not found"},
		{status(401), anon, errdefs.IsUnauthorized, "pull access denied for busybox, repository does not exist or may require 'docker login'"},
		{status(401), alice, errdefs.IsUnauthorized, "incorrect username or password"},
		{fmt.Errorf("x: %w", docker.ErrInvalidAuthorization), alice, errdefs.IsUnauthorized, "incorrect username or password"},
		{status(403), alice, errdefs.IsPermissionDenied, "denied"},
	} {
		err := pullError(c.err, named, c.creds)
		if !c.class(err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("pullError(%v) = %v", c.err, err)
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("password in %v", err)
		}
	}
	if err := pullError(context.Canceled, named, anon); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
}

func TestFirstError(t *testing.T) {
	cause := errors.New("short read")
	joined := errors.Join(errors.Join(cause, errors.New("aborted")), cause)
	if got := firstError(joined); got != cause {
		t.Errorf("got %v", got)
	}
	if got := firstError(cause); got != cause {
		t.Errorf("plain error: %v", got)
	}
}

func TestPushNames(t *testing.T) {
	for _, c := range []struct{ in, repo string }{
		{"busybox", "busybox"}, {"busybox:1", "busybox"}, {"127.0.0.1:5000/a/b:v", "127.0.0.1:5000/a/b"},
		{"127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b"}, {"a@sha256:" + strings.Repeat("1", 64), "a"},
	} {
		if got := repository(c.in); got != c.repo {
			t.Errorf("repository(%q) = %q", c.in, got)
		}
	}
	if hasTag("127.0.0.1:5000/a") || !hasTag("127.0.0.1:5000/a:v") || hasTag("a@sha256:1") {
		t.Error("hasTag")
	}
	if mountedRepo("127.0.0.1:5000/library/busybox") != "library/busybox" {
		t.Error("mountedRepo")
	}
}
