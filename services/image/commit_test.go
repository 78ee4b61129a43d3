package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	imagestore "github.com/pouchcontainer/pouch/image"
)

func TestApplyChanges(t *testing.T) {
	base := &ctypes.Config{
		Env:        []string{"PATH=/bin", "HOME=/root"},
		Cmd:        []string{"sh"},
		WorkingDir: "/srv",
		Labels:     map[string]string{"keep": "1"},
	}
	for _, tc := range []struct {
		name    string
		changes []string
		check   func(*ctypes.Config) bool
		invalid bool
	}{
		{"cmd json", []string{`CMD ["cat", "/file"]`}, func(c *ctypes.Config) bool { return slices.Equal(c.Cmd, []string{"cat", "/file"}) }, false},
		{"cmd shell", []string{`CMD echo hi $HOME`}, func(c *ctypes.Config) bool {
			return slices.Equal(c.Cmd, []string{"/bin/sh", "-c", "echo hi $HOME"})
		}, false},
		{"entrypoint drops cmd", []string{`ENTRYPOINT ["/bin/cat"]`}, func(c *ctypes.Config) bool {
			return slices.Equal(c.Entrypoint, []string{"/bin/cat"}) && c.Cmd == nil
		}, false},
		{"entrypoint keeps cmd of the same changes", []string{`CMD ["/f"]`, `ENTRYPOINT ["/bin/cat"]`}, func(c *ctypes.Config) bool {
			return slices.Equal(c.Cmd, []string{"/f"})
		}, false},
		{"env forms and expansion", []string{`ENV A=1 B="two words" C=${HOME}/x D=${NOPE:-dflt}`, `ENV PATH=$PATH:/usr/local/bin`, "ENV LEGACY value with spaces"}, func(c *ctypes.Config) bool {
			want := []string{"PATH=/bin:/usr/local/bin", "HOME=/root", "A=1", "B=two words", "C=/root/x", "D=dflt", "LEGACY=value with spaces"}
			return slices.Equal(c.Env, want)
		}, false},
		{"env single quotes", []string{`ENV Q='$HOME'`}, func(c *ctypes.Config) bool { return slices.Contains(c.Env, "Q=$HOME") }, false},
		{"expose", []string{"EXPOSE 80 53/udp 8000-8002"}, func(c *ctypes.Config) bool {
			_, a := c.ExposedPorts[network.MustParsePort("80/tcp")]
			_, b := c.ExposedPorts[network.MustParsePort("53/udp")]
			_, d := c.ExposedPorts[network.MustParsePort("8002/tcp")]
			return a && b && d && len(c.ExposedPorts) == 5
		}, false},
		{"label", []string{`LABEL a=b "c d"=e`, "LABEL old style value"}, func(c *ctypes.Config) bool {
			return c.Labels["a"] == "b" && c.Labels["c d"] == "e" && c.Labels["old"] == "style value" && c.Labels["keep"] == "1"
		}, false},
		{"user workdir", []string{"USER nobody", "WORKDIR sub", "WORKDIR /abs"}, func(c *ctypes.Config) bool {
			return c.User == "nobody" && c.WorkingDir == "/abs"
		}, false},
		{"relative workdir", []string{"WORKDIR sub"}, func(c *ctypes.Config) bool { return c.WorkingDir == "/srv/sub" }, false},
		{"volume", []string{`VOLUME ["/data", "/logs"]`, "VOLUME /a /b"}, func(c *ctypes.Config) bool { return len(c.Volumes) == 4 }, false},
		{"stopsignal", []string{"STOPSIGNAL SIGINT"}, func(c *ctypes.Config) bool { return c.StopSignal == "SIGINT" }, false},
		{"lower case and several lines", []string{"cmd [\"a\"]\nuser u"}, func(c *ctypes.Config) bool { return c.User == "u" && c.Cmd[0] == "a" }, false},
		{"onbuild", []string{"ONBUILD run echo hi"}, func(c *ctypes.Config) bool { return slices.Equal(c.OnBuild, []string{"RUN echo hi"}) }, false},
		{"healthcheck", []string{"HEALTHCHECK --interval=5s --retries=2 CMD true"}, func(c *ctypes.Config) bool {
			return c.Healthcheck != nil && c.Healthcheck.Interval == 5*time.Second && c.Healthcheck.Retries == 2 && slices.Equal(c.Healthcheck.Test, []string{"CMD-SHELL", "true"})
		}, false},
		{"healthcheck none", []string{"HEALTHCHECK NONE"}, func(c *ctypes.Config) bool { return slices.Equal(c.Healthcheck.Test, []string{"NONE"}) }, false},
		{"from is not a change", []string{"FROM busybox"}, nil, true},
		{"run is not a change", []string{"RUN rm -rf /"}, nil, true},
		{"bad signal", []string{"STOPSIGNAL SIGNOPE"}, nil, true},
		{"bad port", []string{"EXPOSE nope"}, nil, true},
		{"env without value", []string{"ENV A"}, nil, true},
		{"unterminated quote", []string{`ENV A="x`}, nil, true},
		{"user with two words", []string{"USER a b"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyChanges(base, tc.changes)
			if tc.invalid {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("error %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("config %+v", got)
			}
		})
	}
	if base.Labels["a"] != "" || len(base.Env) != 2 || base.User != "" {
		t.Errorf("the base configuration was changed: %+v", base)
	}
	if _, err := ApplyChanges(nil, []string{"FROM x"}); err == nil || !strings.HasPrefix(err.Error(), "from is not a valid change command") {
		t.Errorf("message: %v", err)
	}
}

func TestRepoTag(t *testing.T) {
	for _, tc := range [][3]string{
		{"", "", ""},
		{"busybox", "", "docker.io/library/busybox:latest"},
		{"busybox", "v1", "docker.io/library/busybox:v1"},
		{"busybox:old", "v1", "docker.io/library/busybox:v1"},
		{"busybox:mine", "", "docker.io/library/busybox:mine"},
		{"reg:5000/a/b", "", "reg:5000/a/b:latest"},
	} {
		got, err := RepoTag(tc[0], tc[1])
		if err != nil || got != tc[2] {
			t.Errorf("RepoTag(%q, %q) = %q, %v; want %q", tc[0], tc[1], got, err, tc[2])
		}
	}
	for _, bad := range [][2]string{{"UPPER", ""}, {"busybox@sha256:" + strings.Repeat("a", 64), ""}, {"busybox", "bad tag!"}} {
		if _, err := RepoTag(bad[0], bad[1]); !errdefs.IsInvalidArgument(err) {
			t.Errorf("RepoTag(%q, %q): %v, want invalid argument", bad[0], bad[1], err)
		}
	}
}

func layerTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(data))
	}
	_ = tw.Close()
	return buf.Bytes()
}

