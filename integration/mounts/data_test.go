package mounts

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestNamedVolumeData: what one container writes to a named volume the
// next reads, whether given with -v or --mount, under another path; the
// data is in the volume's directory on the host; the volume is created
// once and each run mounts and unmounts it (Docker's events).
func TestNamedVolumeData(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	for _, tc := range []struct {
		name          string
		write, read   func(vol string) []string
		readDst       string
		writeFromHost bool
	}{
		{"-v", func(v string) []string { return []string{"-v", v + ":/data"} },
			func(v string) []string { return []string{"-v", v + ":/elsewhere/deeper"} }, "/elsewhere/deeper", false},
		{"--mount", func(v string) []string { return []string{"--mount", "type=volume,source=" + v + ",target=/data"} },
			func(v string) []string { return []string{"--mount", "type=volume,src=" + v + ",dst=/other"} }, "/other", false},
		{"-v then --mount", func(v string) []string { return []string{"-v", v + ":/data:rw"} },
			func(v string) []string { return []string{"--mount", "src=" + v + ",destination=/m"} }, "/m", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vol := vols.name(t)
			start := time.Now()
			d.Sh(t, tc.write(vol), "mkdir -p /data/sub && echo hello > /data/sub/greeting && chown 1000:1000 /data/sub")
			v := inspectVolume(t, d, vol)
			if v.Mountpoint != dataPath(d, vol) || v.Driver != "local" {
				t.Errorf("volume made by the run: %+v", v)
			}
			if got := readFile(t, filepath.Join(v.Mountpoint, "sub", "greeting")); got != "hello\n" {
				t.Errorf("on the host: %q", got)
			}
			if out := d.Sh(t, tc.read(vol), "cat "+tc.readDst+"/sub/greeting; stat -c %u:%g "+tc.readDst+"/sub; echo more >> "+tc.readDst+"/sub/greeting"); out != "hello\n1000:1000\n" {
				t.Errorf("the next container reads %q", out)
			}
			if got := readFile(t, filepath.Join(v.Mountpoint, "sub", "greeting")); got != "hello\nmore\n" {
				t.Errorf("after the second run, on the host: %q", got)
			}
			// Docker's events: one create, a mount and an unmount per run.
			var got []string
			testenv.Eventually(t, 10*time.Second, "the volume events of two runs", func() bool {
				got = volumeEvents(t, d, vol, start, "destination", "read/write")
				return len(got) >= 5
			})
			want := []string{"create", "mount destination=/data read/write=true", "unmount",
				"mount destination=" + tc.readDst + " read/write=true", "unmount"}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}

// TestVolumeEventAttributes: a mount event names the container, the
// destination, the driver, the propagation and read/write, as Docker's do.
func TestVolumeEventAttributes(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	vol := vols.name(t)
	start := time.Now()
	id, _ := d.Sleeper(t, "-v", vol+":/data:ro")
	var got []string
	testenv.Eventually(t, 10*time.Second, "a mount event", func() bool {
		got = volumeEvents(t, d, vol, start, "container", "destination", "driver", "read/write")
		return len(got) >= 2
	})
	if want := []string{"create driver=local", "mount container=" + id + " destination=/data driver=local read/write=false"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestReadOnly: a read-only volume or bind, given with -v :ro or --mount
// readonly, can be read and not written, inside or on the host; inspect
// shows RW false.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	vol := vols.name(t)
	d.Sh(t, []string{"-v", vol + ":/data"}, "echo content > /data/f")
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "f"), "content\n")

	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"volume -v ro", []string{"-v", vol + ":/ro:ro"}},
		{"volume -v ro,nocopy", []string{"-v", vol + ":/ro:nocopy,ro"}},
		{"volume --mount readonly", []string{"--mount", "type=volume,src=" + vol + ",dst=/ro,readonly"}},
		{"volume --mount ro=true", []string{"--mount", "type=volume,src=" + vol + ",dst=/ro,ro=true"}},
		{"bind -v ro", []string{"-v", host + ":/ro:ro"}},
		{"bind -v ro,rprivate", []string{"-v", host + ":/ro:rprivate,ro"}},
		{"bind --mount readonly", []string{"--mount", "type=bind,src=" + host + ",dst=/ro,readonly"}},
		{"bind --mount readonly=1", []string{"--mount", "type=bind,source=" + host + ",target=/ro,readonly=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, _ := d.CreateContainer(t, append(tc.opts, "busybox", "sh", "-c",
				"cat /ro/f; for op in 'touch /ro/new' 'rm /ro/f' 'mkdir /ro/dir' 'echo x >> /ro/f'; do eval \"$op\" 2>/dev/null && echo \"$op: allowed\"; done; grep -w /ro /proc/self/mounts | cut -d' ' -f4 | cut -d, -f1")...)
			if m := mountAt(t, d.Inspect(t, id), "/ro"); m.RW {
				t.Errorf("inspect: %+v, want RW false", m)
			}
			out := d.PouchOK(t, "start", "-a", id)
			if out != "content\nro\n" {
				t.Errorf("in the container: %q, want the content, no write allowed, an ro mount", out)
			}
		})
	}
	// Once every run above has ended, nothing was written.
	t.Cleanup(func() {
		if got := dirNames(t, host); !slices.Equal(got, []string{"f"}) {
			t.Errorf("host directory after read-only binds: %v", got)
		}
		if got := readFile(t, filepath.Join(host, "f")); got != "content\n" {
			t.Errorf("host file after read-only binds: %q", got)
		}
		if got := dirNames(t, dataPath(d, vol)); !slices.Equal(got, []string{"f"}) {
			t.Errorf("volume after read-only mounts: %v", got)
		}
	})

	// A read-only mount of a volume does not make it read-only for
	// another container using it read-write at the same time.
	t.Run("ro and rw side by side", func(t *testing.T) {
		t.Parallel()
		side := vols.name(t)
		_, ro := d.Sleeper(t, "-v", side+":/data:ro")
		_, rw := d.Sleeper(t, "-v", side+":/data")
		d.PouchOK(t, "exec", rw, "sh", "-c", "echo from-rw > /data/g")
		if out := d.PouchOK(t, "exec", ro, "cat", "/data/g"); out != "from-rw\n" {
			t.Errorf("read-only container reads %q", out)
		}
		if res := d.Pouch(t, nil, "exec", ro, "touch", "/data/h"); res.ExitCode == 0 || !strings.Contains(res.Stderr, "Read-only file system") {
			t.Errorf("write in the read-only container: %+v", res)
		}
	})
}

