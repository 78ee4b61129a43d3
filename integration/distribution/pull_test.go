package distribution

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/integration/internal/registry"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// plainEnv is a plain-HTTP registry behind a fault proxy, and a pouchd
// that names the proxy in --insecure-registries.
func plainEnv(t *testing.T, args ...string) (*env, *registry.Registry, *registry.FaultProxy) {
	t.Helper()
	reg := registry.Start(t)
	p := registry.NewFaultProxy(t, reg)
	e := startDaemon(t, append([]string{"--insecure-registries", p.Host}, args...)...)
	return e, reg, p
}

// TestPullPlainHTTP pulls by tag from an insecure registry: Docker's
// progress messages, the listed names and digests, the image runs; then a
// re-pull and a pull by digest fetch only the manifest.
func TestPullPlainHTTP(t *testing.T) {
	e, reg, p := plainEnv(t)
	img := image(t, randomLayer(t, "big", 2<<20))
	o := reg.Push(t, img, "lib/app", "v1")
	ref := p.Ref("lib/app", "v1")
	e.rmiOnCleanup(t, ref)

	// Stall the big layer half way so progress has time to be reported.
	big := o.Manifest.Layers[len(o.Manifest.Layers)-1]
	stall := p.Inject(registry.Fault{Match: registry.BlobGET(big.Digest), Times: 1, Stall: 600 * time.Millisecond, StallAfter: big.Size / 2})
	s := e.mustPull(t, ref, pullOpts{})
	if stall.Hits() != 1 {
		t.Errorf("the big layer was fetched %d times through the stall", stall.Hits())
	}

	t.Run("progress", func(t *testing.T) {
		for _, l := range o.Manifest.Layers {
			st := s.statuses(shortID(l.Digest))
			if l.Digest != big.Digest && slices.Equal(st, []string{"Already exists"}) {
				continue // busybox's layers may be known from the loaded image
			}
			for _, want := range []string{"Pulling fs layer", "Download complete", "Pull complete"} {
				if !slices.Contains(st, want) {
					t.Errorf("layer %s: no %q in %q", shortID(l.Digest), want, st)
				}
			}
		}
		var sawProgress bool
		for _, m := range s.Messages {
			if m.ID == shortID(big.Digest) && m.Status == "Downloading" {
				if m.ProgressDetail.Total != big.Size || m.ProgressDetail.Current <= 0 || m.ProgressDetail.Current > big.Size {
					t.Errorf("Downloading progress detail %+v, total should be %d", m.ProgressDetail, big.Size)
				}
				sawProgress = true
			}
		}
		if !sawProgress {
			t.Errorf("no Downloading message for the big layer during a 600ms stall: %q", s.statuses(shortID(big.Digest)))
		}
		if !s.has("Digest: " + o.Descriptor.Digest.String()) {
			t.Errorf("no Digest line for %s:\n%s", o.Descriptor.Digest, s.Body)
		}
		if !s.has("Status: Downloaded newer image for " + ref) {
			t.Errorf("no final status line:\n%s", s.Body)
		}
	})

	t.Run("listed", func(t *testing.T) {
		got := e.inspect(t, ref)
		if got == nil {
			t.Fatal("pulled image not found")
		}
		if got.ID != configDigest(t, img) {
			t.Errorf("ID %s, want the config digest %s", got.ID, configDigest(t, img))
		}
		if !slices.Equal(got.RepoTags, []string{ref}) {
			t.Errorf("RepoTags %q, want [%s]", got.RepoTags, ref)
		}
		wantDigest := p.Host + "/lib/app@" + o.Descriptor.Digest.String()
		if !slices.Equal(got.RepoDigests, []string{wantDigest}) {
			t.Errorf("RepoDigests %q, want [%s]", got.RepoDigests, wantDigest)
		}
		if len(got.RootFS.Layers) != len(img.Layers) {
			t.Errorf("RootFS layers %d, want %d", len(got.RootFS.Layers), len(img.Layers))
		}
	})

	t.Run("runs", func(t *testing.T) {
		e.assertRuns(t, ref)
		r := e.run(t, ref, "cat", "/marker")
		if r.ExitCode != 0 || len(strings.TrimSpace(r.Stdout)) != 32 {
			t.Errorf("marker layer missing: %+v", r)
		}
	})

	t.Run("re-pull fetches only the manifest", func(t *testing.T) {
		p.Reset()
		s := e.mustPull(t, ref, pullOpts{})
		if n := p.Count(registry.KindIs(registry.KindBlob)); n != 0 {
			t.Errorf("re-pull made %d blob requests: %+v", n, p.Records())
		}
		if p.Count(registry.KindIs(registry.KindManifest)) == 0 {
			t.Errorf("re-pull did not ask for the manifest: %+v", p.Records())
		}
		if !s.has("Status: Image is up to date for " + ref) {
			t.Errorf("re-pull status:\n%s", s.Body)
		}
	})

	t.Run("by digest", func(t *testing.T) {
		p.Reset()
		byDigest := p.Ref("lib/app", o.Descriptor.Digest.String())
		e.rmiOnCleanup(t, byDigest)
		s := e.mustPull(t, byDigest, pullOpts{})
		if n := p.Count(registry.KindIs(registry.KindBlob)); n != 0 {
			t.Errorf("pull by digest of a present image made %d blob requests", n)
		}
		got := e.inspect(t, byDigest)
		if got == nil || got.ID != configDigest(t, img) {
			t.Fatalf("inspect %s: %+v", byDigest, got)
		}
		if !s.has("Digest: " + o.Descriptor.Digest.String()) {
			t.Errorf("pull by digest: no Digest line:\n%s", s.Body)
		}
	})

	t.Run("fromImage with the tag", func(t *testing.T) {
		// dockerode and others send fromImage=name:tag and no tag.
		s := e.call(t, nil, "POST", "/images/create?"+url.Values{"fromImage": {ref}}.Encode(), "")
		if !s.ok() || !s.has("Status: Image is up to date for "+ref) {
			t.Errorf("pull with fromImage=%s: %s", ref, s)
		}
	})

	t.Run("pouch pull -q", func(t *testing.T) {
		r := e.d.Pouch(t, nil, "pull", "-q", ref)
		if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != ref {
			t.Errorf("pouch pull -q: %+v", r)
		}
	})

	t.Run("remove", func(t *testing.T) {
		e.rmi(t, ref)
		if e.inspect(t, ref) != nil {
			t.Fatal("image still there after rmi")
		}
		e.assertBusyboxIntact(t)
	})
}

