package container

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

func TestRunOptions(t *testing.T) {
	t.Parallel()

	t.Run("name-env-workdir-label", func(t *testing.T) {
		t.Parallel()
		envFile := filepath.Join(t.TempDir(), "env")
		if err := os.WriteFile(envFile, []byte("# comment\nFROM_FILE=one two\n\nOVERRIDDEN=file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		res := d.Pouch(t, nil, "run", "--name", name, "-e", "A=1", "--env", "OVERRIDDEN=flag", "--env-file", envFile,
			"-w", "/tmp/work", "-l", "k1=v1", "--label", "k2", "busybox", "sh", "-c", `echo "$A|$FROM_FILE|$OVERRIDDEN"; pwd`)
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Combined())
		}
		if want := "1|one two|flag\n/tmp/work\n"; res.Stdout != want {
			t.Errorf("output %q, want %q", res.Stdout, want)
		}
		c := d.Inspect(t, name)
		if c.Name != "/"+name {
			t.Errorf("Name = %q, want /%s", c.Name, name)
		}
		if c.Config.Labels["k1"] != "v1" || c.Config.Labels["k2"] != "" || len(c.Config.Labels) != 2 {
			t.Errorf("labels = %v", c.Config.Labels)
		}
		if c.Config.WorkingDir != "/tmp/work" {
			t.Errorf("WorkingDir = %q", c.Config.WorkingDir)
		}
		env := strings.Join(c.Config.Env, "\n")
		for _, want := range []string{"A=1", "FROM_FILE=one two", "OVERRIDDEN=flag", "PATH="} {
			if !strings.Contains(env, want) {
				t.Errorf("Env lacks %q: %v", want, c.Config.Env)
			}
		}
	})

	t.Run("user", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ user, want string }{
			{"nobody", "65534 65534"},
			{"pouch", "1000 1000"},
			{"1000:1001", "1000 1001"},
			{"4242", "4242 0"},
			{"nobody:root", "65534 0"},
		} {
			out := d.Sh(t, []string{"-u", tc.user}, "echo $(id -u) $(id -g)")
			if strings.TrimSpace(out) != tc.want {
				t.Errorf("-u %s: uid gid = %q, want %q", tc.user, strings.TrimSpace(out), tc.want)
			}
		}
		res := d.RunRm(t, "-u", "nosuchuser", "busybox", "true")
		if res.ExitCode == 0 {
			t.Errorf("-u nosuchuser: exit 0, want a failure")
		}
	})

	t.Run("entrypoint", func(t *testing.T) {
		t.Parallel()
		res := d.RunRm(t, "--entrypoint", "echo", "busybox", "hello", "world")
		if res.ExitCode != 0 || res.Stdout != "hello world\n" {
			t.Errorf("--entrypoint echo: exit %d, %q", res.ExitCode, res.Combined())
		}
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		d.PouchOK(t, "create", "--name", name, "--entrypoint", "/bin/echo", "busybox", "x")
		c := d.Inspect(t, name)
		if c.Path != "/bin/echo" || len(c.Args) != 1 || c.Args[0] != "x" {
			t.Errorf("Path %q Args %v", c.Path, c.Args)
		}
	})

	t.Run("hostname", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--hostname", "myhost"}, "cat /etc/hostname; hostname")
		if out != "myhost\nmyhost\n" {
			t.Errorf("hostname: %q", out)
		}
	})

	t.Run("read-only", func(t *testing.T) {
		t.Parallel()
		res := d.RunRm(t, "--read-only", "busybox", "sh", "-c", "touch /x && echo root-writable; touch /dev/shm/x && echo shm-writable; touch /tmp/x 2>/dev/null || echo tmp-readonly")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Combined())
		}
		if strings.Contains(res.Stdout, "root-writable") || !strings.Contains(res.Stderr, "Read-only file system") {
			t.Errorf("--read-only: / writable: %q", res.Combined())
		}
		if !strings.Contains(res.Stdout, "shm-writable") {
			t.Errorf("--read-only: /dev/shm should stay writable: %q", res.Combined())
		}
		if out := d.Sh(t, nil, "touch /x && echo root-writable"); !strings.Contains(out, "root-writable") {
			t.Errorf("without --read-only / is not writable: %q", out)
		}
	})

	t.Run("shm-size", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--shm-size", "8m"}, "df -k /dev/shm | tail -1")
		if f := strings.Fields(out); len(f) < 2 || f[1] != "8192" {
			t.Errorf("--shm-size 8m: %q", out)
		}
	})

	t.Run("ulimit", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--ulimit", "nofile=1024:2048", "--ulimit", "nproc=300"}, "ulimit -n; ulimit -Hn; ulimit -u")
		if out != "1024\n2048\n300\n" {
			t.Errorf("ulimits: %q", out)
		}
		// Defaults come from the daemon's own limits (pitfall 15).
		var lim [2]uint64
		b, _ := os.ReadFile("/proc/self/limits")
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "Max open files") {
				f := strings.Fields(line)
				lim[0], _ = strconv.ParseUint(f[3], 10, 64)
				lim[1], _ = strconv.ParseUint(f[4], 10, 64)
			}
		}
		out = d.Sh(t, nil, "ulimit -Hn")
		if strings.TrimSpace(out) != strconv.FormatUint(lim[1], 10) {
			t.Logf("default hard nofile in the container %q, this process has %d (informational)", strings.TrimSpace(out), lim[1])
		}
	})

	t.Run("sysctl-network-none", func(t *testing.T) {
		t.Parallel()
		hostNS, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		out := d.Sh(t, []string{"--sysctl", "net.ipv4.ip_forward=1", "--network", "none"}, "cat /proc/sys/net/ipv4/ip_forward; readlink /proc/self/ns/net; ls /sys/class/net")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 3 || lines[0] != "1" {
			t.Fatalf("sysctl not applied: %q", out)
		}
		if lines[1] == hostNS {
			t.Errorf("--network none shares the host's network namespace")
		}
		if ifs := strings.Join(lines[2:], " "); ifs != "lo" {
			t.Errorf("--network none: interfaces %q, want only lo", ifs)
		}
		if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(string(b)) == "1" {
			t.Log("host has ip_forward=1 too: isolation not proven by value")
		}
		// The default is none too until bridge networking exists.
		if out := d.Sh(t, nil, "readlink /proc/self/ns/net"); strings.TrimSpace(out) == hostNS {
			t.Errorf("default network shares the host's namespace")
		}
	})

	t.Run("bad-sysctl", func(t *testing.T) {
		t.Parallel()
		// A namespaced sysctl is fine, a host-wide one is refused, as Docker does.
		if res := d.RunRm(t, "--sysctl", "kernel.shmmax=1", "busybox", "true"); res.ExitCode != 0 {
			t.Errorf("kernel.shmmax (IPC namespaced): exit %d %s", res.ExitCode, res.Combined())
		}
		if res := d.RunRm(t, "--sysctl", "vm.swappiness=1", "busybox", "true"); res.ExitCode != 125 {
			t.Errorf("vm.swappiness (not namespaced): exit %d %s, want 125", res.ExitCode, res.Combined())
		}
		if res := d.RunRm(t, "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true"); res.ExitCode != 125 {
			t.Errorf("net sysctl with --network host: exit %d %s, want 125", res.ExitCode, res.Combined())
		}
	})

	t.Run("network-host", func(t *testing.T) {
		t.Parallel()
		ifaces, err := net.Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		// veths of other tests' containers come and go meanwhile.
		var want []string
		for _, i := range ifaces {
			if !strings.HasPrefix(i.Name, "veth") {
				want = append(want, i.Name)
			}
		}
		sort.Strings(want)
		hostname, _ := os.Hostname()
		out := d.Sh(t, []string{"--network", "host"}, "ls /sys/class/net | grep -v '^veth' | sort | tr '\\n' ' '; echo; hostname")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("--network host sees %v, host has %v", got, want)
		}
		if len(lines) < 2 || lines[1] != hostname {
			t.Errorf("--network host: hostname %q, want the host's %q", out, hostname)
		}
	})

	t.Run("restart-stored", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			flag string
			want ctypes.RestartPolicy
		}{
			{"always", ctypes.RestartPolicy{Name: "always"}},
			{"on-failure:3", ctypes.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}},
			{"unless-stopped", ctypes.RestartPolicy{Name: "unless-stopped"}},
			{"no", ctypes.RestartPolicy{Name: "no"}},
		} {
			name := testenv.UniqueName(t)
			d.RemoveContainerOnCleanup(t, name)
			d.PouchOK(t, "create", "--name", name, "--restart", tc.flag, "busybox", "true")
			if got := d.Inspect(t, name).HostConfig.RestartPolicy; got != tc.want {
				t.Errorf("--restart %s: stored %+v, want %+v", tc.flag, got, tc.want)
			}
			if got := strings.TrimSpace(d.PouchOK(t, "inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", name)); got != string(tc.want.Name) {
				t.Errorf("inspect -f: %q", got)
			}
		}
		if res := d.Pouch(t, nil, "create", "--restart", "sometimes", "busybox"); res.ExitCode != 125 {
			t.Errorf("--restart sometimes: exit %d", res.ExitCode)
		}
		if res := d.Pouch(t, nil, "create", "--rm", "--restart", "always", "busybox"); res.ExitCode != 125 {
			t.Errorf("--rm with --restart always: exit %d", res.ExitCode)
		}
	})
}

