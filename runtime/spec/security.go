package spec

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Seccomp profile names with a special meaning in --security-opt seccomp=NAME.
const (
	SeccompUnconfined = "unconfined"
	SeccompBuiltin    = "builtin"
)

// SecurityOptions are the parsed HostConfig.SecurityOpt values.
type SecurityOptions struct {
	NoNewPrivileges bool
	// Seccomp is "" or "builtin" (Docker's default profile), "unconfined", a profile in
	// Docker's JSON format (the docker CLI reads the file and sends its content), or an
	// absolute path to such a file on the daemon's host.
	Seccomp string
	// AppArmor is the AppArmor profile name; "" or "unconfined" sets none.
	AppArmor string
	// UnconfinedSystemPaths clears masked and read-only paths (systempaths=unconfined).
	UnconfinedSystemPaths bool
	// WritableCgroups mounts /sys/fs/cgroup read-write (writable-cgroups=true); nil means
	// the default (read-write only for privileged containers).
	WritableCgroups *bool
}

// ParseSecurityOpts parses HostConfig.SecurityOpt. Options arrive as "key=value" or the
// deprecated "key:value"; "no-new-privileges" alone means true. SELinux label options are
// accepted and ignored (Pouch does not support SELinux, as Docker on a non-SELinux host).
// An unknown or malformed option is an ErrInvalidArgument.
func ParseSecurityOpts(opts []string) (SecurityOptions, error) {
	var o SecurityOptions
	for _, opt := range opts {
		switch opt {
		case "no-new-privileges":
			o.NoNewPrivileges = true
			continue
		case "disable": // legacy shorthand of label=disable
			continue
		}
		i := strings.IndexAny(opt, "=:")
		if i <= 0 {
			return o, invalid("invalid security option %q", opt)
		}
		key, value := opt[:i], opt[i+1:]
		switch key {
		case "no-new-privileges":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return o, invalid("invalid security option %q", opt)
			}
			o.NoNewPrivileges = b
		case "seccomp":
			if value == "" {
				return o, invalid("invalid security option %q: empty seccomp profile", opt)
			}
			o.Seccomp = value
		case "apparmor":
			o.AppArmor = value
		case "label":
		case "systempaths":
			if value != "unconfined" {
				return o, invalid("invalid security option %q: only systempaths=unconfined is supported", opt)
			}
			o.UnconfinedSystemPaths = true
		case "writable-cgroups":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return o, invalid("invalid security option %q", opt)
			}
			o.WritableCgroups = &b
		default:
			return o, invalid("invalid security option %q", opt)
		}
	}
	return o, nil
}

// seccompProfile says which seccomp filter to install.
type seccompProfile struct {
	disabled bool
	json     string // "" is Docker's default profile
}

// seccompProfileFor turns the seccomp security option into a profile. Privileged containers
// run without seccomp, as in Docker.
func seccompProfileFor(opt string, privileged bool) (seccompProfile, error) {
	switch {
	case privileged || opt == SeccompUnconfined:
		return seccompProfile{disabled: true}, nil
	case opt == "" || opt == SeccompBuiltin:
		return seccompProfile{}, nil
	case strings.HasPrefix(strings.TrimSpace(opt), "{"):
		return seccompProfile{json: opt}, nil
	case filepath.IsAbs(opt):
		b, err := os.ReadFile(opt)
		if err != nil {
			return seccompProfile{}, invalid("reading seccomp profile: %v", err)
		}
		return seccompProfile{json: string(b)}, nil
	}
	return seccompProfile{}, invalid("invalid seccomp profile %q: want %q, %q, a JSON profile or an absolute path",
		opt, SeccompUnconfined, SeccompBuiltin)
}

// withSeccomp installs the seccomp filter. It must run after withCapabilities: the default
// profile allows some syscalls only when the matching capability is granted.
func withSeccomp(p seccompProfile) option {
	return func(s *specs.Spec) error {
		if p.disabled {
			s.Linux.Seccomp = nil
			return nil
		}
		var (
			sc  *specs.LinuxSeccomp
			err error
		)
		if p.json == "" {
			sc, err = seccomp.GetDefaultProfile(s)
		} else {
			sc, err = seccomp.LoadProfile(p.json, s)
		}
		if err != nil {
			return invalid("seccomp profile: %v", err)
		}
		s.Linux.Seccomp = sc
		return nil
	}
}

func withNoNewPrivileges(on bool) option {
	return func(s *specs.Spec) error {
		s.Process.NoNewPrivileges = on
		return nil
	}
}

func withAppArmor(profile string, privileged bool) option {
	return func(s *specs.Spec) error {
		if privileged || profile == "unconfined" {
			profile = ""
		}
		s.Process.ApparmorProfile = profile
		return nil
	}
}

// maskedPaths returns the masked and read-only paths: none for privileged containers and
// systempaths=unconfined, HostConfig's lists when set (they override the defaults, as in the
// Docker API), Docker's defaults otherwise.
func maskedPaths(hc *container.HostConfig, sec SecurityOptions) (masked, readonly []string) {
	if hc.Privileged || sec.UnconfinedSystemPaths {
		return nil, nil
	}
	masked, readonly = defaultMaskedPaths(), defaultReadonlyPaths()
	if hc.MaskedPaths != nil {
		masked = hc.MaskedPaths
	}
	if hc.ReadonlyPaths != nil {
		readonly = hc.ReadonlyPaths
	}
	return masked, readonly
}

func withMaskedPaths(masked, readonly []string) option {
	return func(s *specs.Spec) error {
		s.Linux.MaskedPaths = append([]string(nil), masked...)
		s.Linux.ReadonlyPaths = append([]string(nil), readonly...)
		return nil
	}
}