// TestPullDigestFreshAndSchema2 pulls by digest an image never pulled
// before, pushed by skopeo as a Docker schema 2 manifest.
func TestPullDigestFreshAndSchema2(t *testing.T) {
	e, reg, p := plainEnv(t)
	img := image(t)
	d := reg.PushArchive(t, img, "skopeo/app", "v1")
	ref := p.Ref("skopeo/app", d.String())
	e.rmiOnCleanup(t, ref)
	s := e.pull(t, ref, pullOpts{})
	if !s.ok() {
		t.Fatalf("pull %s: %s", ref, s)
	}
	got := e.inspect(t, ref)
	if got == nil || got.ID != configDigest(t, img) {
		t.Fatalf("inspect by digest: %+v, want ID %s", got, configDigest(t, img))
	}
	if !slices.Contains(got.RepoDigests, p.Host+"/skopeo/app@"+d.String()) {
		t.Errorf("RepoDigests %q lack %s", got.RepoDigests, d)
	}
	if len(got.RepoTags) != 0 {
		t.Errorf("a pull by digest named tags: %q", got.RepoTags)
	}
	e.assertRuns(t, ref)
	e.rmi(t, ref)
}

// TestPullTLS pulls over HTTPS with the CA from --certs-dir, with and
// without a client certificate; a CA the daemon does not know is refused.
func TestPullTLS(t *testing.T) {
	certs := t.TempDir()
	reg := registry.Start(t, registry.WithTLS(certs))
	mtls := registry.Start(t, registry.WithTLS(certs), registry.WithClientAuth())
	unknown := registry.Start(t, registry.WithTLS("")) // its CA is elsewhere
	e := startDaemon(t, "--certs-dir", certs)
	img := image(t)
	for _, r := range []*registry.Registry{reg, mtls, unknown} {
		r.Push(t, img, "tls/app", "v1")
	}

	t.Run("server CA", func(t *testing.T) {
		ref := reg.Ref("tls/app", "v1")
		e.rmiOnCleanup(t, ref)
		e.mustPull(t, ref, pullOpts{})
		e.assertRuns(t, ref)
	})
	t.Run("client certificate", func(t *testing.T) {
		ref := mtls.Ref("tls/app", "v1")
		e.rmiOnCleanup(t, ref)
		e.mustPull(t, ref, pullOpts{})
	})
	t.Run("unknown CA refused", func(t *testing.T) {
		ref := unknown.Ref("tls/app", "v1")
		e.rmiOnCleanup(t, ref)
		s := e.pull(t, ref, pullOpts{})
		if s.ok() {
			t.Fatal("pull from a registry with an untrusted certificate succeeded")
		}
		low := strings.ToLower(s.Err)
		if !strings.Contains(low, "certificate") && !strings.Contains(low, "x509") && !strings.Contains(low, "tls") {
			t.Errorf("error does not say the certificate is the problem: %s", s)
		}
		readable(t, "untrusted CA", s.Err)
		e.assertNotListed(t, ref, "")
	})
}

