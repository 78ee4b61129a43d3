package distribution

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/integration/internal/registry"
	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// faultEnv pushes an image with one big (4 MiB, incompressible) layer
// behind a fault proxy and returns its reference, its OCI form and the big
// layer's digest.
func faultEnv(t *testing.T) (*env, *registry.FaultProxy, string, *testimage.OCI, digest.Digest) {
	t.Helper()
	e, reg, p := plainEnv(t)
	img := image(t, randomLayer(t, "big", 4<<20))
	o := reg.Push(t, img, "fault/app", "v1")
	ref := p.Ref("fault/app", "v1")
	e.rmiOnCleanup(t, ref)
	return e, p, ref, o, o.Manifest.Layers[len(o.Manifest.Layers)-1].Digest
}

// pullResult is what a pull run in the background ended with.
type pullResult struct {
	status int
	body   string
	err    error
}

// pullInBackground starts POST /images/create without a testing.TB (it
// runs on another goroutine); cancel ends it as a client disconnect would.
func pullInBackground(d *testenv.Daemon, ref string) (cancel func(), done <-chan pullResult) {
	ctx, cancelFn := context.WithTimeout(context.Background(), time.Minute)
	ch := make(chan pullResult, 1)
	name, tag := splitRef(ref)
	q := url.Values{"fromImage": {name}, "tag": {tag}}
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://pouch/images/create?"+q.Encode(), nil)
		resp, err := d.Client().Do(req)
		if err != nil {
			ch <- pullResult{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- pullResult{status: resp.StatusCode, body: string(b), err: err}
	}()
	return cancelFn, ch
}

func waitDone(t *testing.T, done <-chan pullResult, limit time.Duration) pullResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(limit):
		t.Fatalf("pull did not end within %s", limit)
	}
	return pullResult{}
}

// recovers clears the faults and checks the next pull completes and runs,
// and that busybox still runs.
func recovers(t *testing.T, e *env, p *registry.FaultProxy, ref string) {
	t.Helper()
	p.ClearFaults()
	e.mustPull(t, ref, pullOpts{})
	e.assertRuns(t, ref)
	e.assertBusyboxIntact(t)
	e.assertNoContainers(t)
}

// TestFaultClientDisconnect: the client goes away mid-blob; the daemon
// stops fetching, lists nothing, and the next pull completes.
func TestFaultClientDisconnect(t *testing.T) {
	e, p, ref, o, big := faultEnv(t)
	stall := p.Inject(registry.Fault{Match: registry.BlobGET(big), Times: 1, Stall: 30 * time.Second, StallAfter: 1 << 20})
	cancel, done := pullInBackground(e.d, ref)
	defer cancel()
	stall.WaitHit(t, 20*time.Second)
	cancel()
	waitDone(t, done, 10*time.Second)

	// The daemon must abandon the download: the stalled blob request ends
	// (the proxy records a request when it ends).
	if !waitFor(10*time.Second, func() bool { return blobGETs(p, big) > 0 }) {
		t.Errorf("pouchd kept the blob download open 10s after the client went away")
	}
	e.assertNotListed(t, ref, o.Config.String())
	time.Sleep(300 * time.Millisecond) // a pull going on in the background would finish now
	e.assertNotListed(t, ref, o.Config.String())
	recovers(t, e, p, ref)
}

// TestFaultRegistryCutsBlob: the registry drops the connection mid-blob
// every time; the pull fails clearly, lists nothing, and completes once
// the registry behaves.
func TestFaultRegistryCutsBlob(t *testing.T) {
	e, p, ref, o, big := faultEnv(t)
	p.Inject(registry.Fault{Match: registry.BlobGET(big), CutAfter: 256 << 10})
	start := time.Now()
	s := e.pull(t, ref, pullOpts{})
	if s.ok() {
		t.Fatal("pull succeeded although every fetch of a layer was cut")
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the failing pull took %s (%d fetches of the layer)", took, blobGETs(p, big))
	}
	readable(t, "cut blob", s.Err)
	e.assertNotListed(t, ref, o.Config.String())
	recovers(t, e, p, ref)
}