// TestVolumesFrom: --volumes-from gives a container the volumes and binds
// of another (not its tmpfs mounts), read-write or, with :ro, read-only;
// the volumes stay in use while either container exists, and rm -v of
// the second does not remove the first's anonymous volume.
func TestVolumesFrom(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	named := vols.name(t)
	host := t.TempDir()
	srcID, src := d.CreateContainer(t, "-v", named+":/named", "-v", "/anon", "-v", host+":/bind",
		"--mount", "type=tmpfs,dst=/scratch", "--tmpfs", "/tt", "busybox", "true")
	srcInspect := d.Inspect(t, srcID)
	anon := vols.add(anonymousVolumes(srcInspect)...)
	if anon == "" {
		t.Fatalf("no anonymous volume in %+v", srcInspect.Mounts)
	}

	rwID, rw := d.CreateContainer(t, "--volumes-from", src, "busybox", "sh", "-c",
		"echo n > /named/f && echo a > /anon/f && echo b > /bind/f && ! grep -e ' /scratch ' -e ' /tt ' /proc/self/mounts && echo ok")
	if out := d.PouchOK(t, "start", "-a", rw); out != "ok\n" {
		t.Errorf("--volumes-from: %q", out)
	}
	c := d.Inspect(t, rwID)
	if len(c.Mounts) != 3 {
		t.Errorf("mounts from %s: %+v", src, c.Mounts)
	}
	for _, dst := range []string{"/named", "/anon", "/bind"} {
		got, want := mountAt(t, c, dst), mountAt(t, srcInspect, dst)
		if got.Type != want.Type || got.Name != want.Name || got.Source != want.Source || !got.RW {
			t.Errorf("mount at %s: %+v, the source container's %+v", dst, got, want)
		}
	}
	if got := readFile(t, filepath.Join(dataPath(d, named), "f")) + readFile(t, filepath.Join(dataPath(d, anon), "f")) + readFile(t, filepath.Join(host, "f")); got != "n\na\nb\n" {
		t.Errorf("written through --volumes-from: %q", got)
	}

	roID, ro := d.CreateContainer(t, "--volumes-from", src+":ro", "busybox", "sh", "-c",
		"cat /named/f /anon/f /bind/f; for f in /named/g /anon/g /bind/g; do touch $f 2>/dev/null && echo $f written; done; true")
	if out := d.PouchOK(t, "start", "-a", ro); out != "n\na\nb\n" {
		t.Errorf("--volumes-from :ro: %q", out)
	}
	for _, m := range d.Inspect(t, roID).Mounts {
		if m.RW {
			t.Errorf("--volumes-from :ro: %+v is read-write", m)
		}
	}
	// The source's own mounts are unchanged.
	for _, m := range d.Inspect(t, srcID).Mounts {
		if !m.RW {
			t.Errorf("the source container's %+v became read-only", m)
		}
	}
	// Chained: volumes from the container that has them from another.
	if out := d.Sh(t, []string{"--volumes-from", rw}, "cat /named/f"); out != "n\n" {
		t.Errorf("--volumes-from a container that has them --volumes-from: %q", out)
	}

	// The source gone (with -v), the others still hold the volumes: the
	// anonymous one is kept for them.
	d.PouchOK(t, "rm", "-v", src)
	for _, n := range []string{named, anon} {
		r := d.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+n, nil)
		if !strings.Contains(r.Message(), rwID) || !strings.Contains(r.Message(), roID) {
			t.Errorf("remove %s used through --volumes-from: %q, want both users named", n, r.Message())
		}
	}
	if out := d.PouchOK(t, "start", "-a", rw); out != "ok\n" {
		t.Errorf("--volumes-from after the source was removed: %q", out)
	}
	// rm -v of a container that has it from another does not remove it.
	d.PouchOK(t, "rm", "-v", rw, ro)
	if !volumeExists(t, d, anon) || !volumeExists(t, d, named) {
		t.Errorf("rm -v of --volumes-from users removed the volumes")
	}
	if b, err := os.ReadFile(filepath.Join(host, "f")); err != nil || string(b) != "b\n" {
		t.Errorf("bound host directory after the containers went: %q %v", b, err)
	}
}

