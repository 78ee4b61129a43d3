package exec

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// markerSeq numbers the markers typed into terminals.
var markerSeq atomic.Int64

// waitLog waits until the container's log holds s.
func waitLog(t testing.TB, ref, s string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, fmt.Sprintf("%q in the log of %s", s, ref), func() bool {
		return strings.Contains(logs(t, ref), s)
	})
}

// logs is the container's log, stdout and stderr, demultiplexed (or raw
// for a TTY container).
func logs(t testing.TB, ref string) string {
	t.Helper()
	r := d.Do(t, "GET", "/containers/"+url.PathEscape(ref)+"/logs?stdout=1&stderr=1", nil)
	if frames, err := readFrames(bytes.NewReader(r.Body)); err == nil {
		var b strings.Builder
		for _, f := range frames {
			b.Write(f.data)
		}
		return b.String()
	}
	return string(r.Body)
}

// ---- exec through the API ----

// execCreate creates an exec instance through the API and returns its ID.
func execCreate(t testing.TB, container string, body map[string]any) string {
	t.Helper()
	r := d.ExpectStatus(t, http.StatusCreated, "POST", "/containers/"+url.PathEscape(container)+"/exec", body)
	var resp struct {
		ID string `json:"Id"`
	}
	r.JSON(t, &resp)
	if !testenv.IsID(resp.ID) {
		t.Fatalf("exec create: ID %q in %s", resp.ID, r.Body)
	}
	return resp.ID
}

func execInspect(t testing.TB, id string) ctypes.ExecInspectResponse {
	t.Helper()
	r := d.ExpectStatus(t, http.StatusOK, "GET", "/exec/"+id+"/json", nil)
	var x ctypes.ExecInspectResponse
	r.JSON(t, &x)
	return x
}

// waitExecDone waits until the exec has exited and returns its inspect.
func waitExecDone(t testing.TB, id string) ctypes.ExecInspectResponse {
	t.Helper()
	var x ctypes.ExecInspectResponse
	testenv.Eventually(t, 15*time.Second, "exec "+id[:12]+" to end", func() bool {
		x = execInspect(t, id)
		return !x.Running && x.ExitCode != nil
	})
	return x
}

// ---- hijacked connections ----

// hijacked is an API connection taken over for a stream.
type hijacked struct {
	conn *net.UnixConn
	r    *bufio.Reader
	resp *http.Response
}

// hijack sends a request on a fresh connection and reads the answer's
// head; a 101 or 200 stream is then read from h.r. upgrade asks for the
// `Upgrade: tcp` the docker CLI sends. The connection is bounded to 30s.
func hijack(t testing.TB, method, path string, body any, upgrade bool) *hijacked {
	t.Helper()
	c, err := net.DialTimeout("unix", d.Socket, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn := c.(*net.UnixConn)
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		rd = bytes.NewReader(mustJSON(t, b))
	}
	req, err := http.NewRequest(method, "http://pouch"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if upgrade {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "tcp")
	}
	if err := req.Write(conn); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return &hijacked{conn: conn, r: br, resp: resp}
}

// errorBody reads a non-hijacked answer's body.
func (h *hijacked) errorBody() string {
	b, _ := io.ReadAll(h.resp.Body)
	return string(b)
}

// frame is one frame of a multiplexed (stdcopy) stream.
type frame struct {
	stream byte // 0 stdin, 1 stdout, 2 stderr, 3 system error
	data   []byte
}

// readFrame reads one stdcopy frame: an 8-byte header (stream, three zero
// bytes, big-endian size) and the payload.
func readFrame(r io.Reader) (frame, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frame{}, err
	}
	if hdr[0] > 3 || hdr[1] != 0 || hdr[2] != 0 || hdr[3] != 0 {
		return frame{}, fmt.Errorf("not a stdcopy frame header: % x", hdr)
	}
	data := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
	if _, err := io.ReadFull(r, data); err != nil {
		return frame{}, fmt.Errorf("frame payload: %w", err)
	}
	return frame{stream: hdr[0], data: data}, nil
}