// TestIncrementalPull pulls an image sharing its lower layers with one
// already present: only the new layer and config are fetched.
func TestIncrementalPull(t *testing.T) {
	e, reg, p := plainEnv(t)
	base := image(t, randomLayer(t, "shared", 1<<20))
	top := &testimage.Image{Name: "top", Layers: append([][]byte(nil), base.Layers...), Config: base.Config}
	top.Config.History = append([]ocispec.History(nil), base.Config.History...)
	extra, err := testimage.LayerTar(testimage.RegularFile("/etc/top", 0o644, []byte("top\n")))
	if err != nil {
		t.Fatal(err)
	}
	top.Layers = append(top.Layers, extra)
	top.Config.History = append(top.Config.History, ocispec.History{CreatedBy: "top"})

	ob := reg.Push(t, base, "inc/base", "v1")
	ot := reg.Push(t, top, "inc/top", "v1")
	e.rmiOnCleanup(t, p.Ref("inc/base", "v1"), p.Ref("inc/top", "v1"))
	e.mustPull(t, p.Ref("inc/base", "v1"), pullOpts{})

	p.Reset()
	s := e.mustPull(t, p.Ref("inc/top", "v1"), pullOpts{})
	for _, l := range ob.Manifest.Layers {
		if n := blobGETs(p, l.Digest); n != 0 {
			t.Errorf("shared layer %s fetched %d times again", l.Digest, n)
		}
		if st := s.statuses(shortID(l.Digest)); len(st) > 0 && !slices.Contains(st, "Already exists") {
			t.Errorf("shared layer %s: progress %q, want \"Already exists\"", shortID(l.Digest), st)
		}
	}
	newLayer := ot.Manifest.Layers[len(ot.Manifest.Layers)-1].Digest
	if n := blobGETs(p, newLayer); n != 1 {
		t.Errorf("new layer fetched %d times, want 1", n)
	}
	if n := blobGETs(p, ot.Config); n > 1 {
		t.Errorf("config fetched %d times", n)
	}
	r := e.run(t, p.Ref("inc/top", "v1"), "cat", "/etc/top", "/etc/layer2")
	if r.ExitCode != 0 || r.Stdout != "top\nlayer2\n" {
		t.Errorf("run the incremental image: %+v", r)
	}
	e.rmi(t, p.Ref("inc/base", "v1"))
	// The shared layers stay for the image that still uses them.
	if r := e.run(t, p.Ref("inc/top", "v1"), "test", "-f", "/data/shared"); r.ExitCode != 0 {
		t.Errorf("shared layer lost after removing the other image: %+v", r)
	}
}

