package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// newTestService opens a real store in a temporary directory (the overlay
// snapshotter needs root) with busybox:latest loaded.
func newTestService(t testing.TB) (*Service, *testimage.Image) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("the image store's overlay snapshotter needs root")
	}
	img, err := testimage.Busybox()
	if errors.Is(err, testimage.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = log.SetLevel("error") // the content store warns about fsverity on every open
	ctx := imagestore.WithNamespace(context.Background())
	store, err := imagestore.Open(ctx, t.TempDir())
	if err != nil {
		t.Skip("cannot open an image store here:", err)
	}
	t.Cleanup(func() { store.Close() })
	s := New(store, nil)
	var buf bytes.Buffer
	if err := testimage.WriteDockerArchive(&buf, img); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	return s, img
}

// pausingImages blocks List, once armed, between reading the records and
// returning them, so a test can change records meanwhile.
type pausingImages struct {
	images.Store
	armed   chan struct{} // closed to arm
	read    chan struct{} // closed once an armed List has read
	release chan struct{}
}

func (p *pausingImages) List(ctx context.Context, filters ...string) ([]images.Image, error) {
	recs, err := p.Store.List(ctx, filters...)
	select {
	case <-p.armed:
		close(p.read)
		<-p.release
	default:
	}
	return recs, err
}

// A List that read the records before a change must not cache what it read.
func TestListCacheNotStaleAfterConcurrentChange(t *testing.T) {
	s, _ := newTestService(t)
	ctx := imagestore.WithNamespace(context.Background())
	p := &pausingImages{Store: s.store.Images, armed: make(chan struct{}), read: make(chan struct{}), release: make(chan struct{})}
	s.store.Images = p
	s.invalidate()

	close(p.armed)
	done := make(chan error, 1)
	go func() { _, err := s.List(ctx); done <- err }()
	<-p.read
	// The paused List holds the records before the tag; stop pausing and
	// change them.
	p.armed = make(chan struct{})
	if err := s.Tag(ctx, "busybox", "busybox:new"); err != nil {
		t.Fatal(err)
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(ctx, "busybox:new")
	if err != nil {
		t.Fatalf("new tag not found after a concurrent list: %v", err)
	}
	if len(img.Names) != 2 {
		t.Errorf("names %q, want two", img.Names)
	}
}

func TestGetAndRemove(t *testing.T) {
	s, img := newTestService(t)
	ctx := imagestore.WithNamespace(context.Background())
	id, _ := img.ID()
	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", id.String(), id.Encoded(), id.Encoded()[:12]} {
		got, err := s.Get(ctx, ref)
		if err != nil || got.ID != id {
			t.Errorf("Get(%q) = %v, %v", ref, got, err)
		}
	}
	for ref, class := range map[string]func(error) bool{
		"":                errdefs.IsInvalidArgument,
		"Bad:Name":        errdefs.IsInvalidArgument,
		"nosuch":          errdefs.IsNotFound,
		"abcdef123456":    errdefs.IsNotFound,
		"busybox:nosuch":  errdefs.IsNotFound,
		"quay.io/busybox": errdefs.IsNotFound,
	} {
		if _, err := s.Get(ctx, ref); !class(err) {
			t.Errorf("Get(%q) error %v of the wrong class", ref, err)
		}
	}
	if err := s.Tag(ctx, "busybox", "other:v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, id.String(), RemoveOptions{}); !errdefs.IsConflict(err) {
		t.Errorf("remove by ID with two names: %v, want conflict", err)
	}
	res, err := s.Remove(ctx, "other:v1", RemoveOptions{})
	if err != nil || len(res.Deleted) != 0 || len(res.Untagged) != 1 {
		t.Fatalf("untag: %+v %v", res, err)
	}
	res, err = s.Remove(ctx, "busybox", RemoveOptions{})
	if err != nil || len(res.Deleted) != 1 {
		t.Fatalf("remove: %+v %v", res, err)
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Errorf("images left: %+v", list)
	}
}

// BenchmarkDisplayName is the per-container cost of `ps`: it resolves
// each container's image name through the cached view.
func BenchmarkDisplayName(b *testing.B) {
	s, img := newTestService(b)
	ctx := imagestore.WithNamespace(context.Background())
	id, _ := img.ID()
	for i := 0; i < 50; i++ {
		if err := s.Tag(ctx, "busybox", fmt.Sprintf("example.com/app%d:v%d", i, i)); err != nil {
			b.Fatal(err)
		}
	}
	refs := []string{"busybox", "example.com/app7:v7", id.String()}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ref := refs[i%len(refs)]
		if got := s.DisplayName(ctx, ref, id.String()); got != ref {
			b.Fatalf("DisplayName(%s) = %s", ref, got)
		}
	}
}