// readFrames reads frames to EOF.
func readFrames(r io.Reader) ([]frame, error) {
	var out []frame
	for {
		f, err := readFrame(r)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}

// byStream joins the payloads of each stream.
func byStream(frames []frame) map[byte]string {
	m := map[byte]string{}
	for _, f := range frames {
		m[f.stream] += string(f.data)
	}
	return m
}

// ---- CLI processes: in a pseudo-terminal, or with pipes ----

// session is a CLI process the test talks to while it runs: in a
// pseudo-terminal (its stdin, stdout and stderr), or with pipes.
type session struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	ptmx   *os.File       // the terminal's master; nil with pipes
	stdin  io.WriteCloser // with pipes
	mu     sync.Mutex
	out    bytes.Buffer // the terminal's output, or stdout
	errb   bytes.Buffer // stderr (pipes only)
	pos    int          // what expect has consumed of out
	exited chan struct{}
	code   int
	read   sync.WaitGroup
}

// lockedWriter appends to a session's buffer.
type lockedWriter struct {
	s *session
	b *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.b.Write(p)
}

// pouchCmd and dockerCmd are the CLIs against the test daemon.
func pouchCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(d.BinDir, "pouch"), append([]string{"-H", d.Host()}, args...)...)
	cmd.Env = append(append(os.Environ(), "TERM=xterm"), d.CLIEnv...)
	return cmd
}

func dockerCmd(args ...string) *exec.Cmd {
	cfg := filepath.Join(d.Root, "docker-config")
	_ = os.MkdirAll(cfg, 0o700)
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "TERM=xterm", "DOCKER_HOST="+d.Host(), "DOCKER_CONFIG="+cfg)
	return cmd
}

// inPTY starts cmd with a new pseudo-terminal of rows x cols as its
// controlling terminal and stdio. The process is killed, if still
// running, when the test ends.
func inPTY(t testing.TB, rows, cols uint16, cmd *exec.Cmd) *session {
	t.Helper()
	s := &session{t: t, name: strings.Join(cmd.Args[min(3, len(cmd.Args)):], " "), cmd: cmd, exited: make(chan struct{})}
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatalf("start %v in a pty: %v", cmd.Args, err)
	}
	s.ptmx = ptmx
	s.read.Add(1)
	go func() {
		defer s.read.Done()
		_, _ = io.Copy(lockedWriter{s, &s.out}, ptmx) // ends with EIO once the process and its children are gone
	}()
	s.watch()
	return s
}

// withPipes starts cmd with pipes for stdin, stdout and stderr.
func withPipes(t testing.TB, cmd *exec.Cmd) *session {
	t.Helper()
	s := &session{t: t, name: strings.Join(cmd.Args[min(3, len(cmd.Args)):], " "), cmd: cmd, exited: make(chan struct{})}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = in
	cmd.Stdout, cmd.Stderr = lockedWriter{s, &s.out}, lockedWriter{s, &s.errb}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	s.watch()
	return s
}

func (s *session) watch() {
	go func() {
		err := s.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			s.code = ee.ExitCode()
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				s.code = 128 + int(st.Signal())
			}
		default:
			s.code = -1
		}
		close(s.exited)
	}()
	s.t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if s.ptmx != nil {
			s.ptmx.Close()
		}
		if s.stdin != nil {
			s.stdin.Close()
		}
	})
}

// Output is everything the process printed so far (stdout, or the
// terminal's output).
func (s *session) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Stderr is what the process printed on stderr (pipes only).
func (s *session) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errb.String()
}

// Expect waits until output not yet consumed matches re, consumes it up
// to the end of the match and returns the submatches.
func (s *session) Expect(re string, limit time.Duration) []string {
	s.t.Helper()
	m, ok := s.tryExpect(re, limit)
	if !ok {
		s.t.Fatalf("%s: no %q within %v; output so far:\n%q\nstderr: %q", s.name, re, limit, s.Output(), s.Stderr())
	}
	return m
}

