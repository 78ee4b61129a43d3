package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/internal/testimage"
	"github.com/pouchcontainer/pouch/pkg/registry"
)

// fakeRegistry is a small in-memory registry (plain HTTP) serving the
// distribution API's pull and monolithic push paths, counting requests.
type fakeRegistry struct {
	mu        sync.Mutex
	blobs     map[digest.Digest][]byte
	manifests map[string][]byte // repo:tag or repo@digest
	types     map[digest.Digest]string
	requests  []string // "METHOD kind", kind being manifest or blob
	corrupt   bool     // flip a byte in every layer served
	slow      chan struct{}
	srv       *httptest.Server
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	r := &fakeRegistry{blobs: map[digest.Digest][]byte{}, manifests: map[string][]byte{}, types: map[digest.Digest]string{}}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *fakeRegistry) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func (r *fakeRegistry) add(repo, tag string, img *testimage.OCI) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for d, b := range img.Blobs {
		r.blobs[d] = b
	}
	m := img.Blobs[img.Descriptor.Digest]
	r.manifests[repo+":"+tag] = m
	r.manifests[repo+"@"+img.Descriptor.Digest.String()] = m
	r.types[img.Descriptor.Digest] = img.Descriptor.MediaType
}

func (r *fakeRegistry) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if strings.HasPrefix(q, prefix) {
			n++
		}
	}
	return n
}

