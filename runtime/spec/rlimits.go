package spec

import (
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rlimitResources maps OCI rlimit names to resource numbers.
var rlimitResources = map[string]int{
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
}

// DefaultRlimits returns the daemon's own RLIMIT_NOFILE and RLIMIT_NPROC, unchanged, as the
// containers' defaults. Deriving them from the daemon, never from constants, keeps them
// within the hard limits the daemon may set (pitfall 15).
func DefaultRlimits() []specs.POSIXRlimit {
	var out []specs.POSIXRlimit
	for _, name := range []string{"RLIMIT_NOFILE", "RLIMIT_NPROC"} {
		var l unix.Rlimit
		if err := unix.Getrlimit(rlimitResources[name], &l); err == nil {
			out = append(out, specs.POSIXRlimit{Type: name, Soft: l.Cur, Hard: l.Max})
		}
	}
	return out
}

// daemonHardLimits returns the daemon's hard limit of every rlimit.
func daemonHardLimits() map[string]uint64 {
	out := make(map[string]uint64, len(rlimitResources))
	for name, res := range rlimitResources {
		var l unix.Rlimit
		if err := unix.Getrlimit(res, &l); err == nil {
			out[name] = l.Max
		}
	}
	return out
}

// rlimits overrides the defaults with HostConfig.Ulimits ("nofile" → RLIMIT_NOFILE; -1 is
// unlimited). Unless the daemon holds CAP_SYS_RESOURCE, a hard limit above the daemon's own
// is refused here with the limit's name, since runc could not set it.
func rlimits(defaults []specs.POSIXRlimit, ulimits []*container.Ulimit, h host) ([]specs.POSIXRlimit, error) {
	out := slices.Clone(defaults)
	for _, u := range ulimits {
		if u == nil {
			continue
		}
		if _, err := u.GetRlimit(); err != nil {
			return nil, invalid("invalid ulimit %q", u.Name)
		}
		if (u.Soft < 0 && u.Soft != -1) || (u.Hard < 0 && u.Hard != -1) {
			return nil, invalid("invalid ulimit %s: values must be positive or -1 (unlimited)", u.Name)
		}
		l := specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Soft: uint64(u.Soft), Hard: uint64(u.Hard)}
		if l.Soft > l.Hard {
			return nil, invalid("ulimit %s: soft limit %d is larger than hard limit %d", u.Name, u.Soft, u.Hard)
		}
		if i := slices.IndexFunc(out, func(x specs.POSIXRlimit) bool { return x.Type == l.Type }); i >= 0 {
			out[i] = l
		} else {
			out = append(out, l)
		}
	}
	if !h.canRaiseRlimits {
		for _, l := range out {
			if hard, ok := h.rlimitHard[l.Type]; ok && l.Hard > hard {
				return nil, invalid("%s: hard limit %s is above the daemon's hard limit %s, which it cannot raise without CAP_SYS_RESOURCE",
					l.Type, limitString(l.Hard), limitString(hard))
			}
		}
	}
	return out, nil
}

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

func withRlimits(l []specs.POSIXRlimit) option {
	return func(s *specs.Spec) error {
		s.Process.Rlimits = slices.Clone(l)
		return nil
	}
}
