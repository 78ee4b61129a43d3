package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// entry is one file read back from a tar.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// readTar returns the entries of a tar by name, and the names in order.
func readTar(t *testing.T, b []byte) (map[string]entry, []string) {
	t.Helper()
	entries := map[string]entry{}
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries, names
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar entry %s: %v", hdr.Name, err)
		}
		if _, dup := entries[hdr.Name]; dup {
			t.Errorf("tar entry %s appears twice", hdr.Name)
		}
		entries[hdr.Name] = entry{hdr, data}
		names = append(names, hdr.Name)
	}
}

func busybox(t *testing.T, opts ...Option) *Image {
	t.Helper()
	img, err := Busybox(opts...)
	if errors.Is(err, ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
}

func TestLayerTar(t *testing.T) {
	b, err := LayerTar(
		RegularFile("/b/c/file", 0o600, []byte("x")),
		Symlink("a/link", "../b/c/file"),
		Dir("/tmp", 0o777|fs.ModeSticky),
		Whiteout("/b/gone"),
		OpaqueWhiteout("/a/opaque"),
	)
	if err != nil {
		t.Fatal(err)
	}
	entries, names := readTar(t, b)
	want := []string{"a/", "a/link", "a/opaque/", "a/opaque/.wh..wh..opq", "b/", "b/.wh.gone", "b/c/", "b/c/file", "tmp/"}
	if !slices.Equal(names, want) {
		t.Errorf("entries = %q, want %q", names, want)
	}
	for name, e := range entries {
		if !e.hdr.ModTime.Equal(Epoch) {
			t.Errorf("%s: mtime %v, want %v", name, e.hdr.ModTime, Epoch)
		}
	}
	if m := entries["tmp/"].hdr.Mode; m != 0o1777 {
		t.Errorf("tmp mode = %o, want 1777", m)
	}
	if e := entries["b/c/file"]; e.hdr.Mode != 0o600 || string(e.data) != "x" {
		t.Errorf("file = mode %o %q", e.hdr.Mode, e.data)
	}
	if e := entries["a/link"]; e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "../b/c/file" {
		t.Errorf("link = %+v", e.hdr)
	}

	for _, bad := range [][]File{
		{RegularFile("../escape", 0o644, nil)},
		{RegularFile("/", 0o644, nil)},
		{Dir("/x", 0o755), RegularFile("x/", 0o644, nil)},
		{{Path: "dev/null", Mode: fs.ModeDevice}},
	} {
		if _, err := LayerTar(bad...); err == nil {
			t.Errorf("LayerTar(%+v) succeeded, want an error", bad)
		}
	}
}

func TestBusyboxContent(t *testing.T) {
	img := busybox(t)
	if img.Name != "busybox:latest" || len(img.Layers) != 2 {
		t.Fatalf("got %s with %d layers, want busybox:latest with 2", img.Name, len(img.Layers))
	}
	l1, _ := readTar(t, img.Layers[0])
	bin, err := os.ReadFile(DefaultBusybox)
	if err != nil {
		t.Fatal(err)
	}
	if e := l1["bin/busybox"]; !bytes.Equal(e.data, bin) || e.hdr.Mode != 0o755 {
		t.Errorf("bin/busybox: mode %o, %d bytes, want 0755 and the host binary", e.hdr.Mode, len(e.data))
	}
	for _, applet := range []string{"sh", "ls", "cat", "id", "env", "sleep", "wget"} {
		if e, ok := l1["bin/"+applet]; !ok || e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "busybox" {
			t.Errorf("bin/%s is not a symlink to busybox: %+v", applet, e.hdr)
		}
	}
	for dir, mode := range map[string]int64{"etc/": 0o755, "tmp/": 0o1777, "root/": 0o700, "home/": 0o755,
		"proc/": 0o555, "sys/": 0o555, "dev/": 0o755, "var/": 0o755, "usr/": 0o755, "usr/bin/": 0o755} {
		if e, ok := l1[dir]; !ok || e.hdr.Typeflag != tar.TypeDir || e.hdr.Mode != mode {
			t.Errorf("%s: want a directory with mode %o, got %+v", dir, mode, e.hdr)
		}
	}
	if e := l1["home/pouch/"]; e.hdr == nil || e.hdr.Uid != 1000 || e.hdr.Gid != 1000 {
		t.Errorf("home/pouch not owned by 1000:1000: %+v", e.hdr)
	}
	passwd := string(l1["etc/passwd"].data)
	for _, line := range []string{"root:x:0:0:", "nobody:x:65534:65534:", "pouch:x:1000:1000:pouch:/home/pouch:"} {
		if !strings.Contains(passwd, "\n"+line) && !strings.HasPrefix(passwd, line) {
			t.Errorf("/etc/passwd lacks %q:\n%s", line, passwd)
		}
	}
	if group := string(l1["etc/group"].data); !strings.Contains(group, "pouch:x:1000:") {
		t.Errorf("/etc/group lacks pouch:\n%s", group)
	}
	if _, ok := l1["etc/removed-by-layer2"]; !ok {
		t.Error("layer 1 lacks etc/removed-by-layer2")
	}

	l2, names := readTar(t, img.Layers[1])
	if got := string(l2["etc/layer2"].data); got != "layer2\n" {
		t.Errorf("etc/layer2 = %q", got)
	}
	if _, ok := l2["etc/.wh.removed-by-layer2"]; !ok {
		t.Errorf("layer 2 lacks the whiteout, has %q", names)
	}

	c := img.Config
	if c.Architecture != runtime.GOARCH || c.OS != "linux" {
		t.Errorf("platform = %s/%s", c.OS, c.Architecture)
	}
	if !slices.Equal(c.Config.Env, []string{DefaultPath}) || !slices.Equal(c.Config.Cmd, []string{"sh"}) {
		t.Errorf("Env %q, Cmd %q", c.Config.Env, c.Config.Cmd)
	}
	if len(c.History) != 2 || c.History[0].CreatedBy == "" || c.History[1].CreatedBy == "" {
		t.Errorf("history = %+v, want 2 described entries", c.History)
	}
	if !slices.Equal(c.RootFS.DiffIDs, img.DiffIDs()) {
		t.Errorf("config diff_ids %v, layers %v", c.RootFS.DiffIDs, img.DiffIDs())
	}
}

func TestDeterministic(t *testing.T) {
	a, b := busybox(t), busybox(t)
	ida, _ := a.ID()
	idb, _ := b.ID()
	if ida != idb {
		t.Errorf("image IDs differ: %s, %s", ida, idb)
	}
	oa, err := a.OCI()
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := b.OCI()
	if oa.Descriptor.Digest != ob.Descriptor.Digest {
		t.Errorf("manifest digests differ: %s, %s", oa.Descriptor.Digest, ob.Descriptor.Digest)
	}
	for _, format := range []Format{FormatDocker, FormatOCI} {
		var wa, wb bytes.Buffer
		if err := Write(&wa, format, a); err != nil {
			t.Fatal(err)
		}
		if err := Write(&wb, format, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wa.Bytes(), wb.Bytes()) {
			t.Errorf("%s archives differ", format)
		}
	}
}

func TestDockerArchive(t *testing.T) {
	img := busybox(t)
	tagged := busybox(t, WithName("docker.io/library/busybox:v1"))
	other, err := New(WithName("127.0.0.1:5000/test/other"), WithLayer("one file", RegularFile("/hello", 0o644, []byte("hi\n"))))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteDockerArchive(&buf, img, tagged, other); err != nil {
		t.Fatal(err)
	}
	files, _ := readTar(t, buf.Bytes())

	var manifests []DockerManifest
	mustJSON(t, files["manifest.json"].data, &manifests)
	if len(manifests) != 2 {
		t.Fatalf("manifest.json has %d entries, want 2 (same image merged): %+v", len(manifests), manifests)
	}
	if want := []string{"busybox:latest", "busybox:v1"}; !slices.Equal(manifests[0].RepoTags, want) {
		t.Errorf("RepoTags = %q, want %q", manifests[0].RepoTags, want)
	}
	if want := []string{"127.0.0.1:5000/test/other:latest"}; !slices.Equal(manifests[1].RepoTags, want) {
		t.Errorf("RepoTags = %q, want %q", manifests[1].RepoTags, want)
	}
	for i, m := range manifests {
		cfgFile, ok := files[m.Config]
		if !ok {
			t.Fatalf("manifest %d: config %s missing", i, m.Config)
		}
		id := digest.FromBytes(cfgFile.data)
		if m.Config != id.Encoded()+".json" {
			t.Errorf("config %s has digest %s", m.Config, id)
		}
		if want, _ := []*Image{img, other}[i].ID(); id != want {
			t.Errorf("image %d: archive ID %s, ID() %s", i, id, want)
		}
		var cfg ocispec.Image
		mustJSON(t, cfgFile.data, &cfg)
		if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
			t.Fatalf("config has %d diff_ids for %d layers", len(cfg.RootFS.DiffIDs), len(m.Layers))
		}
		for j, l := range m.Layers {
			layer, ok := files[l]
			if !ok {
				t.Fatalf("layer %s missing", l)
			}
			if got := digest.FromBytes(layer.data); got != cfg.RootFS.DiffIDs[j] {
				t.Errorf("layer %s: digest %s, diff_id %s", l, got, cfg.RootFS.DiffIDs[j])
			}
		}
	}
	layer2, _ := readTar(t, files[manifests[0].Layers[1]].data)
	if _, ok := layer2["etc/.wh.removed-by-layer2"]; !ok {
		t.Error("layer 2 in the archive lacks the whiteout")
	}

	var repos map[string]map[string]string
	mustJSON(t, files["repositories"].data, &repos)
	if top := manifests[0].Layers[1]; repos["busybox"]["latest"]+"/layer.tar" != top || repos["busybox"]["v1"]+"/layer.tar" != top {
		t.Errorf("repositories = %v, want busybox latest and v1 → %s", repos, top)
	}
	if _, ok := repos["127.0.0.1:5000/test/other"]["latest"]; !ok {
		t.Errorf("repositories lacks the other image: %v", repos)
	}
}

