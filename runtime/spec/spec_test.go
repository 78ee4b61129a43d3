package spec

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testHost is a fixed host so tests do not depend on the machine.
func testHost() host {
	return host{
		caps:           capabilitiesUpTo(40),
		swap:           true,
		swappiness:     true,
		oomKillDisable: true,
		blkioWeight:    true,
		numCPU:         4,
		cpus:           "0-3",
		mems:           "0",
		hostname:       "testhost",
		rlimits: []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 20000},
			{Type: "RLIMIT_NPROC", Soft: 4096, Hard: 4096},
		},
		rlimitHard: map[string]uint64{"RLIMIT_NOFILE": 20000, "RLIMIT_NPROC": 4096, "RLIMIT_CORE": ^uint64(0)},
		devices: func() ([]specs.LinuxDevice, error) {
			return []specs.LinuxDevice{{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0}}, nil
		},
	}
}

// writeRootfs makes a rootfs holding the given files (path → content).
func writeRootfs(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n" +
		"app:x:1000:1000:App:/home/app:/bin/sh\n"
	testGroup = "root:x:0:\n" +
		"daemon:x:1:\n" +
		"wheel:x:10:root,app\n" +
		"audio:x:29:app\n" +
		"app:x:1000:\n" +
		"staff:x:50:\n"
)

// testInput returns a minimal valid Input over a rootfs with passwd and group files.
func testInput(t *testing.T) Input {
	return Input{
		ID:         testID,
		Config:     &container.Config{},
		HostConfig: &container.HostConfig{},
		Args:       []string{"/bin/sh", "-c", "true"},
		Env:        []string{"PATH=/usr/bin:/bin"},
		RootfsPath: writeRootfs(t, map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup}),
	}
}

func mustBuild(t *testing.T, in Input) *specs.Spec {
	t.Helper()
	s, err := build(context.Background(), in, testHost())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("spec is not JSON-marshalable: %v", err)
	}
	return s
}

func mountAt(s *specs.Spec, dst string) (specs.Mount, bool) {
	for _, m := range s.Mounts {
		if m.Destination == dst {
			return m, true
		}
	}
	return specs.Mount{}, false
}

func namespaceTypes(s *specs.Spec) []specs.LinuxNamespaceType {
	var out []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		out = append(out, n.Type)
	}
	return out
}

