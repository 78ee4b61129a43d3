package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/internal/testimage"
)

func busybox(t *testing.T, opts ...testimage.Option) *testimage.Image {
	t.Helper()
	img, err := testimage.Busybox(opts...)
	if errors.Is(err, testimage.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// getBlob reads a blob through c and checks its digest.
func getBlob(t *testing.T, c *http.Client, base, repo string, d digest.Digest) ([]byte, error) {
	t.Helper()
	resp, err := c.Get(base + "/v2/" + repo + "/blobs/" + d.String())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return b, err
	}
	if resp.StatusCode != 200 {
		return b, errors.New(resp.Status)
	}
	return b, nil
}

func TestRegistryKinds(t *testing.T) {
	img := busybox(t)
	certs := t.TempDir()
	cases := []struct {
		name string
		opts []Option
	}{
		{"plain", nil},
		{"tls", []Option{WithTLS(certs)}},
		{"tls-client-auth", []Option{WithTLS(certs), WithClientAuth()}},
		{"basic", []Option{WithBasicAuth("alice", "s3cret")}},
		{"tls-basic", []Option{WithTLS(""), WithBasicAuth("alice", "s3cret")}},
		{"token", []Option{WithTokenAuth("bob", "t0ken")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Start(t, c.opts...)
			if r.CertsDir != "" {
				if _, err := os.Stat(filepath.Join(r.CertsDir, r.Host, "ca.crt")); err != nil {
					t.Fatalf("CA not in certs.d layout: %v", err)
				}
			}
			// Without credentials (or without a client certificate) the
			// registry refuses.
			if r.User != "" {
				resp, err := r.plainClient().Get(r.URL + "/v2/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("GET /v2/ without credentials: %d", resp.StatusCode)
				}
			}
			o := r.Push(t, img, "test/busybox", "latest")
			mt, body, d := r.Manifest(t, "test/busybox", "latest")
			if mt != ocispec.MediaTypeImageManifest || d != o.Descriptor.Digest || !bytes.Equal(body, o.Blobs[d]) {
				t.Fatalf("manifest: %s %s, want %s", mt, d, o.Descriptor.Digest)
			}
			for _, l := range o.Manifest.Layers {
				if !r.HasBlob(t, "test/busybox", l.Digest) {
					t.Fatalf("layer %s missing", l.Digest)
				}
			}
			if r.HasBlob(t, "test/busybox", digest.FromString("nope")) {
				t.Fatal("registry has a blob never pushed")
			}
			if r.Token != nil && r.Token.Granted() == 0 {
				t.Fatal("no token was issued")
			}
		})
	}
}

func TestTokenServerRefusesWrongPassword(t *testing.T) {
	r := Start(t, WithTokenAuth("bob", "t0ken"))
	resp, err := r.plainClient().Get(r.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != 401 || scheme != "Bearer" || params["realm"] != r.Token.Realm || params["service"] != r.Token.Service {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest("GET", r.Token.Realm+"?service="+r.Token.Service, nil)
	req.SetBasicAuth("bob", "wrong")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("token with a wrong password: %d", resp.StatusCode)
	}
}

func TestPushArchiveAndIndex(t *testing.T) {
	r := Start(t)
	img := busybox(t)
	d := r.PushArchive(t, img, "skopeo/busybox", "v1")
	mt, _, got := r.Manifest(t, "skopeo/busybox", "v1")
	if got != d || mt != "application/vnd.docker.distribution.manifest.v2+json" {
		t.Fatalf("skopeo push: %s %s, digest file %s", mt, got, d)
	}

	arm := busybox(t, testimage.WithLayer("arch", testimage.RegularFile("/etc/arch", 0o644, []byte("arm64\n"))))
	arm.Config.Platform = ocispec.Platform{OS: "linux", Architecture: "arm64"}
	idx, parts := r.PushIndex(t, "multi/busybox", "latest", img, arm)
	mt, body, got := r.Manifest(t, "multi/busybox", "latest")
	if mt != ocispec.MediaTypeImageIndex || got != idx {
		t.Fatalf("index: %s %s, want %s", mt, got, idx)
	}
	var index ocispec.Index
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 2 || index.Manifests[1].Platform.Architecture != "arm64" || index.Manifests[1].Digest != parts[1].Descriptor.Digest {
		t.Fatalf("index manifests: %+v", index.Manifests)
	}
}

func TestFaultProxy(t *testing.T) {
	r := Start(t)
	p := NewFaultProxy(t, r)
	img := busybox(t)
	o := r.Push(t, img, "f/busybox", "latest")
	layer := o.Manifest.Layers[0].Digest
	want := o.Blobs[layer]
	c := &http.Client{Timeout: 10 * time.Second}

	if b, err := getBlob(t, c, p.URL, "f/busybox", layer); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("plain proxied GET: %v", err)
	}

	cut := p.Inject(Fault{Match: BlobGET(layer), Times: 1, CutAfter: 1000})
	b, err := getBlob(t, c, p.URL, "f/busybox", layer)
	if err == nil || len(b) != 1000 {
		t.Fatalf("cut: got %d bytes, err %v", len(b), err)
	}
	if cut.Hits() != 1 {
		t.Fatalf("cut hits %d", cut.Hits())
	}
	if b, err := getBlob(t, c, p.URL, "f/busybox", layer); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("after a one-time cut: %v", err)
	}

	// Offsets are blob offsets: a ranged request past the cut is cut at
	// once, one before it gets the bytes up to the cut.
	p.Inject(Fault{Match: BlobGET(layer), Times: 2, CutAfter: 1000})
	for _, rc := range []struct {
		from int
		want int
	}{{2000, 0}, {400, 600}} {
		req, _ := http.NewRequest("GET", p.URL+"/v2/f/busybox/blobs/"+layer.String(), nil)
		req.Header.Set("Range", "bytes="+strconv.Itoa(rc.from)+"-")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || err == nil || len(b) != rc.want || !bytes.Equal(b, want[rc.from:rc.from+rc.want]) {
			t.Fatalf("ranged cut from %d: %d, %d bytes, err %v; want %d bytes and a cut", rc.from, resp.StatusCode, len(b), err, rc.want)
		}
	}

	p.Inject(Fault{Match: BlobGET(layer), Times: 1, Corrupt: true, CorruptAt: 10})
	b, err = getBlob(t, c, p.URL, "f/busybox", layer)
	if err != nil || len(b) != len(want) || digest.FromBytes(b) == layer || b[10] != want[10]^0xff {
		t.Fatalf("corrupt: %v", err)
	}

	p.Inject(Fault{Match: KindIs(KindManifest), Times: 1, Status: 500})
	resp, err := c.Get(p.URL + "/v2/f/busybox/manifests/latest")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("status fault: %d", resp.StatusCode)
	}

	stall := p.Inject(Fault{Match: BlobGET(layer), Times: 1, Stall: 300 * time.Millisecond, StallAfter: 100})
	start := time.Now()
	if b, err := getBlob(t, c, p.URL, "f/busybox", layer); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("stall: %v", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("stall did not stall")
	}
	stall.WaitHit(t, time.Second)

	blobs := p.BlobBytes()
	if blobs[layer.String()] < int64(3*len(want)+1000) {
		t.Fatalf("blob byte counter: %v", blobs)
	}
	p.Reset()
	if n := len(p.Records()); n != 0 {
		t.Fatalf("records after reset: %d", n)
	}

	// Uploads through the proxy work (Location names the proxy).
	via := &Registry{URL: p.URL, Host: p.Host}
	if _, err := via.PushImage(busybox(t, testimage.WithLayer("x", testimage.RegularFile("/x", 0o644, []byte("x")))), "f/other", "v1"); err != nil {
		t.Fatal(err)
	}
	if p.Count(KindIs(KindUpload, http.MethodPut)) == 0 || p.Count(KindIs(KindBlob, http.MethodHead)) == 0 {
		t.Fatalf("upload not seen by proxy: %+v", p.Records())
	}
	for _, rec := range p.Records() {
		if rec.Kind == KindUpload && strings.Contains(rec.Path, r.Host) {
			t.Fatalf("upload bypassed the proxy: %+v", rec)
		}
	}
}
