package spec

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
)

func TestValidateSysctl(t *testing.T) {
	for _, tc := range []struct {
		name             string
		hostNet, hostIPC bool
		ok               bool
	}{
		{name: "net.ipv4.ip_forward", ok: true},
		{name: "net.core.somaxconn", ok: true},
		{name: "net.ipv4.ip_forward", hostNet: true},
		{name: "kernel.shmmax", ok: true},
		{name: "kernel.shm_rmid_forced", ok: true},
		{name: "kernel.msgmax", ok: true},
		{name: "kernel.sem", ok: true},
		{name: "fs.mqueue.msg_max", ok: true},
		{name: "kernel.shmmax", hostNet: true, ok: true},
		{name: "kernel.shmmax", hostIPC: true},
		{name: "fs.mqueue.msg_max", hostIPC: true},
		{name: "kernel.panic"},
		{name: "kernel.hostname"},
		{name: "vm.swappiness"},
		{name: "fs.file-max"},
		{name: "kernel.shm"},
		{name: "network.foo"},
	} {
		err := ValidateSysctl(tc.name, tc.hostNet, tc.hostIPC)
		if tc.ok != (err == nil) {
			t.Errorf("ValidateSysctl(%q, net=%v, ipc=%v) = %v, want ok=%v", tc.name, tc.hostNet, tc.hostIPC, err, tc.ok)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("error class: %v", err)
		}
	}
}
