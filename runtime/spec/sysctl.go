package spec

import (
	"maps"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ipcSysctls are the namespaced kernel.* sysctls Docker accepts (they belong to the IPC
// namespace).
var ipcSysctls = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
}

// ValidateSysctl accepts only namespaced sysctls, as Docker does: net.* (refused when the
// container shares the host's network namespace), the IPC ones kernel.msg*, kernel.sem,
// kernel.shm* and fs.mqueue.* (refused with the host's IPC namespace).
func ValidateSysctl(name string, hostNetwork, hostIPC bool) error {
	switch {
	case strings.HasPrefix(name, "net."):
		if hostNetwork {
			return invalid("sysctl %q is not allowed in the host network namespace", name)
		}
	case slices.Contains(ipcSysctls, name), strings.HasPrefix(name, "fs.mqueue."):
		if hostIPC {
			return invalid("sysctl %q is not allowed in the host IPC namespace", name)
		}
	default:
		return invalid("sysctl %q is not allowed: only namespaced sysctls (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) may be set", name)
	}
	return nil
}

func validateSysctls(sysctls map[string]string, hostNetwork, hostIPC bool) error {
	for _, name := range slices.Sorted(maps.Keys(sysctls)) {
		if err := ValidateSysctl(name, hostNetwork, hostIPC); err != nil {
			return err
		}
	}
	return nil
}

func withSysctls(sysctls map[string]string) option {
	return func(s *specs.Spec) error {
		if len(sysctls) > 0 {
			s.Linux.Sysctl = maps.Clone(sysctls)
		}
		return nil
	}
}
