package exec

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestPromptWithoutNewline checks that output without a trailing newline
// (a shell's prompt, a progress line) reaches an attached client at once,
// not when the line ends.
func TestPromptWithoutNewline(t *testing.T) {
	t.Parallel()
	t.Run("run-it-prompt", func(t *testing.T) {
		t.Parallel()
		s := inPTY(t, 30, 100, pouchCmd("run", "-it", "--rm", "busybox", "sh"))
		s.Expect(shellPrompt, 10*time.Second)
	})
	t.Run("run-partial-line", func(t *testing.T) {
		t.Parallel()
		s := withPipes(t, pouchCmd("run", "--rm", "busybox", "sh", "-c", "printf partial; sleep 4; echo ' rest'"))
		start := time.Now()
		if _, ok := s.tryExpect(`partial`, 3*time.Second); !ok {
			s.Expect(`partial`, 5*time.Second)
			t.Errorf("pouch run: %q arrived only after %v, with the end of its line", "partial", time.Since(start).Round(100*time.Millisecond))
		}
		if code := s.Wait(15 * time.Second); code != 0 || s.Output() != "partial rest\n" {
			t.Errorf("exit %d output %q", code, s.Output())
		}
	})
	t.Run("exec-it-prompt", func(t *testing.T) {
		t.Parallel()
		_, name := d.Sleeper(t)
		s := inPTY(t, 30, 100, pouchCmd("exec", "-it", name, "sh"))
		s.Expect(shellPrompt, 10*time.Second)
	})
}

// TestRunStdin checks -i without -t: the client's input streams to the
// container as it comes, and its EOF closes the container's stdin.
func TestRunStdin(t *testing.T) {
	t.Parallel()
	res := d.Pouch(t, strings.NewReader("hi\n"), "run", "-i", "--rm", "busybox", "cat")
	if res.ExitCode != 0 || res.Stdout != "hi\n" {
		t.Errorf("echo hi | pouch run -i --rm busybox cat: exit %d %q", res.ExitCode, res.Combined())
	}
	s := withPipes(t, pouchCmd("run", "-i", "--rm", "busybox", "sh", "-c", "while read l; do echo got:$l; done; echo eof; exit 4"))
	s.Send("one\n")
	s.Expect(`got:one\n`, 15*time.Second)
	s.Send("two\n")
	s.Expect(`got:two\n`, 5*time.Second)
	s.CloseStdin()
	s.Expect(`eof\n`, 10*time.Second)
	if code := s.Wait(10 * time.Second); code != 4 {
		t.Errorf("run -i: exit %d after stdin's EOF, want 4; output %q", code, s.Output())
	}
}

// TestCtrlC checks that SIGINT to a foreground `pouch run` without -t is
// forwarded to the container, and that --sig-proxy=false keeps it.
func TestCtrlC(t *testing.T) {
	t.Parallel()
	const script = `trap "echo got INT; exit 3" INT; echo ready; while true; do sleep 0.1; done`
	t.Run("forwarded", func(t *testing.T) {
		t.Parallel()
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		s := withPipes(t, pouchCmd("run", "--name", name, "busybox", "sh", "-c", script))
		s.Expect(`ready\n`, 15*time.Second)
		s.Signal(syscall.SIGINT)
		s.Expect(`got INT\n`, 10*time.Second)
		if code := s.Wait(10 * time.Second); code != 3 {
			t.Errorf("after SIGINT: CLI exit %d, want 3; stderr %q", code, s.Stderr())
		}
		d.WaitStatus(t, name, "exited")
	})
	t.Run("sig-proxy-false", func(t *testing.T) {
		t.Parallel()
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		s := withPipes(t, pouchCmd("run", "--sig-proxy=false", "--name", name, "busybox", "sh", "-c", script))
		s.Expect(`ready\n`, 15*time.Second)
		s.Signal(syscall.SIGINT)
		if code := s.Wait(10 * time.Second); code == 0 {
			t.Errorf("SIGINT with --sig-proxy=false: the CLI exited 0")
		}
		stillRunning(t, name, "after SIGINT to run --sig-proxy=false")
		if strings.Contains(logs(t, name), "got INT") {
			t.Errorf("--sig-proxy=false forwarded SIGINT")
		}
	})
}

// counter is a script printing line1, line2, ... ten times a second.
const counter = `i=0; while true; do i=$((i+1)); echo line$i; sleep 0.1; done`

var lineN = regexp.MustCompile(`line(\d+)`)

