package mounts

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestBinds: a bind shows the host's files and the container's writes; a
// file can be bound; -v creates a missing host path (that directory and
// nothing else), --mount refuses a missing source (400) and creates
// nothing; removing the container leaves the host's files alone.
func TestBinds(t *testing.T) {
	t.Parallel()

	t.Run("data both ways", func(t *testing.T) {
		t.Parallel()
		host := t.TempDir()
		writeFile(t, filepath.Join(host, "from-host"), "host\n")
		for i, opts := range [][]string{
			{"-v", host + ":/h"},
			{"--mount", "type=bind,src=" + host + ",dst=/h"},
		} {
			name := []string{"a", "b"}[i]
			if out := d.Sh(t, opts, "cat /h/from-host; echo "+name+" > /h/"+name); out != "host\n" {
				t.Errorf("%v: %q", opts, out)
			}
			if got := readFile(t, filepath.Join(host, name)); got != name+"\n" {
				t.Errorf("%v: written on the host: %q", opts, got)
			}
		}
		if got := dirNames(t, host); !slices.Equal(got, []string{"a", "b", "from-host"}) {
			t.Errorf("host directory after the runs: %v", got)
		}
	})

	t.Run("a file", func(t *testing.T) {
		t.Parallel()
		f := filepath.Join(t.TempDir(), "conf")
		writeFile(t, f, "key=value\n")
		if out := d.Sh(t, []string{"-v", f + ":/etc/app.conf:ro", "--mount", "type=bind,src=" + f + ",dst=/conf2"}, "cat /etc/app.conf /conf2; echo x >> /etc/app.conf 2>/dev/null || echo refused"); out != "key=value\nkey=value\nrefused\n" {
			t.Errorf("%q", out)
		}
	})

	t.Run("-v creates a missing path", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		missing := filepath.Join(parent, "new", "deeper")
		id, ctr := d.CreateContainer(t, "-v", missing+":/data", "busybox", "sh", "-c", "echo hi > /data/f")
		// Created with the container, as a directory, alone.
		if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
			t.Fatalf("host path after create: %v %v", fi, err)
		}
		if got := dirNames(t, missing); len(got) != 0 {
			t.Errorf("created host path holds %v", got)
		}
		if got := dirNames(t, parent); !slices.Equal(got, []string{"new"}) {
			t.Errorf("parent holds %v", got)
		}
		if m := mountAt(t, d.Inspect(t, id), "/data"); m.Type != mount.TypeBind || m.Source != missing {
			t.Errorf("mount: %+v", m)
		}
		// Removed while the container exists: created again at start.
		if err := os.RemoveAll(filepath.Join(parent, "new")); err != nil {
			t.Fatal(err)
		}
		d.PouchOK(t, "start", "-a", ctr)
		if got := readFile(t, filepath.Join(missing, "f")); got != "hi\n" {
			t.Errorf("written to the recreated path: %q", got)
		}
		d.PouchOK(t, "rm", "-v", ctr)
		if got := readFile(t, filepath.Join(missing, "f")); got != "hi\n" {
			t.Errorf("after rm -v: %q", got)
		}
	})

	t.Run("--mount missing source", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		missing := filepath.Join(parent, "nope")
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		r := d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create?name="+name, map[string]any{
			"Image": "busybox", "Cmd": []string{"true"},
			"HostConfig": map[string]any{"Mounts": []mount.Mount{{Type: mount.TypeBind, Source: missing, Target: "/data"}}},
		})
		if !strings.Contains(r.Message(), "bind source path does not exist: "+missing) {
			t.Errorf("message %q", r.Message())
		}
		res := d.PouchFails(t, "run", "--rm", "--mount", "type=bind,src="+missing+",dst=/data", "busybox", "true")
		if !strings.Contains(res.Stderr, "bind source path does not exist") {
			t.Errorf("pouch run: %+v", res)
		}
		if containerExists(t, d, name) {
			t.Errorf("container created")
		}
		if got := dirNames(t, parent); len(got) != 0 {
			t.Errorf("created on the host: %v", got)
		}
	})

	t.Run("--mount source removed before start", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		src := filepath.Join(parent, "src")
		if err := os.Mkdir(src, 0o755); err != nil {
			t.Fatal(err)
		}
		_, ctr := d.CreateContainer(t, "--mount", "type=bind,src="+src+",dst=/data", "busybox", "true")
		if err := os.Remove(src); err != nil {
			t.Fatal(err)
		}
		res := d.PouchFails(t, "start", ctr)
		if !strings.Contains(res.Stderr, "bind source path does not exist") {
			t.Errorf("start: %+v", res)
		}
		if exists(src) {
			t.Errorf("missing --mount source created at start")
		}
	})
}

// TestPropagation: the propagation asked for shows in inspect, rprivate
// by default; and it is in effect: a mount made on the host under an
// rslave bind appears in the container, not under an rprivate one.
func TestPropagation(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	for _, tc := range []struct {
		opts []string
		want mount.Propagation
		mode string
	}{
		{[]string{"-v", host + ":/p"}, mount.PropagationRPrivate, ""},
		{[]string{"-v", host + ":/p:ro"}, mount.PropagationRPrivate, "ro"},
		{[]string{"-v", host + ":/p:rslave"}, mount.PropagationRSlave, "rslave"},
		{[]string{"-v", host + ":/p:ro,slave"}, mount.PropagationSlave, "ro,slave"},
		{[]string{"-v", host + ":/p:private"}, mount.PropagationPrivate, "private"},
		{[]string{"-v", host + ":/p:rshared,rw"}, mount.PropagationRShared, "rshared,rw"},
		{[]string{"-v", host + ":/p:shared"}, mount.PropagationShared, "shared"},
		{[]string{"--mount", "type=bind,src=" + host + ",dst=/p"}, mount.PropagationRPrivate, ""},
		{[]string{"--mount", "type=bind,src=" + host + ",dst=/p,bind-propagation=rslave"}, mount.PropagationRSlave, ""},
		{[]string{"--mount", "type=bind,src=" + host + ",dst=/p,bind-propagation=shared"}, mount.PropagationShared, ""},
	} {
		id, _ := d.CreateContainer(t, append(tc.opts, "busybox", "true")...)
		if m := mountAt(t, d.Inspect(t, id), "/p"); m.Propagation != tc.want || m.Mode != tc.mode {
			t.Errorf("%v: Propagation %q Mode %q, want %q %q", tc.opts, m.Propagation, m.Mode, tc.want, tc.mode)
		}
	}

	// In effect: make the host directory a shared mount of its own, start
	// an rslave and an rprivate container on it, then mount a tmpfs under
	// it on the host.
	if err := unix.Mount(host, host, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(host, unix.MNT_DETACH) })
	if err := unix.Mount("", host, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(host, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	_, slave := d.Sleeper(t, "-v", host+":/p:rslave")
	_, private := d.Sleeper(t, "--mount", "type=bind,src="+host+",dst=/p")
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(sub, unix.MNT_DETACH) })
	writeFile(t, filepath.Join(sub, "on-tmpfs"), "x")
	testenv.Eventually(t, 5*time.Second, "the host's new mount in the rslave container", func() bool {
		return d.Pouch(t, nil, "exec", slave, "test", "-f", "/p/sub/on-tmpfs").ExitCode == 0
	})
	if res := d.Pouch(t, nil, "exec", private, "test", "-f", "/p/sub/on-tmpfs"); res.ExitCode == 0 {
		t.Errorf("the host's new mount propagated into an rprivate bind")
	}
}
