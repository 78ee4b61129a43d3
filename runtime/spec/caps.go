package spec

import (
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capNames maps capability numbers to names; the unix constants as keys keep them aligned.
var capNames = [...]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// allCapabilities is the special value of CapAdd and CapDrop meaning every capability.
const allCapabilities = "ALL"

// DefaultCapabilities returns Docker's default capability set, in Docker's order
// (CapEff 00000000a80425fb).
func DefaultCapabilities() []string {
	return []string{
		"CAP_CHOWN",
		"CAP_DAC_OVERRIDE",
		"CAP_FSETID",
		"CAP_FOWNER",
		"CAP_MKNOD",
		"CAP_NET_RAW",
		"CAP_SETGID",
		"CAP_SETUID",
		"CAP_SETFCAP",
		"CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT",
		"CAP_KILL",
		"CAP_AUDIT_WRITE",
	}
}

// NormalizeCapability returns the canonical name of a capability given with or without the
// CAP_ prefix, in any case ("net_admin" → "CAP_NET_ADMIN"); "all" becomes "ALL".
// An unknown capability is an ErrInvalidArgument.
func NormalizeCapability(c string) (string, error) {
	name := strings.ToUpper(strings.TrimSpace(c))
	if name == allCapabilities {
		return name, nil
	}
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	if !slices.Contains(capNames[:], name) {
		return "", invalid("unknown capability: %q", c)
	}
	return name, nil
}

// NormalizeCapabilities normalises each capability with NormalizeCapability.
func NormalizeCapabilities(caps []string) ([]string, error) {
	out := make([]string, 0, len(caps))
	for _, c := range caps {
		n, err := NormalizeCapability(c)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// capabilities applies CapAdd and CapDrop to Docker's default set the way Docker does:
// "ALL" in add means every available capability minus drop; "ALL" in drop means only add.
// available lists the capabilities this daemon can grant; privileged containers get all of
// them. Defaults the daemon itself lacks are left out; adding one is an error.
func capabilities(available, add, drop []string, privileged bool) ([]string, error) {
	if privileged {
		return slices.Clone(available), nil
	}
	add, err := NormalizeCapabilities(add)
	if err != nil {
		return nil, err
	}
	drop, err = NormalizeCapabilities(drop)
	if err != nil {
		return nil, err
	}
	for _, c := range add {
		if c != allCapabilities && !slices.Contains(available, c) {
			return nil, invalid("capability %s is not available on this host", c)
		}
	}

	var caps []string
	switch {
	case slices.Contains(add, allCapabilities):
		for _, c := range available {
			if !slices.Contains(drop, c) {
				caps = append(caps, c)
			}
		}
	case slices.Contains(drop, allCapabilities):
		caps = add
	default:
		for _, c := range DefaultCapabilities() {
			if !slices.Contains(drop, c) && slices.Contains(available, c) {
				caps = append(caps, c)
			}
		}
		caps = append(caps, add...)
	}
	return dedupe(caps), nil
}

// capabilitiesUpTo returns the names of capabilities 0..last, the ones the kernel knows.
func capabilitiesUpTo(last int) []string {
	last = min(last, len(capNames)-1)
	return slices.Clone(capNames[:last+1])
}

// capabilitiesInMask returns the names of the capabilities whose bits are set in mask.
func capabilitiesInMask(mask uint64, known []string) []string {
	var out []string
	for i, name := range known {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// capabilityMask returns the bitmask of the named capabilities, as /proc/PID/status shows it.
func capabilityMask(caps []string) uint64 {
	var mask uint64
	for _, c := range caps {
		if i := slices.Index(capNames[:], c); i >= 0 {
			mask |= 1 << uint(i)
		}
	}
	return mask
}

// withCapabilities sets the bounding, effective and permitted sets (not inheritable nor
// ambient, as Docker does since CVE-2022-24769).
func withCapabilities(caps []string) option {
	return func(s *specs.Spec) error {
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:  slices.Clone(caps),
			Effective: slices.Clone(caps),
			Permitted: slices.Clone(caps),
		}
		return nil
	}
}

// dedupe returns in without repeated values, keeping the first of each.
func dedupe[T comparable](in []T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
