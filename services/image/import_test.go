package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	imagestore "github.com/pouchcontainer/pouch/image"
)

func TestCopyLayer(t *testing.T) {
	layer := layerTar(t, map[string]string{"a": "1"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(layer)
	_ = zw.Close()
	for _, tc := range []struct {
		name    string
		in      []byte
		invalid bool
	}{
		{"plain", layer, false},
		{"gzip", gz.Bytes(), false},
		{"padded", append(slices.Clone(layer), make([]byte, 8192)...), false},
		{"empty", nil, true},
		{"garbage", []byte(strings.Repeat("not a tar archive ", 100)), true},
		{"truncated", layerTar(t, map[string]string{"big": strings.Repeat("x", 4000)})[:2000], true},
	} {
		var out bytes.Buffer
		err := copyLayer(&out, bytes.NewReader(tc.in))
		if tc.invalid {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%s: %v, want invalid argument", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !bytes.HasPrefix(out.Bytes(), layer[:1024]) {
			t.Errorf("%s: the layer is not the decompressed tar", tc.name)
		}
	}
}

func TestImport(t *testing.T) {
	s, _ := newTestService(t)
	ctx := imagestore.WithNamespace(context.Background())
	id, err := s.Import(ctx, bytes.NewReader(layerTar(t, map[string]string{"bin/hello": "hi"})), ImportOptions{
		Ref: "docker.io/library/imported:latest", Message: "Imported from -",
		Changes: []string{`CMD ["/bin/hello"]`, "ENV A=1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(ctx, "imported")
	if err != nil || img.ID != id {
		t.Fatalf("imported image: %v %v", img, err)
	}
	if len(img.Manifest.Layers) != 1 || !slices.Equal(img.Config.Config.Cmd, []string{"/bin/hello"}) || !slices.Equal(img.Config.Config.Env, []string{"A=1"}) {
		t.Errorf("image %+v", img.Config)
	}
	if img.Config.History[0].Comment != "Imported from -" || img.Config.OS != "linux" {
		t.Errorf("history/platform %+v", img.Config)
	}
	if _, err := s.store.Snapshotter.Stat(ctx, img.ChainID().String()); err != nil {
		t.Errorf("not unpacked: %v", err)
	}
	before, _ := s.List(ctx)
	for _, bad := range [][]byte{nil, []byte("garbage that is no tar at all, not even close........")} {
		if _, err := s.Import(ctx, bytes.NewReader(bad), ImportOptions{Ref: "docker.io/library/bad:latest"}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("bad archive: %v", err)
		}
	}
	if _, err := s.Import(ctx, bytes.NewReader(layerTar(t, nil)), ImportOptions{Changes: []string{"RUN x"}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad change: %v", err)
	}
	after, _ := s.List(ctx)
	if len(after) != len(before) {
		t.Errorf("a failed import left an image")
	}
	if _, err := s.Get(ctx, "bad"); !errdefs.IsNotFound(err) {
		t.Errorf("bad:latest exists: %v", err)
	}
}