// TestResources checks limits in the container's cgroup on the host and
// from inside.
func TestResources(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, "-m", "64m", "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "50", "busybox", "sleep", "300")
	c := d.Inspect(t, name)
	pid := c.State.Pid
	if pid <= 0 {
		t.Fatalf("no pid: %+v", c.State)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), ":memory:/"+cgroupOf(id)+"\n") {
		t.Errorf("container not in memory cgroup /%s:\n%s", cgroupOf(id), b)
	}
	if v, err := os.ReadFile("/sys/fs/cgroup/memory/" + cgroupOf(id) + "/memory.limit_in_bytes"); err != nil || strings.TrimSpace(string(v)) != "67108864" {
		t.Errorf("memory.limit_in_bytes = %q (%v), want 67108864", v, err)
	}
	for _, tc := range []struct{ ctl, file, want string }{
		{"memory", "memory.limit_in_bytes", "67108864"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpu", "cpu.shares", "512"},
		{"cpuset", "cpuset.cpus", "0"},
		{"pids", "pids.max", "50"},
	} {
		if got := hostCgroupFile(t, pid, tc.ctl, tc.file); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.file, got, tc.want)
		}
	}
	hc := c.HostConfig
	if hc.Memory != 64<<20 || hc.NanoCPUs != 5e8 || hc.CPUShares != 512 || hc.CpusetCpus != "0" || hc.PidsLimit == nil || *hc.PidsLimit != 50 {
		t.Errorf("HostConfig resources: %+v", hc.Resources)
	}
	// The pids limit holds inside.
	res := d.Pouch(t, nil, "run", "--rm", "--pids-limit", "5", "busybox", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 30 & done")
	if !strings.Contains(res.Stderr, "can't fork") && !strings.Contains(res.Stderr, "Resource temporarily unavailable") {
		t.Errorf("--pids-limit 5 let 9 processes fork: exit %d %q", res.ExitCode, res.Combined())
	}
	if res := d.RunRm(t, "-m", "1k", "busybox", "true"); res.ExitCode != 125 {
		t.Errorf("-m 1k: exit %d, want 125 (minimum is 6MB)", res.ExitCode)
	}
}

// TestOOMKilled runs a container into its memory limit: the kernel kills
// it (137) and inspect says so.
func TestOOMKilled(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	// /dev/shm is a tmpfs charged to the container's memory cgroup.
	res := d.Pouch(t, nil, "run", "--name", name, "-m", "8m", "busybox", "dd", "if=/dev/zero", "of=/dev/shm/x", "bs=1M", "count=64")
	if res.ExitCode != 137 {
		t.Errorf("exit %d, want 137: %s", res.ExitCode, res.Combined())
	}
	// Recorded with the exit, not only from the shim's best-effort event.
	if c := d.Inspect(t, name); !c.State.OOMKilled || c.State.ExitCode != 137 {
		t.Errorf("state after an OOM kill: %+v", c.State)
	}
}