// TestPullMultiPlatform pulls an OCI index: the host's manifest by
// default, the arm64 one with platform=linux/arm64; the other platform's
// layers are never fetched.
func TestPullMultiPlatform(t *testing.T) {
	e, reg, p := plainEnv(t)
	amd := image(t)
	amd.Config.Platform = ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := image(t, testimage.WithLayer("arch", testimage.RegularFile("/etc/arch", 0o644, []byte("arm64\n"))))
	arm.Config.Platform = ocispec.Platform{OS: "linux", Architecture: "arm64"}
	idx, parts := reg.PushIndex(t, "multi/app", "a", amd, arm)
	if err := reg.PutManifest("multi/app", "b", ocispec.MediaTypeImageIndex, mustManifest(t, reg, "multi/app", "a")); err != nil {
		t.Fatal(err)
	}
	refA, refB := p.Ref("multi/app", "a"), p.Ref("multi/app", "b")
	e.rmiOnCleanup(t, refA, refB)
	armOnly := parts[1].Manifest.Layers[len(parts[1].Manifest.Layers)-1].Digest

	e.mustPull(t, refA, pullOpts{})
	got := e.inspect(t, refA)
	if got == nil || got.Architecture != "amd64" || got.ID != configDigest(t, amd) {
		t.Fatalf("default platform: %+v, want amd64 with ID %s", got, configDigest(t, amd))
	}
	if !slices.Contains(got.RepoDigests, p.Host+"/multi/app@"+idx.String()) {
		t.Errorf("RepoDigests %q lack the index digest %s", got.RepoDigests, idx)
	}
	if n := blobGETs(p, armOnly) + blobGETs(p, parts[1].Config); n != 0 {
		t.Errorf("the arm64 image's blobs were fetched %d times for an amd64 pull", n)
	}
	e.assertRuns(t, refA)

	p.Reset()
	e.mustPull(t, refB, pullOpts{platform: "linux/arm64"})
	got = e.inspect(t, refB)
	if got == nil || got.Architecture != "arm64" || got.ID != configDigest(t, arm) {
		t.Errorf("platform linux/arm64: %+v, want arm64 with ID %s", got, configDigest(t, arm))
	}
	if blobGETs(p, armOnly) != 1 {
		t.Errorf("the arm64 layer was fetched %d times", blobGETs(p, armOnly))
	}

	t.Run("pouch pull --platform", func(t *testing.T) {
		refC := p.Ref("multi/app", "c")
		if err := reg.PutManifest("multi/app", "c", ocispec.MediaTypeImageIndex, mustManifest(t, reg, "multi/app", "a")); err != nil {
			t.Fatal(err)
		}
		e.rmiOnCleanup(t, refC)
		r := e.d.Pouch(t, nil, "pull", "--platform", "linux/arm64", refC)
		if r.ExitCode != 0 {
			t.Fatalf("pouch pull --platform: %+v", r)
		}
		if got := e.inspect(t, refC); got == nil || got.Architecture != "arm64" {
			t.Errorf("pouch pull --platform linux/arm64 gave %+v", got)
		}
	})
}

func mustManifest(t *testing.T, reg *registry.Registry, repo, ref string) []byte {
	t.Helper()
	_, body, _ := reg.Manifest(t, repo, ref)
	return body
}

