package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecInput describes a process to run in a running container.
type ExecInput struct {
	Base        *specs.Process // the container's init process, from its spec
	RootfsPath  string         // to look the user up
	Cmd         []string
	Env         []string // added to (and overriding) the container's
	User        string   // "": the container's user
	WorkingDir  string   // "": the container's
	Tty         bool
	ConsoleSize *[2]uint // height, width
	Privileged  bool
}

// ExecProcess returns the OCI process of an exec, as Docker builds it: the
// container's process (capabilities, rlimits, security settings) with the
// exec's command, environment, user, directory and terminal; privileged
// execs get every capability the daemon can grant.
func ExecProcess(in ExecInput) (*specs.Process, error) {
	if in.Base == nil {
		return nil, fmt.Errorf("the container's process is unknown")
	}
	if len(in.Cmd) == 0 || in.Cmd[0] == "" {
		return nil, invalid("no exec command specified")
	}
	p := *in.Base
	p.Args = slices.Clone(in.Cmd)
	p.Env = mergeEnvs(in.Base.Env, in.Env)
	if !in.Tty {
		p.Env = slices.DeleteFunc(p.Env, func(kv string) bool { return strings.HasPrefix(kv, "TERM=") })
	} else if !slices.ContainsFunc(p.Env, func(kv string) bool { return strings.HasPrefix(kv, "TERM=") }) {
		p.Env = append(p.Env, "TERM=xterm")
	}
	if in.WorkingDir != "" {
		if !filepath.IsAbs(in.WorkingDir) {
			return nil, invalid("the working directory '%s' is invalid, it needs to be an absolute path", in.WorkingDir)
		}
		p.Cwd = filepath.Clean(in.WorkingDir)
	}
	if in.User != "" {
		u, err := ResolveUser(in.RootfsPath, in.User, nil)
		if err != nil {
			return nil, err
		}
		// Keep the container's supplementary groups only for its own user.
		p.User = u
	}
	p.Terminal = in.Tty
	p.ConsoleSize = nil
	if in.Tty && in.ConsoleSize != nil && in.ConsoleSize[0] > 0 && in.ConsoleSize[1] > 0 {
		p.ConsoleSize = &specs.Box{Height: in.ConsoleSize[0], Width: in.ConsoleSize[1]}
	}
	if in.Privileged {
		h, err := probeHost()
		if err != nil {
			return nil, err
		}
		caps := slices.Clone(h.caps)
		p.Capabilities = &specs.LinuxCapabilities{
			Bounding: caps, Effective: slices.Clone(caps), Permitted: slices.Clone(caps),
		}
		p.ApparmorProfile = ""
		p.SelinuxLabel = ""
	} else if in.Base.Capabilities != nil {
		c := *in.Base.Capabilities
		p.Capabilities = &c
	}
	p.Rlimits = slices.Clone(in.Base.Rlimits)
	return &p, nil
}

// mergeEnvs appends over to base, replacing variables base already sets.
func mergeEnvs(base, over []string) []string {
	out := slices.Clone(base)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { e, _, _ = strings.Cut(e, "="); return e == k })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}