func TestCommit(t *testing.T) {
	s, _ := newTestService(t)
	ctx := imagestore.WithNamespace(context.Background())
	parent, err := s.Get(ctx, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	layer := layerTar(t, map[string]string{"committed": "yes"})
	cfg := &ctypes.Config{Cmd: []string{"cat", "/committed"}, Env: []string{"A=1"}}
	id, err := s.Commit(ctx, CommitOptions{
		Parent: parent.ID, Ref: "docker.io/library/committed:v1", Config: cfg,
		Author: "me", Comment: "a message", CreatedBy: "sh -c echo",
		Layer: func(w io.Writer) error { _, err := w.Write(layer); return err },
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(ctx, "committed:v1")
	if err != nil || img.ID != id {
		t.Fatalf("named image: %v %v", img, err)
	}
	if len(img.Manifest.Layers) != len(parent.Manifest.Layers)+1 || len(img.Config.RootFS.DiffIDs) != len(parent.Config.RootFS.DiffIDs)+1 {
		t.Errorf("layers %d, parent's %d", len(img.Manifest.Layers), len(parent.Manifest.Layers))
	}
	last := img.Config.History[len(img.Config.History)-1]
	if last.Comment != "a message" || last.Author != "me" || last.CreatedBy != "sh -c echo" || last.EmptyLayer || img.Config.Author != "me" {
		t.Errorf("history %+v", last)
	}
	if !slices.Equal(img.Config.Config.Cmd, cfg.Cmd) || !slices.Equal(img.Config.Config.Env, cfg.Env) {
		t.Errorf("config %+v", img.Config.Config)
	}
	// Unpacked: a container can be made of it.
	if _, err := s.store.Snapshotter.Stat(ctx, img.ChainID().String()); err != nil {
		t.Errorf("snapshot of the new image: %v", err)
	}
	h, err := s.History(ctx, "committed:v1")
	if err != nil || h[0].Comment != "a message" || h[0].Size == 0 {
		t.Errorf("history: %+v %v", h, err)
	}
	// Nothing changed: no layer, an empty history entry, untagged.
	id2, err := s.Commit(ctx, CommitOptions{
		Parent: parent.ID, Config: cfg,
		Layer: func(w io.Writer) error { return tar.NewWriter(w).Close() },
	})
	if err != nil {
		t.Fatal(err)
	}
	img2, err := s.Get(ctx, id2.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(img2.Manifest.Layers) != len(parent.Manifest.Layers) || !img2.Config.History[len(img2.Config.History)-1].EmptyLayer || !img2.Dangling() {
		t.Errorf("empty commit: %d layers, history %+v, names %v", len(img2.Manifest.Layers), img2.Config.History, img2.Names)
	}
	// A failing layer leaves no image.
	before, _ := s.List(ctx)
	_, err = s.Commit(ctx, CommitOptions{Parent: parent.ID, Ref: "docker.io/library/broken:latest", Config: cfg,
		Layer: func(w io.Writer) error { return errdefs.ErrUnavailable }})
	if !errdefs.IsUnavailable(err) {
		t.Errorf("failing layer: %v", err)
	}
	after, _ := s.List(ctx)
	if len(after) != len(before) {
		t.Errorf("a failed commit left an image: %d images, %d before", len(after), len(before))
	}
}
