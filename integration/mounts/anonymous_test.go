package mounts

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// TestAnonymousVolumes: -v /path, --mount without a source, a create
// request's Config.Volumes and the image's VOLUMEs each get a new
// anonymous volume (64-hex name, Docker's label), per container; an
// explicit mount or a --tmpfs at the same path replaces the image's.
func TestAnonymousVolumes(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	img := testenv.Unique("withvolumes")
	loadImage(t, d, img,
		testimage.WithVolumes("/vol/a", "/vol/b", "/vol/c"),
		testimage.WithLayer("seed", testimage.RegularFile("/vol/a/seed", 0o644, []byte("seeded\n"))))

	check := func(t *testing.T, c ctypes.InspectResponse, dsts ...string) []string {
		t.Helper()
		anon := anonymousVolumes(c)
		vols.add(anon...)
		var got []string
		for _, m := range c.Mounts {
			if m.Type == "volume" && testenv.IsID(m.Name) {
				got = append(got, m.Destination)
				v := inspectVolume(t, d, m.Name)
				if l, ok := v.Labels["com.docker.volume.anonymous"]; !ok || l != "" {
					t.Errorf("anonymous volume at %s: labels %v", m.Destination, v.Labels)
				}
				if m.Source != v.Mountpoint || m.Driver != "local" || !m.RW {
					t.Errorf("anonymous volume at %s: mount %+v, volume %+v", m.Destination, m, v)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, dsts) {
			t.Errorf("anonymous volumes at %v, want %v", got, dsts)
		}
		return anon
	}

	t.Run("-v and --mount", func(t *testing.T) {
		t.Parallel()
		id, _ := d.CreateContainer(t, "-v", "/a", "-v", "/b/", "--mount", "type=volume,dst=/c", "busybox", "true")
		check(t, d.Inspect(t, id), "/a", "/b", "/c")
	})

	t.Run("Config.Volumes", func(t *testing.T) {
		t.Parallel()
		id := createAPI(t, d, map[string]any{"Image": "busybox", "Cmd": []string{"true"},
			"Volumes": map[string]any{"/x": map[string]any{}, "/y": map[string]any{}}})
		check(t, d.Inspect(t, id), "/x", "/y")
	})

	t.Run("image VOLUMEs", func(t *testing.T) {
		t.Parallel()
		id, ctr := d.CreateContainer(t, img, "sh", "-c", "cat /vol/a/seed; echo b > /vol/b/f")
		c := d.Inspect(t, id)
		anon := check(t, c, "/vol/a", "/vol/b", "/vol/c")
		if out := d.PouchOK(t, "start", "-a", ctr); out != "seeded\n" {
			t.Errorf("the image's content in its volume: %q", out)
		}
		a, b := mountAt(t, c, "/vol/a").Name, mountAt(t, c, "/vol/b").Name
		if got := readFile(t, filepath.Join(dataPath(d, a), "seed")); got != "seeded\n" {
			t.Errorf("seed in the volume: %q", got)
		}
		if got := readFile(t, filepath.Join(dataPath(d, b), "f")); got != "b\n" {
			t.Errorf("written to the volume: %q", got)
		}
		// A restart of the container keeps its volumes.
		d.PouchOK(t, "start", "-a", ctr)
		if got := anonymousVolumes(d.Inspect(t, id)); !slices.Equal(got, anon) {
			t.Errorf("volumes after a second start: %v, want %v", got, anon)
		}
		// Another container of the image gets volumes of its own.
		id2, _ := d.CreateContainer(t, img, "true")
		for _, n := range check(t, d.Inspect(t, id2), "/vol/a", "/vol/b", "/vol/c") {
			if slices.Contains(anon, n) {
				t.Errorf("two containers share the anonymous volume %s", n)
			}
		}
	})

	t.Run("image VOLUMEs replaced", func(t *testing.T) {
		t.Parallel()
		named := vols.name(t)
		host := t.TempDir()
		id, ctr := d.CreateContainer(t, "-v", named+":/vol/a", "--mount", "type=bind,src="+host+",dst=/vol/b", "--tmpfs", "/vol/c",
			img, "sh", "-c", "cat /vol/a/seed; grep ' /vol/c ' /proc/self/mounts | cut -d' ' -f3")
		c := d.Inspect(t, id)
		check(t, c)
		if len(c.Mounts) != 2 || mountAt(t, c, "/vol/a").Name != named || mountAt(t, c, "/vol/b").Source != host {
			t.Errorf("mounts %+v", c.Mounts)
		}
		// A new named volume gets the seed too.
		if out := d.PouchOK(t, "start", "-a", ctr); out != "seeded\ntmpfs\n" {
			t.Errorf("%q", out)
		}
	})
}

// TestRemoveVolumes: rm -v (and DELETE ?v=1) removes the container's
// anonymous volumes, keeping its named volumes and bound host paths; a
// plain rm keeps all; --rm removes the anonymous ones when the container
// exits.
func TestRemoveVolumes(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	img := testenv.Unique("rmvolumes")
	loadImage(t, d, img, testimage.WithVolumes("/img"))

	for _, tc := range []struct {
		name   string
		remove func(t *testing.T, ctr string)
		gone   bool
	}{
		{"rm -v", func(t *testing.T, ctr string) { d.PouchOK(t, "rm", "-v", ctr) }, true},
		{"rm --volumes -f of a running container", func(t *testing.T, ctr string) { d.PouchOK(t, "rm", "--volumes", "-f", ctr) }, true},
		{"DELETE ?v=1", func(t *testing.T, ctr string) {
			d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+ctr+"?v=1&force=1", nil)
		}, true},
		{"rm", func(t *testing.T, ctr string) { d.PouchOK(t, "rm", "-f", ctr) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			named := vols.name(t)
			host := t.TempDir()
			opts := []string{"-v", named + ":/named", "-v", "/anon", "--mount", "type=volume,dst=/manon", "-v", host + ":/bind", img}
			var id, ctr string
			if strings.Contains(tc.name, "running") {
				id, ctr = d.RunDetached(t, append(opts, "sh", "-c", "for d in /named /anon /manon /img /bind; do echo x > $d/f; done; sleep 300")...)
				testenv.Eventually(t, 10*time.Second, "the files written", func() bool { return exists(filepath.Join(host, "f")) })
			} else {
				id, ctr = d.CreateContainer(t, append(opts, "sh", "-c", "for d in /named /anon /manon /img /bind; do echo x > $d/f; done")...)
				d.PouchOK(t, "start", "-a", ctr)
			}
			anon := vols.add(anonymousVolumes(d.Inspect(t, id))...)
			anons := anonymousVolumes(d.Inspect(t, id))
			if len(anons) != 3 || anon == "" {
				t.Fatalf("anonymous volumes %v", anons)
			}
			tc.remove(t, ctr)
			if containerExists(t, d, id) {
				t.Fatalf("container not removed")
			}
			for _, n := range anons {
				if got := volumeExists(t, d, n); got == tc.gone {
					t.Errorf("anonymous volume %s exists: %v", n, got)
				}
				if got := exists(filepath.Join(volumesRoot(d), n)); got == tc.gone {
					t.Errorf("anonymous volume %s directory exists: %v", n, got)
				}
			}
			if got := readFile(t, filepath.Join(dataPath(d, named), "f")); got != "x\n" {
				t.Errorf("named volume's data: %q", got)
			}
			if got := readFile(t, filepath.Join(host, "f")); got != "x\n" {
				t.Errorf("bound host file: %q", got)
			}
			// Neither is in use any more.
			d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+named, nil)
			if !tc.gone {
				for _, n := range anons {
					d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+n, nil)
				}
			}
		})
	}

	t.Run("--rm", func(t *testing.T) {
		t.Parallel()
		named := vols.name(t)
		id, _ := d.RunDetached(t, "--rm", "-v", named+":/named", "-v", "/anon", img, "sh", "-c", "echo x > /named/f; sleep 300")
		anons := anonymousVolumes(d.Inspect(t, id))
		vols.add(anons...)
		if len(anons) != 2 {
			t.Fatalf("anonymous volumes %v", anons)
		}
		d.PouchOK(t, "stop", "-t", "0", id)
		testenv.Eventually(t, 20*time.Second, "the --rm container removed", func() bool { return !containerExists(t, d, id) })
		// Once the container is gone its volumes are: no waiting.
		for _, n := range anons {
			if volumeExists(t, d, n) {
				t.Errorf("anonymous volume %s of a --rm container kept", n)
			}
		}
		if got := readFile(t, filepath.Join(dataPath(d, named), "f")); got != "x\n" {
			t.Errorf("named volume of a --rm container: %q", got)
		}
		d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+named, nil)
	})

	t.Run("run --rm in the foreground", func(t *testing.T) {
		t.Parallel()
		// The volume's name is only known inside: the container prints
		// its mounts, and the volume must be gone once run returns.
		out := d.Sh(t, []string{"-v", "/anon"}, "grep -w /anon /proc/self/mountinfo | cut -d' ' -f4")
		name := filepath.Base(filepath.Dir(strings.TrimSpace(out)))
		if !testenv.IsID(name) {
			t.Fatalf("volume of /anon from mountinfo %q", out)
		}
		vols.add(name)
		if volumeExists(t, d, name) {
			t.Errorf("anonymous volume %s left after run --rm returned", name)
		}
	})
}