func TestBuildDefaults(t *testing.T) {
	in := testInput(t)
	in.HostsPath, in.HostnamePath, in.ResolvConfPath = "/run/pouch/h", "/run/pouch/hn", "/run/pouch/r"
	in.CgroupsPath = "/pouch/" + testID
	s := mustBuild(t, in)

	if s.Version != specs.Version {
		t.Errorf("version %q", s.Version)
	}
	p := s.Process
	if !slices.Equal(p.Args, in.Args) || !slices.Equal(p.Env, in.Env) || p.Cwd != "/" || p.Terminal {
		t.Errorf("process = %+v", p)
	}
	if p.User.UID != 0 || p.User.GID != 0 || !slices.Equal(p.User.AdditionalGids, []uint32{0, 10}) {
		t.Errorf("user = %+v, want root with groups root(0) and wheel(10)", p.User)
	}
	if got := capabilityMask(p.Capabilities.Effective); got != 0xa80425fb {
		t.Errorf("CapEff = %016x, want 00000000a80425fb", got)
	}
	if p.NoNewPrivileges || p.OOMScoreAdj == nil || *p.OOMScoreAdj != 0 {
		t.Errorf("NoNewPrivileges %v, OOMScoreAdj %v", p.NoNewPrivileges, p.OOMScoreAdj)
	}
	if !slices.Equal(p.Rlimits, testHost().rlimits) {
		t.Errorf("rlimits = %v", p.Rlimits)
	}
	if s.Root.Path != in.RootfsPath || s.Root.Readonly {
		t.Errorf("root = %+v", s.Root)
	}
	if s.Hostname != testID[:12] {
		t.Errorf("hostname = %q", s.Hostname)
	}
	if s.Linux.CgroupsPath != in.CgroupsPath {
		t.Errorf("cgroups path = %q", s.Linux.CgroupsPath)
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno {
		t.Errorf("seccomp = %+v, want Docker's default profile", s.Linux.Seccomp)
	}
	if !slices.Equal(s.Linux.MaskedPaths, defaultMaskedPaths()) || !slices.Equal(s.Linux.ReadonlyPaths, defaultReadonlyPaths()) {
		t.Errorf("masked %v, readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	wantNS := []specs.LinuxNamespaceType{specs.MountNamespace, specs.NetworkNamespace, specs.UTSNamespace, specs.PIDNamespace, specs.IPCNamespace}
	if !slices.Equal(namespaceTypes(s), wantNS) {
		t.Errorf("namespaces = %v, want %v", namespaceTypes(s), wantNS)
	}
	var dsts []string
	for _, m := range s.Mounts {
		dsts = append(dsts, m.Destination)
	}
	wantMounts := []string{"/proc", "/dev", "/sys", "/dev/pts", "/dev/mqueue", "/dev/shm", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/sys/fs/cgroup"}
	if !slices.Equal(dsts, wantMounts) {
		t.Errorf("mounts = %v, want %v", dsts, wantMounts)
	}
	if m, _ := mountAt(s, "/sys"); !slices.Contains(m.Options, "ro") {
		t.Errorf("/sys options %v, want ro", m.Options)
	}
	if m, _ := mountAt(s, "/etc/hosts"); m.Source != "/run/pouch/h" || m.Type != "bind" || slices.Contains(m.Options, "ro") {
		t.Errorf("/etc/hosts = %+v", m)
	}
	if s.Linux.Resources.Memory != nil || s.Linux.Resources.CPU != nil || s.Linux.Resources.Pids != nil {
		t.Errorf("resources set without a request: %+v", s.Linux.Resources)
	}
	if r := s.Linux.Resources.Devices; len(r) == 0 || r[0].Allow || r[0].Access != "rwm" {
		t.Errorf("device rules must start with deny all: %+v", r)
	}
	if len(s.Linux.Devices) != 6 {
		t.Errorf("devices = %+v, want the 6 default nodes", s.Linux.Devices)
	}
}

// TestBuildDeviceRules checks the default rules allow exactly the standard devices.
func TestBuildDeviceRules(t *testing.T) {
	s := mustBuild(t, testInput(t))
	allowed := func(typ string, major, minor int64) bool {
		ok := false
		for _, r := range s.Linux.Resources.Devices {
			if (r.Type == "" || r.Type == "a" || r.Type == typ) &&
				(r.Major == nil || *r.Major == major) && (r.Minor == nil || *r.Minor == minor) && r.Access == "rwm" {
				ok = r.Allow
			}
		}
		return ok
	}
	for _, tc := range []struct {
		name         string
		typ          string
		major, minor int64
		want         bool
	}{
		{"null", "c", 1, 3, true},
		{"zero", "c", 1, 5, true},
		{"full", "c", 1, 7, true},
		{"random", "c", 1, 8, true},
		{"urandom", "c", 1, 9, true},
		{"tty", "c", 5, 0, true},
		{"console", "c", 5, 1, true},
		{"ptmx", "c", 5, 2, true},
		{"pts/3", "c", 136, 3, true},
		{"mem", "c", 1, 1, false},
		{"sda", "b", 8, 0, false},
		{"fuse", "c", 10, 229, false},
	} {
		if got := allowed(tc.typ, tc.major, tc.minor); got != tc.want {
			t.Errorf("%s: allowed = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBuildInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Input)
		class  error
	}{
		{"no id", func(in *Input) { in.ID = "" }, errdefs.ErrInvalidArgument},
		{"relative rootfs", func(in *Input) { in.RootfsPath = "rootfs" }, errdefs.ErrInvalidArgument},
		{"no args", func(in *Input) { in.Args = nil }, errdefs.ErrInvalidArgument},
		{"relative netns", func(in *Input) { in.NetNSPath = "netns" }, errdefs.ErrInvalidArgument},
		{"relative mount destination", func(in *Input) { in.Mounts = []specs.Mount{{Destination: "data", Type: "bind", Source: "/srv"}} }, errdefs.ErrInvalidArgument},
		{"relative workdir", func(in *Input) { in.Config.WorkingDir = "app" }, errdefs.ErrInvalidArgument},
		{"unknown user", func(in *Input) { in.Config.User = "nobody" }, errdefs.ErrInvalidArgument},
		{"unknown capability", func(in *Input) { in.HostConfig.CapAdd = []string{"CAP_FLY"} }, errdefs.ErrInvalidArgument},
		{"unknown security opt", func(in *Input) { in.HostConfig.SecurityOpt = []string{"foo=bar"} }, errdefs.ErrInvalidArgument},
		{"bad sysctl", func(in *Input) { in.HostConfig.Sysctls = map[string]string{"kernel.panic": "1"} }, errdefs.ErrInvalidArgument},
		{"bad ulimit", func(in *Input) { in.HostConfig.Ulimits = []*container.Ulimit{{Name: "bogus", Soft: 1, Hard: 1}} }, errdefs.ErrInvalidArgument},
		{"bad oom score", func(in *Input) { in.HostConfig.OomScoreAdj = 1001 }, errdefs.ErrInvalidArgument},
		{"bad tmpfs", func(in *Input) { in.HostConfig.Tmpfs = map[string]string{"run": ""} }, errdefs.ErrInvalidArgument},
		{"negative shm", func(in *Input) { in.HostConfig.ShmSize = -1 }, errdefs.ErrInvalidArgument},
		{"bad cgroupns", func(in *Input) { in.HostConfig.CgroupnsMode = "shared" }, errdefs.ErrInvalidArgument},
		{"pid container", func(in *Input) { in.HostConfig.PidMode = "container:abc" }, errdefs.ErrNotImplemented},
		{"userns", func(in *Input) { in.HostConfig.UsernsMode = "private" }, errdefs.ErrNotImplemented},
		{"realtime", func(in *Input) { in.HostConfig.CPURealtimeRuntime = 950000 }, errdefs.ErrNotImplemented},
		{"network container without netns", func(in *Input) { in.HostConfig.NetworkMode = "container:abc" }, errdefs.ErrNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(t)
			tc.mutate(&in)
			_, err := build(context.Background(), in, testHost())
			if !errors.Is(err, tc.class) {
				t.Fatalf("err = %v, want class %v", err, tc.class)
			}
		})
	}
}

func TestBuildNilConfigs(t *testing.T) {
	in := testInput(t)
	in.Config, in.HostConfig = nil, nil
	s := mustBuild(t, in)
	if s.Hostname != testID[:12] || s.Linux.Seccomp == nil {
		t.Errorf("nil configs must give the defaults: hostname %q", s.Hostname)
	}
}

func TestBuildProcess(t *testing.T) {
	in := testInput(t)
	in.Config.WorkingDir = "/srv/app/"
	in.Config.Tty = true
	in.HostConfig.ConsoleSize = [2]uint{24, 80}
	umask := uint32(0o027)
	in.HostConfig.Umask = &umask
	s := mustBuild(t, in)
	p := s.Process
	if p.Cwd != "/srv/app" || !p.Terminal || p.ConsoleSize == nil || p.ConsoleSize.Height != 24 || p.ConsoleSize.Width != 80 {
		t.Errorf("process = %+v", p)
	}
	if p.User.Umask == nil || *p.User.Umask != 0o027 {
		t.Errorf("umask = %v", p.User.Umask)
	}
}

func TestBuildReadonlyRootfs(t *testing.T) {
	for _, ro := range []bool{false, true} {
		in := testInput(t)
		in.HostsPath = "/run/pouch/hosts"
		in.HostConfig.ReadonlyRootfs = ro
		s := mustBuild(t, in)
		if s.Root.Readonly != ro {
			t.Errorf("readonly %v: root = %+v", ro, s.Root)
		}
		if m, _ := mountAt(s, "/etc/hosts"); slices.Contains(m.Options, "ro") != ro {
			t.Errorf("readonly %v: /etc/hosts options %v", ro, m.Options)
		}
	}
}

func TestBuildNetwork(t *testing.T) {
	for _, tc := range []struct {
		name         string
		mode         container.NetworkMode
		netns        string
		hostname     string
		wantNet      bool
		wantPath     string
		wantHostname string
	}{
		{name: "default", mode: "", wantNet: true, wantHostname: testID[:12]},
		{name: "none", mode: "none", wantNet: true, wantHostname: testID[:12]},
		{name: "bridge with cni netns", mode: "bridge", netns: "/run/netns/x", wantNet: true, wantPath: "/run/netns/x", wantHostname: testID[:12]},
		{name: "container with netns", mode: "container:other", netns: "/proc/42/ns/net", wantNet: true, wantPath: "/proc/42/ns/net", wantHostname: testID[:12]},
		{name: "host", mode: "host", wantNet: false, wantHostname: "testhost"},
		{name: "host ignores netns", mode: "host", netns: "/run/netns/x", wantNet: false, wantHostname: "testhost"},
		{name: "host with hostname", mode: "host", hostname: "web", wantNet: false, wantHostname: "web"},
		{name: "none with hostname", mode: "none", hostname: "web", wantNet: true, wantHostname: "web"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(t)
			in.HostConfig.NetworkMode = tc.mode
			in.NetNSPath = tc.netns
			in.Config.Hostname = tc.hostname
			s := mustBuild(t, in)
			var net *specs.LinuxNamespace
			for i, n := range s.Linux.Namespaces {
				if n.Type == specs.NetworkNamespace {
					net = &s.Linux.Namespaces[i]
				}
			}
			if (net != nil) != tc.wantNet || (net != nil && net.Path != tc.wantPath) {
				t.Errorf("network namespace = %+v, want present=%v path=%q", net, tc.wantNet, tc.wantPath)
			}
			if s.Hostname != tc.wantHostname {
				t.Errorf("hostname = %q, want %q", s.Hostname, tc.wantHostname)
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	all := []specs.LinuxNamespaceType{specs.MountNamespace, specs.NetworkNamespace, specs.UTSNamespace, specs.PIDNamespace, specs.IPCNamespace}
	for _, tc := range []struct {
		name    string
		hc      container.HostConfig
		cgroup2 bool
		want    []specs.LinuxNamespaceType
	}{
		{"defaults v1", container.HostConfig{}, false, all},
		{"defaults v2 add cgroupns", container.HostConfig{}, true, append(slices.Clone(all), specs.CgroupNamespace)},
		{"cgroupns host on v2", container.HostConfig{CgroupnsMode: "host"}, true, all},
		{"cgroupns private on v1", container.HostConfig{CgroupnsMode: "private"}, false, append(slices.Clone(all), specs.CgroupNamespace)},
		{"pid host", container.HostConfig{PidMode: "host"}, false,
			[]specs.LinuxNamespaceType{specs.MountNamespace, specs.NetworkNamespace, specs.UTSNamespace, specs.IPCNamespace}},
		{"ipc host", container.HostConfig{IpcMode: "host"}, false,
			[]specs.LinuxNamespaceType{specs.MountNamespace, specs.NetworkNamespace, specs.UTSNamespace, specs.PIDNamespace}},
		{"uts host", container.HostConfig{UTSMode: "host"}, false,
			[]specs.LinuxNamespaceType{specs.MountNamespace, specs.NetworkNamespace, specs.PIDNamespace, specs.IPCNamespace}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, err := namespaces(&tc.hc, "", tc.cgroup2)
			if err != nil {
				t.Fatal(err)
			}
			var got []specs.LinuxNamespaceType
			for _, n := range ns {
				got = append(got, n.Type)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("namespaces = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHostname(t *testing.T) {
	for _, tc := range []struct {
		name, id, configured string
		hc                   container.HostConfig
		want                 string
	}{
		{"default is short id", testID, "", container.HostConfig{}, testID[:12]},
		{"short id kept", "abc", "", container.HostConfig{}, "abc"},
		{"configured", testID, "web", container.HostConfig{}, "web"},
		{"host network", testID, "", container.HostConfig{NetworkMode: "host"}, "host.example"},
		{"host uts sets none", testID, "web", container.HostConfig{UTSMode: "host"}, ""},
	} {
		if got := hostname(tc.id, tc.configured, &tc.hc, "host.example"); got != tc.want {
			t.Errorf("%s: hostname = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestBuildPrivileged(t *testing.T) {
	in := testInput(t)
	in.HostConfig.Privileged = true
	in.HostConfig.CapDrop = []string{"ALL"} // ignored, as in Docker
	s := mustBuild(t, in)
	if got := len(s.Process.Capabilities.Bounding); got != 41 {
		t.Errorf("privileged bounding set has %d capabilities, want all 41 of the host", got)
	}
	if s.Linux.Seccomp != nil {
		t.Error("privileged containers run without seccomp")
	}
	if len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("masked %v readonly %v, want none", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	if r := s.Linux.Resources.Devices; len(r) != 1 || !r[0].Allow || r[0].Access != "rwm" || r[0].Type != "" {
		t.Errorf("device rules = %+v, want allow all", r)
	}
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/sda" {
		t.Errorf("devices = %+v, want the host's", s.Linux.Devices)
	}
	for _, dst := range []string{"/sys", "/sys/fs/cgroup"} {
		if m, _ := mountAt(s, dst); slices.Contains(m.Options, "ro") {
			t.Errorf("%s options %v, want read-write", dst, m.Options)
		}
	}
}

func TestBuildAnnotationsAndSysctls(t *testing.T) {
	in := testInput(t)
	in.HostConfig.Annotations = map[string]string{"a": "b"}
	in.HostConfig.Sysctls = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000000"}
	s := mustBuild(t, in)
	if s.Annotations["a"] != "b" || s.Linux.Sysctl["net.ipv4.ip_forward"] != "1" || s.Linux.Sysctl["kernel.shmmax"] != "1000000" {
		t.Errorf("annotations %v sysctls %v", s.Annotations, s.Linux.Sysctl)
	}
}

func TestBuildExtraMountsReplaceDefaults(t *testing.T) {
	in := testInput(t)
	in.Mounts = []specs.Mount{
		{Destination: "/data/sub", Type: "bind", Source: "/srv/sub", Options: []string{"rbind"}},
		{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind"}},
		{Destination: "/dev/shm/", Type: "bind", Source: "/srv/shm", Options: []string{"rbind"}},
	}
	s := mustBuild(t, in)
	if m, _ := mountAt(s, "/dev/shm"); m.Source != "/srv/shm" {
		t.Errorf("/dev/shm = %+v, want the caller's mount", m)
	}
	n := 0
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d mounts on /dev/shm, want 1", n)
	}
	idx := func(dst string) int {
		return slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == dst })
	}
	if idx("/data") > idx("/data/sub") {
		t.Error("parent mount /data must come before /data/sub")
	}
}

// TestBuildHostFacts runs Build against the real host: the spec must come out valid.
func TestBuildHostFacts(t *testing.T) {
	in := testInput(t)
	s, err := Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	if s.Process.OOMScoreAdj == nil || len(s.Process.Rlimits) == 0 {
		t.Errorf("process = %+v", s.Process)
	}
}
