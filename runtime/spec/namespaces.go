package spec

import (
	"fmt"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// namespaces returns the namespaces to create or join, in Docker's order. Network: none for
// "host", netnsPath when given (CNI, or another container's), otherwise a new empty one.
// PID, IPC and UTS are shared with the host for mode "host". A cgroup namespace is created
// for CgroupnsMode "private", and by default on cgroup v2 (Docker's defaults).
func namespaces(hc *container.HostConfig, netnsPath string, cgroup2 bool) ([]specs.LinuxNamespace, error) {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}

	switch {
	case hc.NetworkMode.IsHost():
	case netnsPath != "":
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: netnsPath})
	case hc.NetworkMode.IsContainer():
		return nil, fmt.Errorf("network mode %q needs the other container's network namespace path: %w",
			hc.NetworkMode, errdefs.ErrNotImplemented)
	default:
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}

	if !hc.UTSMode.IsHost() {
		if !hc.UTSMode.Valid() {
			return nil, invalid("invalid UTS mode %q", hc.UTSMode)
		}
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace})
	}
	if !hc.PidMode.IsHost() {
		if !hc.PidMode.Valid() {
			return nil, invalid("invalid PID mode %q", hc.PidMode)
		}
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	if !hc.IpcMode.IsHost() {
		if !hc.IpcMode.Valid() {
			return nil, invalid("invalid IPC mode %q", hc.IpcMode)
		}
		ns = append(ns, specs.LinuxNamespace{Type: specs.IPCNamespace})
	}

	switch hc.CgroupnsMode {
	case container.CgroupnsModePrivate:
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	case container.CgroupnsModeHost:
	case container.CgroupnsModeEmpty:
		if cgroup2 {
			ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		}
	default:
		return nil, invalid("invalid cgroup namespace mode %q", hc.CgroupnsMode)
	}
	return ns, nil
}

func withNamespaces(ns []specs.LinuxNamespace) option {
	return func(s *specs.Spec) error {
		s.Linux.Namespaces = slices.Clone(ns)
		return nil
	}
}

// hostname returns the container's hostname: the configured one, else the host's for host
// networking, else the first 12 characters of the id. "" (none set) when the container shares
// the host's UTS namespace.
func hostname(id, configured string, hc *container.HostConfig, hostHostname string) string {
	switch {
	case hc.UTSMode.IsHost():
		return ""
	case configured != "":
		return configured
	case hc.NetworkMode.IsHost():
		return hostHostname
	case len(id) > 12:
		return id[:12]
	}
	return id
}

func withHostname(hostname, domainname string) option {
	return func(s *specs.Spec) error {
		s.Hostname = hostname
		s.Domainname = domainname
		if hostname == "" {
			s.Domainname = ""
		}
		return nil
	}
}