// TestPullNotFound: an unknown repository, tag or digest is a 404 naming
// the reference, through the API and the CLI; the registry is made
// insecure by a CIDR.
func TestPullNotFound(t *testing.T) {
	reg := registry.Start(t)
	p := registry.NewFaultProxy(t, reg)
	e := startDaemon(t, "--insecure-registries", "127.0.0.0/8") // a CIDR names the registry too
	img := image(t)
	reg.Push(t, img, "nf/app", "v1")
	missingDigest := "sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct{ name, ref, mention string }{
		{"repository", p.Ref("nf/nothing", "v1"), "nf/nothing"},
		{"tag", p.Ref("nf/app", "v2"), "nf/app:v2"},
		{"digest", p.Ref("nf/app", missingDigest), missingDigest},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := e.pull(t, c.ref, pullOpts{})
			if s.Status != http.StatusNotFound {
				t.Errorf("pull %s: %s, want 404", c.ref, s)
			}
			if !strings.Contains(s.Err, c.mention) {
				t.Errorf("pull %s: message %q does not name %s", c.ref, s.Err, c.mention)
			}
			readable(t, "not found", s.Err)
			e.assertNotListed(t, c.ref, "")
		})
	}
	t.Run("present", func(t *testing.T) {
		ref := p.Ref("nf/app", "v1")
		e.rmiOnCleanup(t, ref)
		e.mustPull(t, ref, pullOpts{})
	})
	t.Run("cli", func(t *testing.T) {
		ref := p.Ref("nf/app", "v3")
		r := e.d.Pouch(t, nil, "pull", ref)
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "nf/app:v3") {
			t.Errorf("pouch pull of a missing tag: %+v", r)
		}
	})
}

// TestPullRegistryDown: a registry that does not answer gives an error
// naming its host, and nothing is listed.
func TestPullRegistryDown(t *testing.T) {
	reg := registry.Start(t)
	e := startDaemon(t, "--insecure-registries", reg.Host)
	img := image(t)
	reg.Push(t, img, "down/app", "v1")
	reg.Stop()
	ref := reg.Ref("down/app", "v1")
	start := time.Now()
	s := e.pull(t, ref, pullOpts{}) // bounded by a minute
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("pull from a dead registry took %s", took)
	}
	if s.ok() {
		t.Fatal("pull from a dead registry succeeded")
	}
	if !strings.Contains(s.Err, reg.Host) {
		t.Errorf("error does not name the registry %s: %s", reg.Host, s)
	}
	readable(t, "registry down", s.Err)
	e.assertNotListed(t, ref, configDigest(t, img))
	e.assertBusyboxIntact(t)
}

// TestPullConcurrent: pulls of the same image at the same time all
// succeed, and so do pulls of images sharing layers.
func TestPullConcurrent(t *testing.T) {
	e, reg, p := plainEnv(t)
	img := image(t, randomLayer(t, "big", 2<<20))
	o := reg.Push(t, img, "conc/app", "v1")
	reg.Push(t, img, "conc/other", "v1")
	refs := []string{p.Ref("conc/app", "v1"), p.Ref("conc/app", "v1"), p.Ref("conc/app", "v1"), p.Ref("conc/other", "v1")}
	e.rmiOnCleanup(t, refs[0], refs[3])
	// Hold the big layer a little so the pulls overlap.
	big := o.Manifest.Layers[len(o.Manifest.Layers)-1].Digest
	p.Inject(registry.Fault{Match: registry.BlobGET(big), Times: 1, Stall: 300 * time.Millisecond, StallAfter: 1 << 20})
	results := make(chan pullResult, len(refs))
	for _, ref := range refs {
		cancel, done := pullInBackground(e.d, ref)
		defer cancel()
		go func() { results <- <-done }()
	}
	for range refs {
		var r pullResult
		select {
		case r = <-results:
		case <-time.After(time.Minute):
			t.Fatal("concurrent pulls did not end within a minute")
		}
		s := parseStream(r.status, []byte(r.body))
		if r.err != nil || !s.ok() {
			t.Errorf("a concurrent pull failed: %v %s", r.err, s)
		}
	}
	t.Logf("the big layer was fetched %d times by %d concurrent pulls", blobGETs(p, big), len(refs))
	for _, ref := range []string{refs[0], refs[3]} {
		if got := e.inspect(t, ref); got == nil || got.ID != o.Config.String() {
			t.Errorf("%s after concurrent pulls: %+v", ref, got)
		}
	}
	e.assertRuns(t, refs[3])
}