func (r *fakeRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p := strings.TrimPrefix(req.URL.Path, "/v2/")
	if req.URL.Path == "/v2/" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case strings.Contains(p, "/manifests/"):
		r.requests = append(r.requests, req.Method+" manifest")
		repo, ref, _ := strings.Cut(p, "/manifests/")
		key := repo + ":" + ref
		if strings.HasPrefix(ref, "sha256:") {
			key = repo + "@" + ref
		}
		if req.Method == http.MethodPut {
			b, _ := io.ReadAll(req.Body)
			d := digest.FromBytes(b)
			r.manifests[key], r.manifests[repo+"@"+d.String()] = b, b
			r.types[d] = req.Header.Get("Content-Type")
			w.WriteHeader(http.StatusCreated)
			return
		}
		m, ok := r.manifests[key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		d := digest.FromBytes(m)
		w.Header().Set("Content-Type", r.types[d])
		w.Header().Set("Docker-Content-Digest", d.String())
		w.Header().Set("Content-Length", strconv.Itoa(len(m)))
		if req.Method == http.MethodGet {
			_, _ = w.Write(m)
		}
	case strings.Contains(p, "/blobs/uploads/"):
		r.requests = append(r.requests, req.Method+" upload")
		if req.Method == http.MethodPost {
			w.Header().Set("Location", "/v2/"+strings.SplitN(p, "/blobs/", 2)[0]+"/blobs/uploads/1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		b, _ := io.ReadAll(req.Body)
		r.blobs[digest.Digest(req.URL.Query().Get("digest"))] = b
		w.WriteHeader(http.StatusCreated)
	case strings.Contains(p, "/blobs/"):
		r.requests = append(r.requests, req.Method+" blob")
		_, d, _ := strings.Cut(p, "/blobs/")
		b, ok := r.blobs[digest.Digest(d)]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if req.Method != http.MethodGet {
			return
		}
		if r.corrupt && len(b) > 2000 {
			b = append([]byte{}, b...)
			b[len(b)/2] ^= 0xff
		}
		if slow := r.slow; slow != nil && len(b) > 2000 {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			r.mu.Unlock()
			<-slow
			r.mu.Lock()
			return
		}
		_, _ = w.Write(b)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// newEmptyService opens an empty store whose registries reach reg.
func newEmptyService(t *testing.T, reg *fakeRegistry) *Service {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("the image store's overlay snapshotter needs root")
	}
	_ = log.SetLevel("error")
	ctx := imagestore.WithNamespace(context.Background())
	store, err := imagestore.Open(ctx, t.TempDir())
	if err != nil {
		t.Skip("cannot open an image store here:", err)
	}
	t.Cleanup(func() { store.Close() })
	s := New(store, NewCollector(store, 10*time.Millisecond))
	t.Cleanup(s.gc.Wait)
	r, err := registry.New(registry.Config{Insecure: []string{reg.host()}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetRegistries(r)
	return s
}

func busyboxOCI(t *testing.T) *testimage.OCI {
	t.Helper()
	img, err := testimage.Busybox()
	if errors.Is(err, testimage.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	o, err := img.OCI()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func has(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// TestPullAndPush pulls from an in-memory registry, re-pulls (only the
// manifest is asked for), fails cleanly on a corrupt layer and on a
// cancelled pull, and pushes back (nothing uploaded the second time).
func TestPullAndPush(t *testing.T) {
	reg := newFakeRegistry(t)
	img := busyboxOCI(t)
	reg.add("library/busybox", "latest", img)
	s := newEmptyService(t, reg)
	ctx := imagestore.WithNamespace(context.Background())
	ref := reg.host() + "/library/busybox"

	t.Run("unknown tag is a plain not-found error", func(t *testing.T) {
		rec := &recorder{}
		err := s.Pull(ctx, PullOptions{Ref: ref, Tag: "nope"}, rec)
		if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), ref+":nope") || len(rec.msgs) != 0 {
			t.Errorf("err %v, %d messages", err, len(rec.msgs))
		}
	})

	t.Run("corrupt layer", func(t *testing.T) {
		reg.corrupt = true
		defer func() { reg.corrupt = false }()
		rec := &recorder{}
		err := s.Pull(ctx, PullOptions{Ref: ref}, rec)
		if err == nil || !strings.Contains(err.Error(), "verification failed") {
			t.Fatalf("corrupt layer: %v", err)
		}
		if imgs, _ := s.List(ctx); len(imgs) != 0 {
			t.Errorf("a failed pull lists %d images", len(imgs))
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		reg.mu.Lock()
		reg.slow = make(chan struct{})
		reg.mu.Unlock()
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			time.Sleep(300 * time.Millisecond)
			cancel()
		}()
		err := s.Pull(cctx, PullOptions{Ref: ref}, &recorder{})
		reg.mu.Lock()
		close(reg.slow)
		reg.slow = nil
		reg.mu.Unlock()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled pull: %v", err)
		}
		if imgs, _ := s.List(ctx); len(imgs) != 0 {
			t.Errorf("a cancelled pull lists %d images", len(imgs))
		}
	})

	t.Run("pull", func(t *testing.T) {
		rec := &recorder{}
		if err := s.Pull(ctx, PullOptions{Ref: ref}, rec); err != nil {
			t.Fatal(err)
		}
		lines := rec.lines()
		for _, want := range []string{"latest: Pulling from library/busybox", "Download complete", "Pull complete", "Digest: " + img.Descriptor.Digest.String(), "Status: Downloaded newer image for " + ref + ":latest"} {
			if !has(lines, want) {
				t.Errorf("no %q in:\n%s", want, strings.Join(lines, "\n"))
			}
		}
		got, err := s.Get(ctx, ref)
		if err != nil || got.ID != img.Config {
			t.Fatalf("pulled image: %+v %v", got, err)
		}
		if _, err := s.store.Snapshotter.Stat(ctx, got.ChainID().String()); err != nil {
			t.Errorf("not unpacked: %v", err)
		}
	})

	t.Run("re-pull asks only for the manifest", func(t *testing.T) {
		blobs := reg.count("GET blob")
		rec := &recorder{}
		if err := s.Pull(ctx, PullOptions{Ref: ref}, rec); err != nil {
			t.Fatal(err)
		}
		if n := reg.count("GET blob") - blobs; n != 0 {
			t.Errorf("re-pull fetched %d blobs", n)
		}
		if !has(rec.lines(), "Status: Image is up to date") {
			t.Errorf("re-pull:\n%s", strings.Join(rec.lines(), "\n"))
		}
	})

	t.Run("push", func(t *testing.T) {
		if err := s.Tag(ctx, ref, reg.host()+"/team/copy:v1"); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		if err := s.Push(ctx, PushOptions{Name: reg.host() + "/team/copy", Tag: "v1"}, rec); err != nil {
			t.Fatal(err)
		}
		if !has(rec.lines(), "v1: digest: "+img.Descriptor.Digest.String()) {
			t.Errorf("push:\n%s", strings.Join(rec.lines(), "\n"))
		}
		reg.mu.Lock()
		_, ok := reg.manifests["team/copy:v1"]
		reg.mu.Unlock()
		if !ok {
			t.Fatal("manifest not pushed")
		}
		uploads := reg.count("PUT upload")
		rec = &recorder{}
		if err := s.Push(ctx, PushOptions{Name: reg.host() + "/team/copy:v1"}, rec); err != nil {
			t.Fatal(err)
		}
		if n := reg.count("PUT upload") - uploads; n != 0 {
			t.Errorf("re-push uploaded %d blobs", n)
		}
		if !has(rec.lines(), "Layer already exists") {
			t.Errorf("re-push:\n%s", strings.Join(rec.lines(), "\n"))
		}
		err := s.Push(ctx, PushOptions{Name: reg.host() + "/team/none", Tag: "v1"}, &recorder{})
		if !errdefs.IsNotFound(err) {
			t.Errorf("push of a missing image: %v", err)
		}
	})
}

// TestPullPlatformIndex pulls one platform of an index; a platform the
// index lacks is a plain not-found error.
func TestPullPlatformIndex(t *testing.T) {
	reg := newFakeRegistry(t)
	img := busyboxOCI(t)
	reg.add("library/busybox", "single", img)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{img.Descriptor}}
	idx.SchemaVersion = 2
	b, _ := json.Marshal(idx)
	reg.mu.Lock()
	d := digest.FromBytes(b)
	reg.manifests["library/busybox:multi"], reg.manifests["library/busybox@"+d.String()] = b, b
	reg.types[d] = ocispec.MediaTypeImageIndex
	reg.mu.Unlock()
	s := newEmptyService(t, reg)
	ctx := imagestore.WithNamespace(context.Background())
	ref := reg.host() + "/library/busybox"

	other := &ocispec.Platform{OS: "linux", Architecture: "s390x"}
	if img.Descriptor.Platform.Architecture == "s390x" {
		other.Architecture = "riscv64"
	}
	rec := &recorder{}
	err := s.Pull(ctx, PullOptions{Ref: ref, Tag: "multi", Platform: other}, rec)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "no matching manifest for linux/"+other.Architecture) || len(rec.msgs) != 0 {
		t.Errorf("missing platform: %v (%d messages)", err, len(rec.msgs))
	}
	if err := s.Pull(ctx, PullOptions{Ref: ref + ":multi"}, &recorder{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, ref+":multi")
	if err != nil || got.ID != img.Config || got.Target.Digest != d {
		t.Errorf("index pull: %+v %v", got, err)
	}
	if !bytes.Contains([]byte(strings.Join(got.Digests, " ")), []byte(d.String())) {
		t.Errorf("digests %q lack the index", got.Digests)
	}
}
