package exec

import (
	"fmt"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestRunTTY drives `pouch run -it` through a real pseudo-terminal: the
// container's terminal has the client terminal's size from its first
// instruction, follows every resize (SIGWINCH to the CLI), takes keys raw
// (ctrl-c interrupts the shell's foreground job, not the CLI), and the
// shell's exit code becomes the CLI's.
func TestRunTTY(t *testing.T) {
	t.Parallel()
	t.Run("size-at-start", func(t *testing.T) {
		t.Parallel()
		s := inPTY(t, 30, 100, pouchCmd("run", "-it", "--rm", "busybox", "stty", "size"))
		if m := s.Expect(`(\d+ \d+)\r\n`, 15*time.Second); m[1] != "30 100" {
			t.Errorf("stty size as the first instruction: %q, want %q", m[1], "30 100")
		}
		if code := s.Wait(15 * time.Second); code != 0 {
			t.Errorf("exit %d; output %q", code, s.Output())
		}
	})
	t.Run("shell", func(t *testing.T) {
		t.Parallel()
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		s := inPTY(t, 30, 100, pouchCmd("run", "-it", "--rm", "--name", name, "busybox", "sh"))
		s.marker(15 * time.Second) // the prompt itself: TestPromptWithoutNewline
		s.expectSize("30 100", 0)
		s.Resize(50, 132)
		s.expectSize("50 132", 10*time.Second)
		s.Resize(24, 80)
		s.expectSize("24 80", 10*time.Second)
		// ctrl-c goes to the container's terminal: it interrupts sleep
		// and the shell answers again well before the sleep would end.
		s.Send("sleep 30\r")
		time.Sleep(300 * time.Millisecond)
		s.Send("\x03")
		s.marker(5 * time.Second)
		if s.Exited() {
			t.Fatalf("ctrl-c ended the CLI; output %q", s.Output())
		}
		s.Send("exit 5\r")
		if code := s.Wait(15 * time.Second); code != 5 {
			t.Errorf("exit 5 in the shell: the CLI exited %d; output %q", code, s.Output())
		}
	})
}

// TestExecTTY drives `pouch exec -it` through a real pseudo-terminal.
func TestExecTTY(t *testing.T) {
	t.Parallel()
	_, name := d.Sleeper(t)
	t.Run("size-at-start", func(t *testing.T) {
		t.Parallel()
		s := inPTY(t, 25, 90, pouchCmd("exec", "-it", name, "stty", "size"))
		if m := s.Expect(`(\d+ \d+)\r\n`, 15*time.Second); m[1] != "25 90" {
			t.Errorf("stty size as the first instruction: %q, want %q", m[1], "25 90")
		}
		if code := s.Wait(15 * time.Second); code != 0 {
			t.Errorf("exit %d; output %q", code, s.Output())
		}
	})
	t.Run("shell", func(t *testing.T) {
		t.Parallel()
		s := inPTY(t, 25, 90, pouchCmd("exec", "-it", name, "sh"))
		s.Expect(shellPrompt, 15*time.Second)
		s.expectSize("25 90", 0)
		s.Resize(40, 120)
		s.expectSize("40 120", 10*time.Second)
		s.Resize(12, 60)
		s.expectSize("12 60", 10*time.Second)
		s.Send("exit 6\r")
		if code := s.Wait(15 * time.Second); code != 6 {
			t.Errorf("exit 6 in the exec'd shell: the CLI exited %d; output %q", code, s.Output())
		}
	})
	t.Run("no-tty-in-tty", func(t *testing.T) {
		t.Parallel()
		// -i without -t from a terminal: no terminal in the container.
		s := inPTY(t, 25, 90, pouchCmd("exec", "-i", name, "sh", "-c", "[ -t 0 ] && echo tty || echo notty"))
		s.Expect(`notty`, 15*time.Second)
		if code := s.Wait(15 * time.Second); code != 0 {
			t.Errorf("exit %d; output %q", code, s.Output())
		}
	})
}

// TestDetachRun detaches from `pouch run -it` with ctrl-p ctrl-q: the CLI
// exits 0 at once, the shell goes on, and `pouch attach` in a new
// terminal gets it again.
func TestDetachRun(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	s := inPTY(t, 30, 100, pouchCmd("run", "-it", "--name", name, "busybox", "sh"))
	s.marker(15 * time.Second) // the prompt itself: TestPromptWithoutNewline
	s.Send("\x10\x11")         // ctrl-p ctrl-q
	if code := s.Wait(5 * time.Second); code != 0 {
		t.Errorf("detach from run -it: exit %d, want 0; output %q", code, s.Output())
	}
	stillRunning(t, name, "after detaching from run -it")

	a := inPTY(t, 20, 70, pouchCmd("attach", name))
	a.marker(10 * time.Second)
	a.Send("exit 7\r")
	if code := a.Wait(15 * time.Second); code != 7 {
		t.Errorf("exit 7 through attach: the CLI exited %d; output %q", code, a.Output())
	}
}

// TestDetachAttach attaches to a running -it container (`run -dit`) with
// `pouch attach` in a pseudo-terminal: the shell answers, the terminal
// takes the client's size, ctrl-p ctrl-q and --detach-keys ctrl-a,x
// detach leaving it running, and an exit through an attach becomes the
// CLI's exit code.
func TestDetachAttach(t *testing.T) {
	t.Parallel()
	_, name := d.RunDetached(t, "-it", "busybox", "sh")
	a := inPTY(t, 20, 70, pouchCmd("attach", name))
	a.marker(10 * time.Second)
	a.expectSize("20 70", 10*time.Second)
	a.Resize(22, 72)
	a.expectSize("22 72", 10*time.Second)
	a.Send("\x10\x11")
	if code := a.Wait(5 * time.Second); code != 0 {
		t.Errorf("detach from attach: exit %d, want 0; output %q", code, a.Output())
	}
	stillRunning(t, name, "after detaching from attach")

	a = inPTY(t, 20, 70, pouchCmd("attach", "--detach-keys", "ctrl-a,x", name))
	a.marker(10 * time.Second)
	a.Send("\x01x") // ctrl-a x
	if code := a.Wait(5 * time.Second); code != 0 {
		t.Errorf("detach from attach --detach-keys ctrl-a,x: exit %d, want 0; output %q", code, a.Output())
	}
	stillRunning(t, name, "after detaching with ctrl-a,x")

	a = inPTY(t, 20, 70, pouchCmd("attach", name))
	a.marker(10 * time.Second)
	a.Send("exit 7\r")
	if code := a.Wait(15 * time.Second); code != 7 {
		t.Errorf("exit 7 through attach: the CLI exited %d; output %q", code, a.Output())
	}
	d.WaitStatus(t, name, "exited")
}

// TestDetachKeysRun detaches from `pouch run -it --detach-keys`.
func TestDetachKeysRun(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	s := inPTY(t, 30, 100, pouchCmd("run", "-it", "--detach-keys", "ctrl-a,x", "--name", name, "busybox", "sh"))
	s.marker(15 * time.Second) // the prompt itself: TestPromptWithoutNewline
	// The default keys are plain input now (ctrl-c then drops the line
	// they edited).
	s.Send("\x10\x11")
	time.Sleep(200 * time.Millisecond)
	s.Send("\x03")
	s.marker(10 * time.Second)
	if s.Exited() {
		t.Fatalf("ctrl-p ctrl-q detached despite --detach-keys ctrl-a,x")
	}
	s.Send("\x01x")
	if code := s.Wait(5 * time.Second); code != 0 {
		t.Errorf("detach with ctrl-a,x: exit %d, want 0; output %q", code, s.Output())
	}
	stillRunning(t, name, "after detaching from run -it --detach-keys ctrl-a,x")
}

// TestDetachExec detaches from `pouch exec -it`: the exec'd shell goes on,
// as with Docker.
func TestDetachExec(t *testing.T) {
	t.Parallel()
	id, name := d.Sleeper(t)
	for _, tc := range []struct {
		flags []string
		keys  string
	}{
		{nil, "\x10\x11"},
		{[]string{"--detach-keys", "ctrl-a,x"}, "\x01x"},
	} {
		before := map[string]bool{}
		for _, e := range d.Inspect(t, id).ExecIDs {
			before[e] = true
		}
		s := inPTY(t, 30, 100, pouchCmd(append(append([]string{"exec", "-it"}, tc.flags...), name, "sh")...))
		s.Expect(shellPrompt, 15*time.Second)
		s.marker(10 * time.Second)
		s.Send(tc.keys)
		if code := s.Wait(5 * time.Second); code != 0 {
			t.Errorf("exec -it %v: detach: exit %d, want 0; output %q", tc.flags, code, s.Output())
		}
		var ex string
		for _, e := range d.Inspect(t, id).ExecIDs {
			if !before[e] {
				ex = e
			}
		}
		if ex == "" {
			t.Fatalf("exec -it %v: no new exec in ExecIDs", tc.flags)
		}
		time.Sleep(500 * time.Millisecond)
		if x := execInspect(t, ex); !x.Running {
			code := -1
			if x.ExitCode != nil {
				code = *x.ExitCode
			}
			t.Errorf("exec -it %v sh: after detaching the exec is not running (exit code %d), want it running as with docker", tc.flags, code)
		}
	}
}

// TestStartAttachInteractive starts a created -it container with `pouch
// start -ai`, twice: the terminal's size, input and the exit code each
// time; then detaches from a third start.
func TestStartAttachInteractive(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	d.PouchOK(t, "create", "-it", "--name", name, "busybox", "sh")
	for i, code := range []int{4, 0} {
		s := inPTY(t, 27, 88, pouchCmd("start", "-ai", name))
		s.marker(15 * time.Second) // the prompt itself: TestPromptWithoutNewline
		s.expectSize("27 88", 10*time.Second)
		s.marker(10 * time.Second)
		s.Send(fmt.Sprintf("exit %d\r", code))
		if got := s.Wait(15 * time.Second); got != code {
			t.Errorf("start -ai #%d: exit %d, want %d; output %q", i+1, got, code, s.Output())
		}
	}
	s := inPTY(t, 27, 88, pouchCmd("start", "-ai", name))
	s.marker(15 * time.Second) // the prompt itself: TestPromptWithoutNewline
	s.Send("\x10\x11")
	if code := s.Wait(5 * time.Second); code != 0 {
		t.Errorf("detach from start -ai: exit %d; output %q", code, s.Output())
	}
	stillRunning(t, name, "after detaching from start -ai")
}

// stillRunning checks that the container is running and that its init
// process stays alive for a second (a detach must not end its stdin;
// inspect may lag behind the process's exit).
func stillRunning(t testing.TB, ref, when string) {
	t.Helper()
	c := d.Inspect(t, ref)
	if !c.State.Running || c.State.Pid == 0 {
		t.Fatalf("%s: container %s is %s (exit code %d), want running", when, ref, c.State.Status, c.State.ExitCode)
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !testenv.Alive(c.State.Pid) {
			t.Fatalf("%s: the init process (pid %d) of %s is gone; inspect says %s", when, c.State.Pid, ref, d.Inspect(t, ref).State.Status)
		}
	}
}

// TestTTYExitIsPrompt checks that the CLI returns promptly once a TTY
// container exits, as it does without a TTY.
func TestTTYExitIsPrompt(t *testing.T) {
	t.Parallel()
	for _, flags := range [][]string{{"-t"}, {"-it"}, {"-i"}, nil} {
		args := append(append([]string{"run", "--rm"}, flags...), "busybox", "true")
		start := time.Now()
		s := inPTY(t, 30, 100, pouchCmd(args...))
		if code := s.Wait(20 * time.Second); code != 0 {
			t.Errorf("pouch %v: exit %d; output %q", args, code, s.Output())
		}
		if took := time.Since(start); took > 4*time.Second {
			t.Errorf("pouch %v: the CLI returned %v after the start of a container that exits at once", args, took.Round(100*time.Millisecond))
		}
	}
}
