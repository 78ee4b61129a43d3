package mounts

import (
	"strings"
	"testing"
)

// TestTmpfs: --tmpfs and --mount type=tmpfs mount a tmpfs of the size and
// mode asked for, noexec, nosuid and nodev by default: writing past the
// size fails; --mount's readonly holds; the content does not outlive
// the run; inspect shows --mount's as a mount and --tmpfs's in
// HostConfig.Tmpfs only, as Docker does.
func TestTmpfs(t *testing.T) {
	t.Parallel()
	// What the container reports of /t: size in KiB, mode, mount flags;
	// then whether 512 KiB, then 2 MiB more, can be written.
	const probe = `set -- $(df -k /t | tail -n 1); echo "size=$2"; echo "mode=$(stat -c %a /t)"; ` +
		`grep ' /t ' /proc/self/mounts | cut -d' ' -f3,4 | tr ',' '\n' | grep -x -e tmpfs -e 'tmpfs [a-z]*' -e noexec -e nosuid -e nodev -e ro | tr '\n' ' '; echo; ` +
		`dd if=/dev/zero of=/t/small bs=1k count=512 2>/dev/null && echo small=ok || echo small=failed; ` +
		`dd if=/dev/zero of=/t/big bs=1k count=2048 2>/dev/null && echo big=ok || echo big=failed`
	for _, tc := range []struct {
		name string
		opts []string
		want string
	}{
		{"--tmpfs size", []string{"--tmpfs", "/t:size=1m"}, "size=1024\nmode=1777\ntmpfs rw nosuid nodev noexec \nsmall=ok\nbig=failed\n"},
		{"--tmpfs size and mode", []string{"--tmpfs", "/t:size=1m,mode=700"}, "size=1024\nmode=700\ntmpfs rw nosuid nodev noexec \nsmall=ok\nbig=failed\n"},
		{"--tmpfs size in k, exec", []string{"--tmpfs", "/t:size=1024k,exec"}, "size=1024\nmode=1777\ntmpfs rw nosuid nodev \nsmall=ok\nbig=failed\n"},
		{"--mount tmpfs-size", []string{"--mount", "type=tmpfs,dst=/t,tmpfs-size=1m"}, "size=1024\nmode=1777\ntmpfs rw nosuid nodev noexec \nsmall=ok\nbig=failed\n"},
		{"--mount tmpfs-size in bytes, tmpfs-mode", []string{"--mount", "type=tmpfs,destination=/t,tmpfs-size=1048576,tmpfs-mode=1770"}, "size=1024\nmode=1770\ntmpfs rw nosuid nodev noexec \nsmall=ok\nbig=failed\n"},
		{"--mount tmpfs-mode 0700", []string{"--mount", "type=tmpfs,target=/t,tmpfs-mode=0700,tmpfs-size=4m"}, "size=4096\nmode=700\ntmpfs rw nosuid nodev noexec \nsmall=ok\nbig=ok\n"},
		{"--mount readonly", []string{"--mount", "type=tmpfs,dst=/t,readonly,tmpfs-size=1m"}, "size=1024\nmode=1777\ntmpfs ro nosuid nodev noexec \nsmall=failed\nbig=failed\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if out := d.Sh(t, tc.opts, probe); out != tc.want {
				t.Errorf("in the container:\n%s\nwant:\n%s", out, tc.want)
			}
		})
	}

	// Docker's wire format: TmpfsOptions.Mode holds the mode's bits as
	// chmod takes them (the docker CLI sends tmpfs-mode=1770 as 01770).
	t.Run("API tmpfs Mode with the sticky bit", func(t *testing.T) {
		t.Parallel()
		id := createAPI(t, d, map[string]any{"Image": "busybox", "Cmd": []string{"stat", "-c", "%a", "/t"},
			"HostConfig": map[string]any{"Mounts": []map[string]any{{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": map[string]any{"Mode": 0o1770}}}}})
		if out := d.PouchOK(t, "start", "-a", id); out != "1770\n" {
			t.Errorf("tmpfs Mode 01770: the container finds mode %q, want 1770", out)
		}
	})

	// The pouch CLI sends tmpfs-mode as the docker CLI does.
	t.Run("CLI tmpfs-mode on the wire", func(t *testing.T) {
		t.Parallel()
		id, _ := d.CreateContainer(t, "--mount", "type=tmpfs,dst=/t,tmpfs-mode=1770", "busybox", "true")
		hc := d.Inspect(t, id).HostConfig
		if len(hc.Mounts) != 1 || hc.Mounts[0].TmpfsOptions == nil {
			t.Fatalf("HostConfig.Mounts: %+v", hc.Mounts)
		}
		if m := hc.Mounts[0].TmpfsOptions.Mode; m != 0o1770 {
			t.Errorf("tmpfs-mode=1770 sent as TmpfsOptions.Mode %d (%v), want %d (01770) as docker sends it", uint32(m), m, 0o1770)
		}
	})

	t.Run("content does not outlive the run", func(t *testing.T) {
		t.Parallel()
		_, ctr := d.CreateContainer(t, "--tmpfs", "/a", "--mount", "type=tmpfs,dst=/b", "busybox", "sh", "-c",
			"ls -A /a /b | tr '\\n' ' '; echo; touch /a/f /b/f")
		if out := d.PouchOK(t, "start", "-a", ctr); strings.Contains(out, "f") {
			t.Errorf("first run: %q", out)
		}
		if out := d.PouchOK(t, "start", "-a", ctr); strings.Contains(out, " f") {
			t.Errorf("second run finds the first's files: %q", out)
		}
	})

	t.Run("inspect", func(t *testing.T) {
		t.Parallel()
		id, _ := d.CreateContainer(t, "--tmpfs", "/a:size=1m", "--mount", "type=tmpfs,dst=/b,tmpfs-size=1m", "busybox", "true")
		c := d.Inspect(t, id)
		if len(c.Mounts) != 1 {
			t.Fatalf("mounts: %+v", c.Mounts)
		}
		if m := c.Mounts[0]; m.Type != "tmpfs" || m.Destination != "/b" || m.Source != "" || m.Name != "" || m.Driver != "" || m.Mode != "" || !m.RW || m.Propagation != "" {
			t.Errorf("--mount tmpfs in inspect: %+v", m)
		}
		if len(c.HostConfig.Tmpfs) != 1 || c.HostConfig.Tmpfs["/a"] != "size=1m" {
			t.Errorf("HostConfig.Tmpfs: %v", c.HostConfig.Tmpfs)
		}
		if len(c.HostConfig.Mounts) != 1 || c.HostConfig.Mounts[0].TmpfsOptions == nil || c.HostConfig.Mounts[0].TmpfsOptions.SizeBytes != 1<<20 {
			t.Errorf("HostConfig.Mounts: %+v", c.HostConfig.Mounts)
		}
	})
}