// TestFaultRegistryCutsOnce: one cut mid-blob; the pull either recovers by
// itself (resume or refetch) or fails clearly, and the next one completes.
func TestFaultRegistryCutsOnce(t *testing.T) {
	e, p, ref, o, big := faultEnv(t)
	p.Inject(registry.Fault{Match: registry.BlobGET(big), CutAfter: 1 << 20, Times: 1})
	s := e.pull(t, ref, pullOpts{})
	if !s.ok() {
		t.Logf("a single cut failed the pull (allowed): %s", s.Err)
		readable(t, "cut once", s.Err)
		e.assertNotListed(t, ref, o.Config.String())
	} else {
		if got := e.inspect(t, ref); got == nil || got.ID != o.Config.String() {
			t.Fatalf("recovered pull: %+v", got)
		}
		t.Logf("a single cut was recovered: %d GETs of the layer, %d bytes", blobGETs(p, big), p.BlobBytes()[big.String()])
	}
	recovers(t, e, p, ref)
}

// TestFaultCorruptBlob: a layer whose bytes do not match its digest is
// refused with an error saying so.
func TestFaultCorruptBlob(t *testing.T) {
	e, p, ref, o, big := faultEnv(t)
	p.Inject(registry.Fault{Match: registry.BlobGET(big), Corrupt: true, CorruptAt: 100})
	s := e.pull(t, ref, pullOpts{})
	if s.ok() {
		t.Fatal("pull of a corrupt layer succeeded")
	}
	if !strings.Contains(strings.ToLower(s.Err), "digest") {
		t.Errorf("error does not mention the digest mismatch: %s", s)
	}
	readable(t, "corrupt blob", s.Err)
	e.assertNotListed(t, ref, o.Config.String())
	recovers(t, e, p, ref)
}

// TestFaultRegistryErrors: the registry answers 500 for the manifest.
func TestFaultRegistryErrors(t *testing.T) {
	e, p, ref, o, _ := faultEnv(t)
	p.Inject(registry.Fault{Match: registry.KindIs(registry.KindManifest), Status: http.StatusInternalServerError})
	s := e.pull(t, ref, pullOpts{})
	if s.ok() {
		t.Fatal("pull succeeded although the registry answers 500")
	}
	readable(t, "registry 500", s.Err)
	e.assertNotListed(t, ref, o.Config.String())
	recovers(t, e, p, ref)
}

// TestFaultDaemonKilled: pouchd is killed (SIGKILL) mid-blob; after a
// restart nothing partial is listed, existing images run, and the pull
// completes.
func TestFaultDaemonKilled(t *testing.T) {
	e, p, ref, o, big := faultEnv(t)
	stall := p.Inject(registry.Fault{Match: registry.BlobGET(big), Times: 1, Stall: 30 * time.Second, StallAfter: 1 << 20})
	cancel, done := pullInBackground(e.d, ref)
	defer cancel()
	stall.WaitHit(t, 20*time.Second)
	e.d.Kill()
	if r := waitDone(t, done, 10*time.Second); r.err == nil && strings.Contains(r.body, "Status: Downloaded") {
		t.Fatalf("pull finished although pouchd was killed: %+v", r)
	}
	if err := e.d.Start(); err != nil {
		t.Fatalf("restart after kill -9: %v", err)
	}
	e.assertNotListed(t, ref, o.Config.String())
	if e.inspect(t, "busybox:latest") == nil {
		t.Fatal("busybox:latest gone after kill -9 mid-pull")
	}
	recovers(t, e, p, ref)
}

// TestFaultDiskFull: pouchd's home fills up mid-pull; the error says so,
// nothing is listed, busybox still runs, and once there is room the pull
// completes.
func TestFaultDiskFull(t *testing.T) {
	reg := registry.Start(t)
	p := registry.NewFaultProxy(t, reg)
	var home string
	e := startDaemonWith(t, func(d *testenv.Daemon) {
		home = d.Home
		if err := os.MkdirAll(home, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", home, "tmpfs", 0, "size=24m,mode=0700"); err != nil {
			t.Skipf("cannot mount a small tmpfs: %v", err)
		}
	}, "--insecure-registries", p.Host)
	img := image(t, randomLayer(t, "huge", 40<<20))
	o := reg.Push(t, img, "full/app", "v1")
	ref := p.Ref("full/app", "v1")
	e.rmiOnCleanup(t, ref)

	s := e.pull(t, ref, pullOpts{})
	if s.ok() {
		t.Fatal("a 40 MiB pull into a 24 MiB filesystem succeeded")
	}
	if !strings.Contains(s.Err, "no space left on device") {
		t.Errorf("error does not say the disk is full: %s", s)
	}
	readable(t, "disk full", s.Err)
	e.assertNotListed(t, ref, o.Config.String())

	if err := unix.Mount("tmpfs", home, "tmpfs", unix.MS_REMOUNT, "size=160m,mode=0700"); err != nil {
		t.Fatalf("grow the tmpfs: %v", err)
	}
	recovers(t, e, p, ref)
}
