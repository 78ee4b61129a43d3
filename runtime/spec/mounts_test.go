package spec

import (
	"errors"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestBuildShm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ipc      container.IpcMode
		size     int64
		want     *specs.Mount
		wantNone bool
	}{
		{name: "default 64MiB", want: &specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}}},
		{name: "ShmSize", size: 128 << 20, want: &specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=134217728"}}},
		{name: "private", ipc: "private", size: 1 << 20, want: &specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=1048576"}}},
		{name: "host", ipc: "host", want: &specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm",
			Options: []string{"rbind", "rprivate"}}},
		{name: "none", ipc: "none", wantNone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(t)
			in.HostConfig.IpcMode, in.HostConfig.ShmSize = tc.ipc, tc.size
			s := mustBuild(t, in)
			m, ok := mountAt(s, "/dev/shm")
			if tc.wantNone {
				if ok {
					t.Fatalf("/dev/shm mounted: %+v", m)
				}
				return
			}
			if !ok || m.Type != tc.want.Type || m.Source != tc.want.Source || !slices.Equal(m.Options, tc.want.Options) {
				t.Errorf("/dev/shm = %+v, want %+v", m, *tc.want)
			}
		})
	}
}

func TestTmpfsMounts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tmpfs   map[string]string
		want    []specs.Mount
		wantErr bool
	}{
		{name: "defaults", tmpfs: map[string]string{"/run": ""}, want: []specs.Mount{
			{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "rprivate"}}}},
		{name: "size and mode", tmpfs: map[string]string{"/tmp": "size=64m,mode=1777"}, want: []specs.Mount{
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"}}}},
		{name: "exec overrides noexec, last size wins", tmpfs: map[string]string{"/app/": "exec,size=1m,size=2m,ro"}, want: []specs.Mount{
			{Destination: "/app", Type: "tmpfs", Source: "tmpfs", Options: []string{"exec", "nosuid", "nodev", "rprivate", "size=2m", "ro"}}}},
		{name: "sorted", tmpfs: map[string]string{"/b": "", "/a": ""}, want: []specs.Mount{
			{Destination: "/a", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "rprivate"}},
			{Destination: "/b", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "rprivate"}}}},
		{name: "relative", tmpfs: map[string]string{"run": ""}, wantErr: true},
		{name: "root", tmpfs: map[string]string{"/": ""}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tmpfsMounts(tc.tmpfs)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("err = %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("mounts = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].Destination != tc.want[i].Destination || got[i].Type != tc.want[i].Type ||
					!slices.Equal(got[i].Options, tc.want[i].Options) {
					t.Errorf("mount %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestBuildTmpfsReplacesShm(t *testing.T) {
	in := testInput(t)
	in.HostConfig.Tmpfs = map[string]string{"/dev/shm": "size=1g", "/run": "size=1m"}
	s := mustBuild(t, in)
	if m, _ := mountAt(s, "/dev/shm"); m.Source != "tmpfs" || !slices.Contains(m.Options, "size=1g") {
		t.Errorf("/dev/shm = %+v", m)
	}
	if m, ok := mountAt(s, "/run"); !ok || !slices.Contains(m.Options, "size=1m") {
		t.Errorf("/run = %+v", m)
	}
}

func TestEtcFiles(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		hosts, hostname, resolv string
		want                    []string
	}{
		{name: "none"},
		{name: "all", hosts: "/h", hostname: "/hn", resolv: "/r", want: []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}},
		{name: "only resolv.conf", resolv: "/r", want: []string{"/etc/resolv.conf"}},
	} {
		s := &specs.Spec{}
		if err := withEtcFiles(tc.hosts, tc.hostname, tc.resolv, false)(s); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range s.Mounts {
			got = append(got, m.Destination)
			if m.Type != "bind" || !slices.Equal(m.Options, []string{"rbind", "rprivate"}) {
				t.Errorf("%s: mount %+v", tc.name, m)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: mounts %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWritableSys(t *testing.T) {
	for _, tc := range []struct {
		name            string
		opts            []string
		privileged      bool
		sysRO, cgroupRO bool
	}{
		{name: "default", sysRO: true, cgroupRO: true},
		{name: "privileged", privileged: true},
		{name: "writable cgroups", opts: []string{"writable-cgroups=true"}, sysRO: true},
		{name: "privileged with read-only cgroups", opts: []string{"writable-cgroups=false"}, privileged: true, cgroupRO: true},
	} {
		in := testInput(t)
		in.HostConfig.SecurityOpt, in.HostConfig.Privileged = tc.opts, tc.privileged
		s := mustBuild(t, in)
		sys, _ := mountAt(s, "/sys")
		cg, _ := mountAt(s, "/sys/fs/cgroup")
		if slices.Contains(sys.Options, "ro") != tc.sysRO || slices.Contains(cg.Options, "ro") != tc.cgroupRO {
			t.Errorf("%s: /sys %v, /sys/fs/cgroup %v", tc.name, sys.Options, cg.Options)
		}
		if cg.Type != "cgroup" {
			t.Errorf("%s: /sys/fs/cgroup type %q, want cgroup", tc.name, cg.Type)
		}
	}
}
