package distribution

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/integration/internal/registry"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// uploads sums the request body bytes sent to blob uploads (PATCH, PUT
// and POST to /blobs/uploads/) and counts the uploads finished (PUT).
func uploads(p *registry.FaultProxy) (bytes int64, finished int) {
	for _, r := range p.Records() {
		if r.Kind == registry.KindUpload {
			bytes += r.ReqBytes
			if r.Method == http.MethodPut && r.Status == http.StatusCreated {
				finished++
			}
		}
	}
	return bytes, finished
}

// registryManifest decodes the manifest the registry holds for repo:ref.
func registryManifest(t *testing.T, reg *registry.Registry, repo, ref string) (ocispec.Manifest, digest.Digest) {
	t.Helper()
	_, body, d := reg.Manifest(t, repo, ref)
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m, d
}

// TestPush pushes the busybox test image and a generated multi-layer
// image, pushes again (nothing uploaded), pushes to another repository of
// the same registry (layers mounted, not uploaded) and pulls the copy
// back.
func TestPush(t *testing.T) {
	e, reg, p := plainEnv(t)

	t.Run("busybox", func(t *testing.T) {
		ref := p.Ref("push/busybox", "v1")
		e.tag(t, "busybox:latest", ref)
		e.rmiOnCleanup(t, ref)
		r := e.d.Pouch(t, nil, "push", ref)
		if r.ExitCode != 0 {
			t.Fatalf("pouch push: %+v", r)
		}
		m, d := registryManifest(t, reg, "push/busybox", "v1")
		if m.Config.Digest.String() != e.inspect(t, "busybox:latest").ID {
			t.Errorf("pushed config %s is not busybox's ID", m.Config.Digest)
		}
		if len(m.Layers) != 2 {
			t.Errorf("pushed %d layers, want 2", len(m.Layers))
		}
		if !strings.Contains(r.Stdout, "v1: digest: "+d.String()) {
			t.Errorf("pouch push output lacks \"v1: digest: %s\": %q", d, r.Stdout)
		}
	})

	big, err := testimage.Big(3, 512<<10, testimage.WithName("big:v1"))
	if err != nil {
		t.Skip(err)
	}
	ref := p.Ref("push/big", "v1")
	e.load(t, big)
	e.tag(t, "big:v1", ref)
	e.rmiOnCleanup(t, "big:v1", ref)
	var total int64

	t.Run("multi-layer", func(t *testing.T) {
		p.Reset()
		s := e.push(t, ref, "")
		if !s.ok() {
			t.Fatalf("push %s: %s", ref, s)
		}
		m, d := registryManifest(t, reg, "push/big", "v1")
		if len(m.Layers) != len(big.Layers) {
			t.Fatalf("pushed %d layers, want %d", len(m.Layers), len(big.Layers))
		}
		for _, l := range m.Layers {
			if !reg.HasBlob(t, "push/big", l.Digest) {
				t.Errorf("layer %s not in the registry", l.Digest)
			}
			st := s.statuses(shortID(l.Digest))
			if !containsAny(st, "Pushed", "Layer already exists", "Mounted from") {
				t.Errorf("layer %s: progress %q", shortID(l.Digest), st)
			}
			// Layers shared with the busybox repository pushed before are
			// mounted across repositories, not uploaded.
			if !containsAny(st, "Mounted from", "Layer already exists") {
				total += l.Size
			}
		}
		if !s.has("v1: digest: " + d.String()) {
			t.Errorf("no final digest line:\n%s", s.Body)
		}
		if total == 0 {
			t.Errorf("no layer of the big image was uploaded:\n%s", s.Body)
		}
		if sent, _ := uploads(p); sent < total {
			t.Errorf("uploaded %d bytes for %d bytes of layers", sent, total)
		}
	})

	t.Run("re-push uploads nothing", func(t *testing.T) {
		p.Reset()
		s := e.push(t, ref, "")
		if !s.ok() {
			t.Fatalf("re-push: %s", s)
		}
		if sent, n := uploads(p); n != 0 || sent != 0 {
			t.Errorf("re-push uploaded %d blobs, %d bytes", n, sent)
		}
		if p.Count(registry.KindIs(registry.KindBlob, http.MethodHead)) == 0 {
			t.Errorf("re-push did not check blobs with HEAD: %+v", p.Records())
		}
		if !s.has("Layer already exists") {
			t.Errorf("re-push does not say \"Layer already exists\":\n%s", s.Body)
		}
	})

	t.Run("other repository mounts", func(t *testing.T) {
		copyRef := p.Ref("push/copy", "v1")
		e.tag(t, ref, copyRef)
		e.rmiOnCleanup(t, copyRef)
		p.Reset()
		s := e.push(t, copyRef, "")
		if !s.ok() {
			t.Fatalf("push %s: %s", copyRef, s)
		}
		if sent, _ := uploads(p); sent >= total/2 {
			t.Errorf("pushing the same layers to another repository of the registry uploaded %d bytes (layers: %d): no cross-repository mount", sent, total)
		}
	})

	t.Run("pull back", func(t *testing.T) {
		copyRef := p.Ref("push/copy", "v1")
		id := e.inspect(t, ref).ID
		e.rmi(t, copyRef, ref, "big:v1")
		if e.inspect(t, copyRef) != nil {
			t.Fatal("image still there")
		}
		e.mustPull(t, copyRef, pullOpts{})
		got := e.inspect(t, copyRef)
		if got == nil || got.ID != id {
			t.Fatalf("pulled back %+v, want ID %s", got, id)
		}
		r := e.run(t, copyRef, "sh", "-c", "cat /etc/layer2; ls /data | wc -l")
		if r.ExitCode != 0 || r.Stdout != "layer2\n3\n" {
			t.Errorf("run the pulled-back image: %+v", r)
		}
	})
}

// TestPushErrors: pushing an image that is not there, or to a registry
// that is down, fails clearly.
func TestPushErrors(t *testing.T) {
	reg := registry.Start(t)
	e := startDaemon(t, "--insecure-registries", reg.Host)
	s := e.push(t, reg.Ref("nope/none", "v1"), "")
	if s.Status != http.StatusNotFound {
		t.Errorf("push of a missing image: %s, want 404", s)
	}
	ref := reg.Ref("down/busybox", "v1")
	e.tag(t, "busybox:latest", ref)
	e.rmiOnCleanup(t, ref)
	reg.Stop()
	s = e.push(t, ref, "")
	if s.ok() {
		t.Fatal("push to a dead registry succeeded")
	}
	if !strings.Contains(s.Err, reg.Host) {
		t.Errorf("push error does not name %s: %s", reg.Host, s)
	}
	readable(t, "push to a dead registry", s.Err)
}

func containsAny(list []string, prefixes ...string) bool {
	for _, s := range list {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
	}
	return false
}