func TestOCILayout(t *testing.T) {
	img := busybox(t)
	want, err := img.OCI()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteOCILayout(&buf, img); err != nil {
		t.Fatal(err)
	}
	files, _ := readTar(t, buf.Bytes())
	blob := func(d digest.Digest) []byte {
		t.Helper()
		e, ok := files["blobs/sha256/"+d.Encoded()]
		if !ok {
			t.Fatalf("blob %s missing", d)
		}
		if got := digest.FromBytes(e.data); got != d {
			t.Fatalf("blob %s has digest %s", d, got)
		}
		return e.data
	}

	var layout ocispec.ImageLayout
	mustJSON(t, files["oci-layout"].data, &layout)
	if layout.Version != ocispec.ImageLayoutVersion {
		t.Errorf("oci-layout = %+v", layout)
	}
	var index ocispec.Index
	mustJSON(t, files["index.json"].data, &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests", len(index.Manifests))
	}
	desc := index.Manifests[0]
	if desc.Digest != want.Descriptor.Digest || desc.MediaType != ocispec.MediaTypeImageManifest {
		t.Errorf("index manifest %s %s, want %s", desc.MediaType, desc.Digest, want.Descriptor.Digest)
	}
	if a := desc.Annotations; a[AnnotationRefName] != "latest" || a[AnnotationImageName] != "docker.io/library/busybox:latest" {
		t.Errorf("annotations = %v", a)
	}

	var m ocispec.Manifest
	mustJSON(t, blob(desc.Digest), &m)
	var cfg ocispec.Image
	mustJSON(t, blob(m.Config.Digest), &cfg)
	if id, _ := img.ID(); m.Config.Digest != id || m.Config.MediaType != ocispec.MediaTypeImageConfig {
		t.Errorf("config %s %s, want ID %s", m.Config.MediaType, m.Config.Digest, id)
	}
	if len(m.Layers) != 2 || len(cfg.RootFS.DiffIDs) != 2 {
		t.Fatalf("%d layers, %d diff_ids", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		if l.MediaType != ocispec.MediaTypeImageLayerGzip || l.Size != int64(len(blob(l.Digest))) {
			t.Errorf("layer %d: %+v", i, l)
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob(l.Digest)))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if got := digest.FromBytes(raw); got != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: uncompressed digest %s, diff_id %s", i, got, cfg.RootFS.DiffIDs[i])
		}
		if i == 1 {
			entries, _ := readTar(t, raw)
			if _, ok := entries["etc/.wh.removed-by-layer2"]; !ok {
				t.Error("layer 2 lacks the whiteout")
			}
		}
	}
}

