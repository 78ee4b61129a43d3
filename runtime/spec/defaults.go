package spec

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultShmSize is Docker's default size of /dev/shm: 64 MiB.
const defaultShmSize = 64 << 20

// defaultSpec is Docker's default Linux spec, before any option is applied.
func defaultSpec() *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Cwd:          "/",
			Capabilities: &specs.LinuxCapabilities{},
		},
		Root:   &specs.Root{},
		Mounts: defaultMounts(),
		Linux: &specs.Linux{
			MaskedPaths:   defaultMaskedPaths(),
			ReadonlyPaths: defaultReadonlyPaths(),
			Namespaces:    []specs.LinuxNamespace{},
			Devices:       defaultDevices(),
			Resources:     &specs.LinuxResources{Devices: defaultDeviceRules()},
		},
	}
}

// defaultMounts are the mounts Docker gives every container, in Docker's order.
// /sys/fs/cgroup uses the "cgroup" type on both cgroup v1 and v2: runc mounts cgroup2
// itself on a unified host.
func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
	}
}

// defaultMaskedPaths are Docker's masked paths.
func defaultMaskedPaths() []string {
	return []string{
		"/proc/asound",
		"/proc/acpi",
		"/proc/interrupts",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/proc/sched_debug",
		"/proc/scsi",
		"/sys/firmware",
		"/sys/devices/virtual/powercap",
	}
}

// defaultReadonlyPaths are Docker's read-only paths.
func defaultReadonlyPaths() []string {
	return []string{
		"/proc/bus",
		"/proc/fs",
		"/proc/irq",
		"/proc/sys",
		"/proc/sysrq-trigger",
	}
}

// defaultDevices are the device nodes runc creates in every container's /dev. Listing them
// makes the spec self-describing for any OCI runtime; runc de-duplicates them.
func defaultDevices() []specs.LinuxDevice {
	dev := func(path string, major, minor int64) specs.LinuxDevice {
		mode, root := os.FileMode(0o666), uint32(0)
		return specs.LinuxDevice{Path: path, Type: "c", Major: major, Minor: minor, FileMode: &mode, UID: &root, GID: &root}
	}
	return []specs.LinuxDevice{
		dev("/dev/null", 1, 3),
		dev("/dev/zero", 1, 5),
		dev("/dev/full", 1, 7),
		dev("/dev/random", 1, 8),
		dev("/dev/urandom", 1, 9),
		dev("/dev/tty", 5, 0),
	}
}

// defaultDeviceRules deny every device, then allow the standard character devices, mknod of
// any device (as runc does), and the pseudo-terminals.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	allow := func(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
		if major >= 0 {
			r.Major = &major
		}
		if minor >= 0 {
			r.Minor = &minor
		}
		return r
	}
	const wildcard = -1
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		allow("c", wildcard, wildcard, "m"), // mknod of any character device
		allow("b", wildcard, wildcard, "m"), // mknod of any block device
		allow("c", 1, 3, "rwm"),             // /dev/null
		allow("c", 1, 5, "rwm"),             // /dev/zero
		allow("c", 1, 7, "rwm"),             // /dev/full
		allow("c", 1, 8, "rwm"),             // /dev/random
		allow("c", 1, 9, "rwm"),             // /dev/urandom
		allow("c", 5, 0, "rwm"),             // /dev/tty
		allow("c", 5, 1, "rwm"),             // /dev/console
		allow("c", 5, 2, "rwm"),             // /dev/ptmx
		allow("c", 136, wildcard, "rwm"),    // /dev/pts/*
	}
}
