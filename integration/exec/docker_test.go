package exec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDockerExec runs `docker exec` against pouchd: streams, exit codes,
// options, stdin, and -it in a pseudo-terminal.
func TestDockerExec(t *testing.T) {
	testenv.NeedDocker(t)
	t.Parallel()
	_, name := d.Sleeper(t)

	res := d.Docker(t, nil, "exec", name, "sh", "-c", "echo out; echo err >&2; exit 3")
	if res.ExitCode != 3 || res.Stdout != "out\n" || res.Stderr != "err\n" {
		t.Errorf("docker exec: exit %d stdout %q stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	for _, tc := range []struct {
		cmd  string
		code int
	}{{"nosuchcommand", 127}, {"/etc/passwd", 126}} {
		if res := d.Docker(t, nil, "exec", name, tc.cmd); res.ExitCode != tc.code {
			t.Errorf("docker exec %s: exit %d, want %d: %q", tc.cmd, res.ExitCode, tc.code, res.Combined())
		}
	}
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("B=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = d.Docker(t, nil, "exec", "-e", "A=1", "--env-file", envFile, "-u", "1234:5678", "-w", "/tmp", name,
		"sh", "-c", `echo "$A $B $(id -u) $(id -g) $(pwd)"`)
	if res.ExitCode != 0 || res.Stdout != "1 2 1234 5678 /tmp\n" {
		t.Errorf("docker exec -e --env-file -u -w: exit %d %q", res.ExitCode, res.Combined())
	}
	res = d.Docker(t, strings.NewReader("piped\n"), "exec", "-i", name, "cat")
	if res.ExitCode != 0 || res.Stdout != "piped\n" {
		t.Errorf("docker exec -i cat: exit %d %q", res.ExitCode, res.Combined())
	}
	if res = d.Docker(t, nil, "exec", "-d", name, "sh", "-c", "echo bg > /tmp/docker-d"); res.ExitCode != 0 {
		t.Errorf("docker exec -d: exit %d %q", res.ExitCode, res.Combined())
	}
	testenv.Eventually(t, 10*time.Second, "docker exec -d to write its file", func() bool {
		return d.Docker(t, nil, "exec", name, "cat", "/tmp/docker-d").Stdout == "bg\n"
	})
	res = d.Docker(t, nil, "exec", "--privileged", name, "cat", "/proc/self/status")
	if c, ok := capEff(res.Stdout); !ok || c&capSysAdmin == 0 {
		t.Errorf("docker exec --privileged: no CAP_SYS_ADMIN in %q", res.Combined())
	}

	s := inPTY(t, 23, 81, dockerCmd("exec", "-it", name, "stty", "size"))
	if m := s.Expect(`(\d+ \d+)\r\n`, 15*time.Second); m[1] != "23 81" {
		t.Errorf("docker exec -it stty size: %q, want 23 81", m[1])
	}
	if code := s.Wait(15 * time.Second); code != 0 {
		t.Errorf("docker exec -it stty size: exit %d", code)
	}

	s = inPTY(t, 23, 81, dockerCmd("exec", "-it", name, "sh"))
	s.Expect(shellPrompt, 15*time.Second)
	s.expectSize("23 81", 0)
	s.Resize(41, 121)
	s.expectSize("41 121", 10*time.Second)
	s.Send("exit 8\r")
	if code := s.Wait(15 * time.Second); code != 8 {
		t.Errorf("docker exec -it sh, exit 8: docker exited %d; output %q", code, s.Output())
	}

	d.PouchOK(t, "pause", name)
	res = d.Docker(t, nil, "exec", name, "true")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "paused") {
		t.Errorf("docker exec in a paused container: exit %d %q", res.ExitCode, res.Combined())
	}
	d.PouchOK(t, "unpause", name)
}

// TestDockerAttach attaches the docker CLI to a running -it container in
// a pseudo-terminal: size, input, detach with the default and custom keys,
// and the exit code.
func TestDockerAttach(t *testing.T) {
	testenv.NeedDocker(t)
	t.Parallel()
	_, name := d.RunDetached(t, "-it", "busybox", "sh")
	a := inPTY(t, 26, 99, dockerCmd("attach", name))
	a.marker(15 * time.Second)
	a.expectSize("26 99", 10*time.Second)
	a.Send("\x10\x11")
	// The docker CLI ends an attach detached with "read escape sequence"
	// and exit code 1 (against Docker too).
	if code := a.Wait(5 * time.Second); code != 1 || !strings.Contains(a.Output(), "read escape sequence") {
		t.Errorf("docker attach, ctrl-p ctrl-q: exit %d, want 1 and \"read escape sequence\"; output %q", code, a.Output())
	}
	stillRunning(t, name, "after docker attach detached")

	a = inPTY(t, 26, 99, dockerCmd("attach", "--detach-keys", "ctrl-a,x", name))
	a.marker(10 * time.Second)
	a.Send("\x01x")
	if code := a.Wait(5 * time.Second); code != 1 || !strings.Contains(a.Output(), "read escape sequence") {
		t.Errorf("docker attach --detach-keys ctrl-a,x: exit %d, want 1 and \"read escape sequence\"; output %q", code, a.Output())
	}
	stillRunning(t, name, "after docker attach --detach-keys detached")

	a = inPTY(t, 26, 99, dockerCmd("attach", name))
	a.marker(10 * time.Second)
	a.Send("exit 9\r")
	if code := a.Wait(15 * time.Second); code != 9 {
		t.Errorf("docker attach, exit 9: docker exited %d; output %q", code, a.Output())
	}
}

// TestDockerRunTTY runs `docker run -it` in a pseudo-terminal: the size
// from the first instruction, and detaching from it.
func TestDockerRunTTY(t *testing.T) {
	testenv.NeedDocker(t)
	t.Parallel()
	t.Run("size", func(t *testing.T) {
		t.Parallel()
		s := inPTY(t, 31, 101, dockerCmd("run", "-it", "--rm", "busybox", "stty", "size"))
		if m := s.Expect(`(\d+ \d+)\r\n`, 15*time.Second); m[1] != "31 101" {
			t.Errorf("docker run -it stty size: %q, want 31 101", m[1])
		}
		if code := s.Wait(20 * time.Second); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("detach", func(t *testing.T) {
		t.Parallel()
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		s := inPTY(t, 31, 101, dockerCmd("run", "-it", "--name", name, "busybox", "sh"))
		s.marker(15 * time.Second)
		s.Send("\x10\x11")
		if code := s.Wait(5 * time.Second); code != 0 {
			t.Errorf("docker run -it, ctrl-p ctrl-q: exit %d; output %q", code, s.Output())
		}
		stillRunning(t, name, "after detaching from docker run -it")
	})
}