func TestOptions(t *testing.T) {
	img, err := New(
		WithName("example.com/app"),
		WithLayer("add app", RegularFile("/app/run", 0o755, []byte("#!/bin/sh\n"))),
		WithEnv("PATH=/app", "A=1"),
		WithEnv("A=2"),
		WithEntrypoint("/app/run"),
		WithCmd("--flag"),
		WithWorkingDir("/app"),
		WithUser("1000:1000"),
		WithLabels(map[string]string{"k": "v"}),
		WithExposedPorts("80/tcp"),
		WithVolumes("/data"),
		WithConfig(func(c *ocispec.ImageConfig) { c.StopSignal = "SIGINT" }),
	)
	if err != nil {
		t.Fatal(err)
	}
	c := img.Config.Config
	if !slices.Equal(c.Env, []string{"PATH=/app", "A=2"}) || !slices.Equal(c.Entrypoint, []string{"/app/run"}) ||
		!slices.Equal(c.Cmd, []string{"--flag"}) || c.WorkingDir != "/app" || c.User != "1000:1000" ||
		c.Labels["k"] != "v" || len(c.ExposedPorts) != 1 || len(c.Volumes) != 1 || c.StopSignal != "SIGINT" {
		t.Errorf("config = %+v", c)
	}
	if len(img.Layers) != 1 || len(img.Config.History) != 1 || img.Config.History[0].CreatedBy != "add app" {
		t.Errorf("%d layers, history %+v", len(img.Layers), img.Config.History)
	}
	if ref, _ := img.Ref(); ref != "example.com/app:latest" {
		t.Errorf("Ref() = %s", ref)
	}

	for _, opt := range []Option{WithEnv("NOEQUALS"), WithName(""), WithName("a@sha256:00"), WithRandomLayers(1, 0, 1)} {
		if _, err := New(opt); err == nil {
			t.Error("New succeeded with an invalid option")
		}
	}
}

