package spec

import (
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// shmMount returns the /dev/shm mount for the IPC mode: a private tmpfs of size (default
// 64 MiB), the host's /dev/shm for "host", nil (no mount) for "none".
func shmMount(mode container.IpcMode, size int64) (*specs.Mount, error) {
	if size < 0 {
		return nil, invalid("SHM size can not be less than 0")
	}
	if size == 0 {
		size = defaultShmSize
	}
	switch {
	case mode.IsNone():
		return nil, nil
	case mode.IsHost():
		return &specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "rprivate"}}, nil
	case mode.IsEmpty(), mode.IsPrivate(), mode.IsShareable():
		return &specs.Mount{
			Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(size, 10)},
		}, nil
	}
	return nil, invalid("invalid IPC mode %q", mode)
}

// withShm replaces the default /dev/shm mount; nil removes it.
func withShm(m *specs.Mount) option {
	return func(s *specs.Spec) error {
		s.Mounts = slices.DeleteFunc(s.Mounts, func(x specs.Mount) bool { return x.Destination == "/dev/shm" })
		if m != nil {
			s.Mounts = append(s.Mounts, *m)
		}
		return nil
	}
}

// withEtcFiles bind-mounts the hosts, hostname and resolv.conf files pouchd generated;
// empty paths are skipped. They are read-only when the rootfs is.
func withEtcFiles(hosts, hostname, resolvConf string, readonly bool) option {
	return func(s *specs.Spec) error {
		opts := []string{"rbind", "rprivate"}
		if readonly {
			opts = append(opts, "ro")
		}
		var ms []specs.Mount
		for _, f := range []struct{ src, dst string }{
			{hosts, "/etc/hosts"},
			{hostname, "/etc/hostname"},
			{resolvConf, "/etc/resolv.conf"},
		} {
			if f.src != "" {
				ms = append(ms, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: slices.Clone(opts)})
			}
		}
		return withMounts(ms)(s)
	}
}

// tmpfsMounts turns HostConfig.Tmpfs (destination → "size=64m,mode=1777,...") into mounts,
// sorted by destination. Docker's defaults noexec,nosuid,nodev apply unless overridden.
func tmpfsMounts(tmpfs map[string]string) ([]specs.Mount, error) {
	var ms []specs.Mount
	for dst, data := range tmpfs {
		if !path.IsAbs(dst) || path.Clean(dst) == "/" {
			return nil, invalid("invalid tmpfs mount point %q: must be an absolute path other than /", dst)
		}
		opts := []string{"noexec", "nosuid", "nodev", "rprivate"}
		if data != "" {
			opts = append(opts, strings.Split(data, ",")...)
		}
		ms = append(ms, specs.Mount{Destination: path.Clean(dst), Type: "tmpfs", Source: "tmpfs", Options: mergeTmpfsOptions(opts)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Destination < ms[j].Destination })
	return ms, nil
}

// tmpfsFlagGroups are mutually exclusive mount flags: a later one replaces an earlier one.
var tmpfsFlagGroups = [][]string{
	{"ro", "rw"},
	{"exec", "noexec"},
	{"suid", "nosuid"},
	{"dev", "nodev"},
	{"atime", "noatime", "relatime", "strictatime"},
	{"diratime", "nodiratime"},
	{"sync", "async"},
	{"private", "rprivate", "shared", "rshared", "slave", "rslave"},
}

// mergeTmpfsOptions keeps the last of each group of exclusive flags and the last value of
// each key=value option, in order of first appearance.
func mergeTmpfsOptions(opts []string) []string {
	var out []string
	for _, o := range opts {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		same := func(x string) bool { return x == o }
		if key, _, ok := strings.Cut(o, "="); ok {
			same = func(x string) bool { return strings.HasPrefix(x, key+"=") }
		} else {
			for _, g := range tmpfsFlagGroups {
				if slices.Contains(g, o) {
					same = func(x string) bool { return slices.Contains(g, x) }
					break
				}
			}
		}
		if i := slices.IndexFunc(out, same); i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// withMounts adds mounts; a mount replaces an existing one with the same destination.
func withMounts(ms []specs.Mount) option {
	return func(s *specs.Spec) error {
		for _, m := range ms {
			m.Destination = path.Clean(m.Destination)
			if i := slices.IndexFunc(s.Mounts, func(x specs.Mount) bool { return x.Destination == m.Destination }); i >= 0 {
				s.Mounts[i] = m
			} else {
				s.Mounts = append(s.Mounts, m)
			}
		}
		return nil
	}
}

// withWritableSys makes /sys read-write for privileged containers and /sys/fs/cgroup
// read-write when asked (privileged, or writable-cgroups=true), as Docker does.
func withWritableSys(sys, cgroup bool) option {
	return func(s *specs.Spec) error {
		for i, m := range s.Mounts {
			if (sys && m.Type == "sysfs") || (cgroup && m.Type == "cgroup") {
				s.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
			}
		}
		return nil
	}
}

// withSortedMounts orders mounts by destination depth, keeping the order of equally deep
// ones, so a parent (e.g. /dev) is always mounted before its children (/dev/pts).
func withSortedMounts() option {
	return func(s *specs.Spec) error {
		depth := func(p string) int { return strings.Count(path.Clean(p), "/") }
		sort.SliceStable(s.Mounts, func(i, j int) bool { return depth(s.Mounts[i].Destination) < depth(s.Mounts[j].Destination) })
		return nil
	}
}