// TestVolumeInUse: a volume a stopped (or never started) container uses,
// however it got it, is not removed: 409 naming the container, through the
// API and the CLI; removable once the container is gone.
func TestVolumeInUse(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	for _, tc := range []struct {
		name  string
		opts  func(vol string) []string
		start bool
	}{
		{"-v created", func(v string) []string { return []string{"-v", v + ":/data"} }, false},
		{"-v exited", func(v string) []string { return []string{"-v", v + ":/data:ro"} }, true},
		{"--mount exited", func(v string) []string { return []string{"--mount", "type=volume,src=" + v + ",dst=/data"} }, true},
		{"--mount nocopy created", func(v string) []string {
			return []string{"--mount", "type=volume,src=" + v + ",dst=/data,volume-nocopy"}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vol := vols.name(t)
			id, ctr := d.CreateContainer(t, append(tc.opts(vol), "busybox", "true")...)
			if tc.start {
				d.PouchOK(t, "start", "-a", ctr)
				if s := d.Inspect(t, id).State.Status; s != "exited" {
					t.Fatalf("status %s", s)
				}
			}
			r := d.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+vol, nil)
			if want := "remove " + vol + ": volume is in use - [" + id + "]"; r.Message() != want {
				t.Errorf("remove: %q, want %q", r.Message(), want)
			}
			d.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+vol+"?force=1", nil)
			if res := d.Pouch(t, nil, "volume", "rm", vol); res.ExitCode == 0 || !strings.Contains(res.Stderr, "volume is in use") {
				t.Errorf("pouch volume rm: %+v", res)
			}
			if !exists(dataPath(d, vol)) {
				t.Errorf("the data of a volume in use is gone")
			}
			d.PouchOK(t, "rm", ctr)
			d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+vol, nil)
			if exists(filepath.Join(volumesRoot(d), vol)) {
				t.Errorf("directory of a removed volume left")
			}
		})
	}
}