// TestAttachCLI covers `pouch attach` to containers without a TTY.
func TestAttachCLI(t *testing.T) {
	t.Parallel()
	t.Run("new-lines", func(t *testing.T) {
		t.Parallel()
		_, name := d.RunDetached(t, "busybox", "sh", "-c", counter)
		waitLog(t, name, "line5\n")
		s := withPipes(t, pouchCmd("attach", "--no-stdin", name))
		first, _ := strconv.Atoi(s.Expect(`line(\d+)\n`, 10*time.Second)[1])
		next, _ := strconv.Atoi(s.Expect(`line(\d+)\n`, 5*time.Second)[1])
		if first < 5 || next <= first {
			t.Errorf("attach printed line%d then line%d: want new lines only (the log had line5 before), in order", first, next)
		}
		s.Expect(fmt.Sprintf(`line%d\n`, next+5), 5*time.Second)
	})
	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		_, name := d.RunDetached(t, "-i", "busybox", "sh", "-c", "echo ready; while read l; do echo got:$l; done; echo stdin-closed")
		waitLog(t, name, "ready\n")
		quiet := withPipes(t, pouchCmd("attach", "--no-stdin", name))
		quiet.Send("nope\n")
		time.Sleep(300 * time.Millisecond)
		loud := withPipes(t, pouchCmd("attach", name))
		loud.Send("yes\n")
		loud.Expect(`got:yes\n`, 10*time.Second)
		quiet.Expect(`got:yes\n`, 5*time.Second)
		if strings.Contains(logs(t, name), "got:nope") {
			t.Errorf("attach --no-stdin passed its input on")
		}
		// The container was not started with the attach (no StdinOnce):
		// the client's EOF leaves its stdin open for the next one.
		loud.CloseStdin()
		time.Sleep(300 * time.Millisecond)
		stillRunning(t, name, "after the stdin of an attach ended")
		again := withPipes(t, pouchCmd("attach", name))
		again.Send("again\n")
		again.Expect(`got:again\n`, 10*time.Second)
	})
	t.Run("sig-proxy", func(t *testing.T) {
		t.Parallel()
		_, name := d.RunDetached(t, "busybox", "sh", "-c", `trap "echo got USR1" USR1; trap "echo got INT; exit 3" INT; echo ready; while true; do sleep 0.1; done`)
		waitLog(t, name, "ready\n")
		s := withPipes(t, pouchCmd("attach", name))
		time.Sleep(300 * time.Millisecond) // the CLI has set up its signal handling
		s.Signal(syscall.SIGUSR1)
		s.Expect(`got USR1\n`, 10*time.Second)

		q := withPipes(t, pouchCmd("attach", "--sig-proxy=false", name))
		time.Sleep(300 * time.Millisecond)
		q.Signal(syscall.SIGINT)
		if code := q.Wait(10 * time.Second); code == 0 {
			t.Errorf("SIGINT to attach --sig-proxy=false: exit 0")
		}
		stillRunning(t, name, "after SIGINT to attach --sig-proxy=false")

		// With the default, SIGINT ends the container (its trap exits
		// 3) and the attach exits with its code.
		s.Signal(syscall.SIGINT)
		s.Expect(`got INT\n`, 10*time.Second)
		if code := s.Wait(10 * time.Second); code != 3 {
			t.Errorf("attach: container exited 3 after SIGINT, the CLI %d", code)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		_, name := d.RunDetached(t, "busybox", "true")
		d.WaitStatus(t, name, "exited")
		res := d.Pouch(t, nil, "attach", name)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "stopped container") {
			t.Errorf("attach to a stopped container: exit %d %q", res.ExitCode, res.Combined())
		}
		_, paused := d.Sleeper(t)
		d.PouchOK(t, "pause", paused)
		res = d.Pouch(t, nil, "attach", paused)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "paused") {
			t.Errorf("attach to a paused container: exit %d %q", res.ExitCode, res.Combined())
		}
		res = d.Pouch(t, nil, "attach", "nosuchcontainer_x")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "No such container") {
			t.Errorf("attach to an unknown container: exit %d %q", res.ExitCode, res.Combined())
		}
	})
}