func TestRandomLayers(t *testing.T) {
	const size = 1 << 20
	a, err := New(WithRandomLayers(2, size, 7))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(WithRandomLayers(2, size, 7))
	c, _ := New(WithRandomLayers(2, size, 8))
	ida, _ := a.ID()
	idb, _ := b.ID()
	idc, _ := c.ID()
	if ida != idb || ida == idc {
		t.Errorf("seed 7: %s, %s; seed 8: %s", ida, idb, idc)
	}
	if a.DiffIDs()[0] == a.DiffIDs()[1] {
		t.Error("the two random layers are identical")
	}
	for i, layer := range a.Layers {
		entries, _ := readTar(t, layer)
		var total int64
		for _, e := range entries {
			total += int64(len(e.data))
		}
		if total != size || len(entries) < 10 {
			t.Errorf("layer %d: %d bytes in %d entries, want %d bytes in many files", i, total, len(entries), size)
		}
	}
}

func TestBig(t *testing.T) {
	img, err := Big(2, 256<<10)
	if errors.Is(err, ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if img.Name != "busybox-big:latest" || len(img.Layers) != 4 || len(img.Config.History) != 4 {
		t.Errorf("%s: %d layers, %d history entries", img.Name, len(img.Layers), len(img.Config.History))
	}
}

func TestNames(t *testing.T) {
	for name, want := range map[string][3]string{
		"busybox":                        {"docker.io/library/busybox:latest", "latest", "busybox"},
		"busybox:1.36":                   {"docker.io/library/busybox:1.36", "1.36", "busybox"},
		"docker.io/library/busybox:v1":   {"docker.io/library/busybox:v1", "v1", "busybox"},
		"user/app:v2":                    {"docker.io/user/app:v2", "v2", "user/app"},
		"localhost/app":                  {"localhost/app:latest", "latest", "localhost/app"},
		"127.0.0.1:5000/test/busybox:v3": {"127.0.0.1:5000/test/busybox:v3", "v3", "127.0.0.1:5000/test/busybox"},
	} {
		img := &Image{Name: name}
		ref, err := img.Ref()
		if err != nil {
			t.Fatal(err)
		}
		tag, _ := img.Tag()
		repo, _, _ := splitName(name)
		if got := [3]string{ref, tag, familiar(repo)}; got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

func TestNoBusybox(t *testing.T) {
	dynamic, err := filepath.EvalSymlinks("/bin/ls")
	if err != nil {
		t.Skip(err)
	}
	for _, path := range []string{filepath.Join(t.TempDir(), "missing"), dynamic, "/etc/passwd"} {
		_, err := Busybox(WithBusybox(path))
		if !errors.Is(err, ErrNoBusybox) {
			t.Errorf("Busybox(%s): err = %v, want ErrNoBusybox", path, err)
		}
	}
}
