package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

// TestRuncRun proves the specs Build produces run on this host: it runs a busybox rootfs
// with runc and checks what the process sees.
func TestRuncRun(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if os.Getuid() != 0 || err != nil {
		t.Skip("needs root and runc")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
	rootfs := busyboxRootfs(t)
	h, err := probeHost()
	if err != nil {
		t.Fatal(err)
	}
	privilegedCapEff := fmt.Sprintf("%016x", capabilityMask(h.caps))
	hostHostname, _ := os.Hostname()

	script := `grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status | tr -d '\t' | tr ':' '='
echo "id=$(id)"
echo "hostname=$(hostname)"
echo "nofile=$(ulimit -n)"
echo "shm=$(grep ' /dev/shm ' /proc/mounts | cut -d' ' -f4)"
echo "sys=$(grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)"
if touch /rootfs-is-writable 2>/dev/null; then echo root=rw; else echo root=ro; fi`

	for _, tc := range []struct {
		name string
		cfg  container.Config
		hc   container.HostConfig
		want map[string]string
	}{
		{
			name: "defaults",
			want: map[string]string{
				"CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb", "Seccomp": "2", "NoNewPrivs": "0",
				"id": "uid=0(root) gid=0(root) groups=0(root),10(wheel)", "sys": "ro", "root": "rw",
				"shm": "rw,nosuid,nodev,noexec,relatime,size=65536k",
			},
		},
		{
			name: "user, limits and read-only rootfs",
			cfg:  container.Config{User: "app", Hostname: "web"},
			hc: container.HostConfig{
				SecurityOpt:    []string{"no-new-privileges"},
				ReadonlyRootfs: true,
				ShmSize:        8 << 20,
				CapDrop:        []string{"net_raw"},
				Resources: container.Resources{
					Ulimits:   []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
					NanoCPUs:  5e8,
					Memory:    64 << 20,
					PidsLimit: ptr(int64(50)),
				},
				OomScoreAdj: -500, // clamped to the daemon's own
			},
			want: map[string]string{
				"CapEff": "0000000000000000", "CapBnd": "00000000a80405fb", "NoNewPrivs": "1",
				"id": "uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),1000(app)", "hostname": "web",
				"nofile": "1024", "root": "ro", "shm": "rw,nosuid,nodev,noexec,relatime,size=8192k",
			},
		},
		{
			name: "host network and pid",
			hc:   container.HostConfig{NetworkMode: "host", PidMode: "host"},
			want: map[string]string{"CapEff": "00000000a80425fb", "hostname": hostHostname, "sys": "ro"},
		},
		{
			name: "privileged",
			hc:   container.HostConfig{Privileged: true},
			want: map[string]string{"CapEff": privilegedCapEff, "Seccomp": "0", "sys": "rw"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("pouch-spec-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
			cfg, hc := tc.cfg, tc.hc
			s, err := Build(t.Context(), Input{
				ID:          id,
				Config:      &cfg,
				HostConfig:  &hc,
				Args:        []string{"/bin/sh", "-c", script},
				Env:         []string{"PATH=/bin"},
				RootfsPath:  rootfs,
				CgroupsPath: "/pouch-spec-test/" + id,
			})
			if err != nil {
				t.Fatal(err)
			}
			out := runcRun(t, runc, id, s)
			got := map[string]string{}
			for _, line := range strings.Split(out, "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					got[k] = v
				}
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if t.Failed() {
				t.Logf("container output:\n%s", out)
			}
		})
	}
}

// busyboxRootfs makes a rootfs with a static busybox, sh, and passwd/group files.
func busyboxRootfs(t *testing.T) string {
	root := writeRootfs(t, map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup})
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(root, "bin/busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	// Relative applet links, as `busybox --install -s` inside the root would make.
	for _, applet := range []string{"sh", "grep", "tr", "id", "hostname", "cut", "touch", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// runcRun runs the container in the foreground and returns its output; it deletes the
// container and its cgroups afterwards (runc leaves parent cgroups on v1: pitfall 12).
func runcRun(t *testing.T, runc, id string, s any) string {
	bundle := filepath.Join(t.TempDir(), id) // runc does not need it, the shim does
	state := t.TempDir()
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command(runc, "--root", state, "delete", "-f", id).Run()
		removeTestCgroups(id)
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, runc, "--root", state, "run", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("runc run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// removeTestCgroups removes the container's cgroup and the test's parent in every hierarchy.
func removeTestCgroups(id string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*")
	dirs = append(dirs, "/sys/fs/cgroup")
	for _, d := range dirs {
		_ = os.Remove(filepath.Join(d, "pouch-spec-test", id))
		_ = os.Remove(filepath.Join(d, "pouch-spec-test"))
	}
}