// tryExpect is Expect that reports a miss instead of failing.
func (s *session) tryExpect(re string, limit time.Duration) ([]string, bool) {
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(limit)
	for {
		s.mu.Lock()
		rest := s.out.String()[s.pos:]
		if loc := rx.FindStringSubmatchIndex(rest); loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = rest[loc[2*i]:loc[2*i+1]]
				}
			}
			s.pos += loc[1]
			s.mu.Unlock()
			return m, true
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			return nil, false
		}
		select {
		case <-s.exited:
			// Give the reader a moment to drain the last output.
			s.read.Wait()
			deadline = time.Now()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Send writes to the process's terminal or stdin.
func (s *session) Send(text string) {
	s.t.Helper()
	var err error
	if s.ptmx != nil {
		_, err = s.ptmx.WriteString(text)
	} else {
		_, err = io.WriteString(s.stdin, text)
	}
	if err != nil {
		s.t.Fatalf("%s: send %q: %v", s.name, text, err)
	}
}

// CloseStdin ends the process's stdin (pipes only).
func (s *session) CloseStdin() { _ = s.stdin.Close() }

// Resize sets the terminal's window size: the kernel sends SIGWINCH to
// the terminal's foreground process group, the CLI.
func (s *session) Resize(rows, cols uint16) {
	s.t.Helper()
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		s.t.Fatal(err)
	}
}

// Signal sends a signal to the CLI process.
func (s *session) Signal(sig os.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("%s: signal %v: %v", s.name, sig, err)
	}
}

// Wait waits for the process to exit and returns its exit code; the test
// fails if it takes longer than limit.
func (s *session) Wait(limit time.Duration) int {
	s.t.Helper()
	select {
	case <-s.exited:
		s.read.Wait()
		return s.code
	case <-time.After(limit):
		s.t.Fatalf("%s: still running after %v; output:\n%q\nstderr: %q", s.name, limit, s.Output(), s.Stderr())
		return -1
	}
}

// Exited tells whether the process has exited.
func (s *session) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// shellPrompt matches busybox sh's prompt as root.
const shellPrompt = `# $|# \x1b`

// sizeProbe types a command that prints the terminal's size between
// unique markers, and returns what it printed ("" when stty failed, e.g.
// on a 0x0 terminal).
func (s *session) sizeProbe(limit time.Duration) (string, bool) {
	s.t.Helper()
	n := markerSeq.Add(1)
	// The echo of the typed command shows `S<n>=$(stty size)`, not digits
	// between the markers.
	s.Send(fmt.Sprintf("echo \"S%d=$(stty size)=E\"\r", n))
	m, ok := s.tryExpect(fmt.Sprintf(`S%d=([^=$]*)=E`, n), limit)
	if !ok {
		return "", false
	}
	return m[1], true
}

// expectSize checks the size the terminal of the shell in the session
// reports, waiting up to limit for it to become want (a resize travels
// CLI → daemon → shim asynchronously).
func (s *session) expectSize(want string, limit time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for {
		got, ok := s.sizeProbe(5 * time.Second)
		if !ok {
			s.t.Fatalf("%s: `stty size` printed nothing; output:\n%q", s.name, s.Output())
		}
		if got == want {
			return
		}
		last = got
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: stty size %q, want %q", s.name, last, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// marker types `echo` of a computed word and waits for the word: the
// shell behind the terminal is alive and answering.
func (s *session) marker(limit time.Duration) {
	s.t.Helper()
	n := markerSeq.Add(1)
	// A shell that is still starting may flush what was typed ahead (as
	// on any terminal): type the command again until it answers.
	deadline := time.Now().Add(limit)
	for {
		s.Send(fmt.Sprintf("echo M%d-$((6*7))-E\r", n))
		wait := min(2*time.Second, time.Until(deadline))
		if _, ok := s.tryExpect(fmt.Sprintf(`M%d-42-E`, n), wait); ok {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: no answer to a marker within %v; output so far:\n%q\nstderr: %q", s.name, limit, s.Output(), s.Stderr())
		}
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