// TestAttachAPI covers POST /containers/{id}/attach: the `Upgrade: tcp`
// hijack the docker CLI does (101), the plain one (200), the multiplexed
// and raw streams, and stdin.
func TestAttachAPI(t *testing.T) {
	t.Parallel()
	t.Run("upgrade", func(t *testing.T) {
		t.Parallel()
		id, _ := d.RunDetached(t, "busybox", "sh", "-c", counter)
		h := hijack(t, "POST", "/containers/"+id+"/attach?stream=1&stdout=1&stderr=1", nil, true)
		if h.resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("attach with Upgrade: tcp: %d %s, want 101", h.resp.StatusCode, h.errorBody())
		}
		if h.resp.Header.Get("Upgrade") != "tcp" || !strings.EqualFold(h.resp.Header.Get("Connection"), "Upgrade") {
			t.Errorf("101 headers %v", h.resp.Header)
		}
		if ct := h.resp.Header.Get("Content-Type"); ct != "application/vnd.docker.multiplexed-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		for i := 0; i < 3; i++ {
			f, err := readFrame(h.r)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if f.stream != 1 || !lineN.Match(f.data) {
				t.Errorf("frame %d: stream %d %q, want stdout lineN", i, f.stream, f.data)
			}
		}
	})
	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		id, _ := d.RunDetached(t, "busybox", "sh", "-c", counter)
		h := hijack(t, "POST", "/containers/"+id+"/attach?stream=1&stdout=1", nil, false)
		if h.resp.StatusCode != http.StatusOK {
			t.Fatalf("attach: %d %s, want 200", h.resp.StatusCode, h.errorBody())
		}
		if f, err := readFrame(h.r); err != nil || f.stream != 1 || !lineN.Match(f.data) {
			t.Errorf("frame %+v %v", f, err)
		}
	})
	t.Run("tty-raw-stdin", func(t *testing.T) {
		t.Parallel()
		id, _ := d.RunDetached(t, "-it", "busybox", "sh", "-c", "while read l; do echo got:$l; done")
		h := hijack(t, "POST", "/containers/"+id+"/attach?stream=1&stdin=1&stdout=1&stderr=1", nil, true)
		if h.resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("attach: %d %s", h.resp.StatusCode, h.errorBody())
		}
		if ct := h.resp.Header.Get("Content-Type"); ct != "application/vnd.docker.raw-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		if _, err := h.conn.Write([]byte("api\r")); err != nil {
			t.Fatal(err)
		}
		out := &streamBuf{}
		go func() { _, _ = h.r.WriteTo(out) }()
		testenv.Eventually(t, 10*time.Second, "got:api on the raw stream", func() bool { return strings.Contains(out.String(), "got:api\r\n") })
	})
	t.Run("stdin-multiplexed", func(t *testing.T) {
		t.Parallel()
		id, _ := d.RunDetached(t, "-i", "busybox", "sh", "-c", "while read l; do echo got:$l; echo err:$l >&2; done")
		h := hijack(t, "POST", "/containers/"+id+"/attach?stream=1&stdin=1&stdout=1&stderr=1", nil, true)
		if h.resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("attach: %d %s", h.resp.StatusCode, h.errorBody())
		}
		if _, err := h.conn.Write([]byte("api\n")); err != nil {
			t.Fatal(err)
		}
		got := map[byte]string{}
		for len(got) < 2 {
			f, err := readFrame(h.r)
			if err != nil {
				t.Fatalf("frames: %v (so far %q)", err, got)
			}
			got[f.stream] += string(f.data)
		}
		if got[1] != "got:api\n" || got[2] != "err:api\n" {
			t.Errorf("streams %q", got)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		d.ExpectStatus(t, http.StatusNotFound, "POST", "/containers/nosuchcontainer_x/attach?stream=1&stdout=1", nil)
		_, paused := d.Sleeper(t)
		d.PouchOK(t, "pause", paused)
		d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+paused+"/attach?stream=1&stdout=1", nil)
	})
}

// TestContainerResize covers POST /containers/{id}/resize: the container's
// terminal takes the size and its process gets SIGWINCH.
func TestContainerResize(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, "-t", "busybox", "sh", "-c", `trap 'echo "size=$(stty size)"' WINCH; echo ready; while true; do sleep 0.1; done`)
	waitLog(t, name, "ready")
	d.ExpectStatus(t, http.StatusOK, "POST", "/containers/"+id+"/resize?h=33&w=111", nil)
	waitLog(t, name, "size=33 111")
	d.ExpectStatus(t, http.StatusOK, "POST", "/containers/"+name+"/resize?h=44&w=122", nil)
	waitLog(t, name, "size=44 122")
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/resize?h=abc&w=1", nil)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/resize", nil)
	d.ExpectStatus(t, http.StatusNotFound, "POST", "/containers/nosuchcontainer_x/resize?h=10&w=10", nil)
	d.PouchOK(t, "stop", "-t", "0", id)
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/resize?h=10&w=10", nil)
}
