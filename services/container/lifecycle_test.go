package container

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
)

func TestRuntimeError(t *testing.T) {
	for _, tc := range []struct {
		in       string
		code     int
		class    func(error) bool
		msg      string
		notInMsg string
	}{
		{
			in:   `OCI runtime create failed: runc create failed: unable to start container process: error during container init: exec: "nosuch": executable file not found in $PATH: unknown`,
			code: 127, class: errdefs.IsInvalidArgument,
			msg: `failed to create task for container: exec: "nosuch": executable file not found in $PATH`, notInMsg: "runc create failed",
		},
		{
			in:   `OCI runtime create failed: runc create failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory: unknown`,
			code: 127, class: errdefs.IsInvalidArgument,
			msg: `failed to create task for container: exec: "/no/such": stat /no/such: no such file or directory`,
		},
		{
			in:   `OCI runtime create failed: runc create failed: unable to start container process: exec: "/etc": permission denied: unknown`,
			code: 126, class: errdefs.IsInvalidArgument,
			msg: `failed to create task for container: exec: "/etc": permission denied`,
		},
		{
			// A missing file that is not the command is the runtime's fault.
			in:   `OCI runtime create failed: unable to retrieve OCI runtime error (open /run/x/log.json: no such file or directory): runc did not terminate successfully: exit status 1: unknown`,
			code: 128, class: errdefs.IsUnknown,
			msg: `failed to create task for container: OCI runtime create failed: unable to retrieve OCI runtime error (open /run/x/log.json: no such file or directory): runc did not terminate successfully: exit status 1`,
		},
	} {
		err := runtimeError(errors.New(tc.in))
		var se *startError
		if !errors.As(err, &se) {
			t.Fatalf("%q: not a startError", tc.in)
		}
		if se.exitCode != tc.code || !tc.class(err) || se.msg != tc.msg {
			t.Errorf("%q:\n got code %d msg %q (class ok: %v)\nwant code %d msg %q", tc.in, se.exitCode, se.msg, tc.class(err), tc.code, tc.msg)
		}
		if tc.notInMsg != "" && strings.Contains(err.Error(), tc.notInMsg) {
			t.Errorf("%q: message keeps %q", tc.in, tc.notInMsg)
		}
	}
}

func TestAttachable(t *testing.T) {
	for status, ok := range map[string]bool{
		"created": true, "running": true, "exited": true,
		"paused": false, "restarting": false, "removing": false, "dead": false,
	} {
		err := attachable(State{Status: ctypes.ContainerState(status)})
		if (err == nil) != ok || (err != nil && !errdefs.IsConflict(err)) {
			t.Errorf("%s: %v", status, err)
		}
	}
}

func TestProcessEnv(t *testing.T) {
	got := processEnv(&ctypes.Config{Hostname: "abc", Env: []string{"A=1", "HOSTNAME=mine"}})
	want := []string{"HOSTNAME=mine", "PATH=" + defaultPath, "A=1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v want %v", got, want)
	}
	got = processEnv(&ctypes.Config{Hostname: "h", Tty: true, Env: []string{"PATH=/bin"}})
	want = []string{"HOSTNAME=h", "TERM=xterm", "PATH=/bin"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v want %v", got, want)
	}
}
