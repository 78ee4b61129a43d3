package exec

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestExecAPIStreams runs execs through the API with a hijacked start:
// without a TTY stdout and stderr arrive as multiplexed frames of stream 1
// and 2; with one the stream is raw. The exit code is on the exec's
// inspect.
func TestExecAPIStreams(t *testing.T) {
	t.Parallel()
	id, _ := d.Sleeper(t)

	t.Run("multiplexed", func(t *testing.T) {
		t.Parallel()
		ex := execCreate(t, id, map[string]any{
			"AttachStdout": true, "AttachStderr": true,
			"Cmd": []string{"sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 3"},
		})
		x := execInspect(t, ex)
		if x.Running || x.ExitCode != nil || x.ContainerID != id {
			t.Errorf("created exec: Running %v ExitCode %v ContainerID %q", x.Running, x.ExitCode, x.ContainerID)
		}
		h := hijack(t, "POST", "/exec/"+ex+"/start", map[string]any{"Detach": false, "Tty": false}, false)
		if h.resp.StatusCode != http.StatusOK {
			t.Fatalf("start: %d %s", h.resp.StatusCode, h.errorBody())
		}
		if ct := h.resp.Header.Get("Content-Type"); ct != "application/vnd.docker.multiplexed-stream" {
			t.Errorf("Content-Type %q, want application/vnd.docker.multiplexed-stream", ct)
		}
		frames, err := readFrames(h.r)
		if err != nil {
			t.Fatalf("frames: %v (so far %+v)", err, frames)
		}
		streams := byStream(frames)
		if streams[1] != "out1\nout2\n" || streams[2] != "err1\nerr2\n" || len(streams) != 2 {
			t.Errorf("streams %q, want stdout %q and stderr %q only", streams, "out1\nout2\n", "err1\nerr2\n")
		}
		x = waitExecDone(t, ex)
		if *x.ExitCode != 3 {
			t.Errorf("ExitCode %d, want 3", *x.ExitCode)
		}
		if pc := x.ProcessConfig; pc == nil || pc.Entrypoint != "sh" || len(pc.Arguments) != 2 || pc.Arguments[0] != "-c" || pc.Tty {
			t.Errorf("ProcessConfig %+v, want entrypoint sh, arguments [-c ...], no tty", pc)
		}
		if x.OpenStdin || !x.OpenStdout || !x.OpenStderr || x.ContainerID != id || x.ID != ex {
			t.Errorf("inspect %+v", x)
		}
		// An exec runs once.
		r := d.ExpectStatus(t, http.StatusConflict, "POST", "/exec/"+ex+"/start", map[string]any{"Detach": true})
		if !strings.Contains(r.Message(), "already") {
			t.Errorf("second start: %q", r.Message())
		}
		h = hijack(t, "POST", "/exec/"+ex+"/start", map[string]any{"Detach": false}, true)
		if h.resp.StatusCode != http.StatusConflict {
			t.Errorf("second attached start: %d, want 409", h.resp.StatusCode)
		}
	})

	t.Run("tty-raw", func(t *testing.T) {
		t.Parallel()
		ex := execCreate(t, id, map[string]any{
			"AttachStdout": true, "AttachStderr": true, "Tty": true,
			"Cmd": []string{"sh", "-c", "echo out; echo err >&2; stty size; exit 4"},
		})
		h := hijack(t, "POST", "/exec/"+ex+"/start", map[string]any{"Tty": true, "ConsoleSize": []int{21, 77}}, true)
		if h.resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("start with Upgrade: tcp: %d, want 101", h.resp.StatusCode)
		}
		if ct := h.resp.Header.Get("Content-Type"); ct != "application/vnd.docker.raw-stream" {
			t.Errorf("Content-Type %q, want application/vnd.docker.raw-stream", ct)
		}
		var b strings.Builder
		if _, err := h.r.WriteTo(&b); err != nil {
			t.Fatalf("read: %v", err)
		}
		if b.String() != "out\r\nerr\r\n21 77\r\n" {
			t.Errorf("raw stream %q, want %q", b.String(), "out\r\nerr\r\n21 77\r\n")
		}
		x := waitExecDone(t, ex)
		if *x.ExitCode != 4 || x.ProcessConfig == nil || !x.ProcessConfig.Tty {
			t.Errorf("inspect: ExitCode %d ProcessConfig %+v", *x.ExitCode, x.ProcessConfig)
		}
	})

	t.Run("stdin-half-close", func(t *testing.T) {
		t.Parallel()
		ex := execCreate(t, id, map[string]any{
			"AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
			"Cmd": []string{"sh", "-c", "cat; echo cat-ended >&2"},
		})
		h := hijack(t, "POST", "/exec/"+ex+"/start", map[string]any{}, true)
		if h.resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("start: %d", h.resp.StatusCode)
		}
		if _, err := h.conn.Write([]byte("hello\nworld\n")); err != nil {
			t.Fatal(err)
		}
		if err := h.conn.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		frames, err := readFrames(h.r)
		if err != nil {
			t.Fatalf("frames: %v", err)
		}
		if s := byStream(frames); s[1] != "hello\nworld\n" || s[2] != "cat-ended\n" {
			t.Errorf("streams %q: stdin's EOF must end cat", s)
		}
		if x := waitExecDone(t, ex); *x.ExitCode != 0 || !x.OpenStdin {
			t.Errorf("ExitCode %d OpenStdin %v", *x.ExitCode, x.OpenStdin)
		}
	})

	t.Run("resize", func(t *testing.T) {
		t.Parallel()
		ex := execCreate(t, id, map[string]any{
			"AttachStdin": true, "AttachStdout": true, "Tty": true,
			"Cmd": []string{"sh", "-c", `trap 'echo "size=$(stty size)"' WINCH; echo "start=$(stty size)"; while [ ! -e /tmp/quit-resize ]; do sleep 0.1; done; exit 6`},
		})
		h := hijack(t, "POST", "/exec/"+ex+"/start", map[string]any{"Tty": true, "ConsoleSize": []int{19, 91}}, true)
		if h.resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("start: %d", h.resp.StatusCode)
		}
		out := &streamBuf{}
		go func() { _, _ = h.r.WriteTo(out) }()
		testenv.Eventually(t, 10*time.Second, "the size at start", func() bool { return strings.Contains(out.String(), "start=19 91") })
		d.ExpectStatus(t, http.StatusOK, "POST", "/exec/"+ex+"/resize?h=33&w=111", nil)
		testenv.Eventually(t, 10*time.Second, "SIGWINCH with the new size", func() bool { return strings.Contains(out.String(), "size=33 111") })
		d.ExpectStatus(t, http.StatusBadRequest, "POST", "/exec/"+ex+"/resize?h=x&w=111", nil)
		d.PouchOK(t, "exec", id, "touch", "/tmp/quit-resize")
		if x := waitExecDone(t, ex); *x.ExitCode != 6 {
			t.Errorf("ExitCode %d, want 6; output %q", *x.ExitCode, out.String())
		}
	})

	t.Run("detached", func(t *testing.T) {
		t.Parallel()
		ex := execCreate(t, id, map[string]any{"Cmd": []string{"sh", "-c", "echo detached > /tmp/api-detached; exit 2"}})
		r := d.ExpectStatus(t, http.StatusOK, "POST", "/exec/"+ex+"/start", map[string]any{"Detach": true})
		if len(r.Body) != 0 {
			t.Errorf("detached start answered %q", r.Body)
		}
		if x := waitExecDone(t, ex); *x.ExitCode != 2 {
			t.Errorf("ExitCode %d, want 2", *x.ExitCode)
		}
		if got := d.PouchOK(t, "exec", id, "cat", "/tmp/api-detached"); got != "detached\n" {
			t.Errorf("file written by the detached exec: %q", got)
		}
	})

	t.Run("exec-ids", func(t *testing.T) {
		t.Parallel()
		ex := execCreate(t, id, map[string]any{"Cmd": []string{"true"}})
		c := d.Inspect(t, id)
		found := false
		for _, e := range c.ExecIDs {
			found = found || e == ex
		}
		if !found {
			t.Errorf("container ExecIDs %v lack %s", c.ExecIDs, ex)
		}
	})
}

// TestExecAPIErrors checks the refusals: unknown container or exec (404),
// bad requests (400), and a container that is stopped or paused (409).
func TestExecAPIErrors(t *testing.T) {
	t.Parallel()
	d.ExpectStatus(t, http.StatusNotFound, "POST", "/containers/nosuchcontainer_x/exec", map[string]any{"Cmd": []string{"true"}})
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/exec/nosuchexec/json", nil)
	d.ExpectStatus(t, http.StatusNotFound, "POST", "/exec/nosuchexec/start", map[string]any{"Detach": true})
	d.ExpectStatus(t, http.StatusNotFound, "POST", "/exec/nosuchexec/resize?h=10&w=10", nil)

	id, _ := d.Sleeper(t)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/exec", map[string]any{"Cmd": []string{}})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/exec", map[string]any{"Cmd": []string{"pwd"}, "WorkingDir": "relative"})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/exec", map[string]any{"Cmd": []string{"pwd"}, "DetachKeys": "ctrl-"})

	// Paused: creating is refused, and so is starting an exec created
	// before the pause.
	early := execCreate(t, id, map[string]any{"Cmd": []string{"true"}})
	d.PouchOK(t, "pause", id)
	r := d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/exec", map[string]any{"Cmd": []string{"true"}})
	if !strings.Contains(r.Message(), "paused") {
		t.Errorf("exec in a paused container: %q, want it to say paused", r.Message())
	}
	r = d.ExpectStatus(t, http.StatusConflict, "POST", "/exec/"+early+"/start", map[string]any{"Detach": true})
	if !strings.Contains(r.Message(), "paused") {
		t.Errorf("start in a paused container: %q, want it to say paused", r.Message())
	}
	d.PouchOK(t, "unpause", id)

	// Stopped.
	d.PouchOK(t, "stop", "-t", "0", id)
	r = d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/exec", map[string]any{"Cmd": []string{"true"}})
	if !strings.Contains(r.Message(), "not running") {
		t.Errorf("exec in a stopped container: %q, want it to say not running", r.Message())
	}

	// A created, never started container.
	cr := d.Do(t, "POST", "/containers/create?name="+testenv.UniqueName(t), map[string]any{"Image": "busybox", "Cmd": []string{"true"}})
	if cr.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", cr.Status, cr.Body)
	}
	var created struct {
		ID string `json:"Id"`
	}
	cr.JSON(t, &created)
	d.RemoveContainerOnCleanup(t, created.ID)
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+created.ID+"/exec", map[string]any{"Cmd": []string{"true"}})
}

// TestExecCLI covers `pouch exec` and its options; the command's exit code
// becomes the CLI's.
func TestExecCLI(t *testing.T) {
	t.Parallel()
	id, name := d.Sleeper(t, "-e", "FROM_IMAGE_RUN=yes")

	t.Run("streams", func(t *testing.T) {
		t.Parallel()
		res := d.Pouch(t, nil, "exec", name, "sh", "-c", "echo out; echo err >&2")
		if res.ExitCode != 0 || res.Stdout != "out\n" || res.Stderr != "err\n" {
			t.Errorf("exit %d stdout %q stderr %q", res.ExitCode, res.Stdout, res.Stderr)
		}
	})
	t.Run("exit-codes", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			code int
		}{
			{[]string{"true"}, 0},
			{[]string{"sh", "-c", "exit 3"}, 3},
			{[]string{"sh", "-c", "exit 255"}, 255},
			{[]string{"sh", "-c", "kill -9 $$"}, 137},
			{[]string{"nosuchcommand"}, 127},
			{[]string{"/no/such/path"}, 127},
			{[]string{"/etc/passwd"}, 126},
			{[]string{"/etc"}, 126},
		} {
			res := d.Pouch(t, nil, append([]string{"exec", id}, tc.args...)...)
			if res.ExitCode != tc.code {
				t.Errorf("pouch exec %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), res.ExitCode, tc.code, res.Combined())
			}
			if (tc.code == 126 || tc.code == 127) && !strings.Contains(res.Combined(), tc.args[0]) {
				t.Errorf("pouch exec %s: the error does not name the command: %q", tc.args[0], res.Combined())
			}
		}
	})
	t.Run("env", func(t *testing.T) {
		t.Parallel()
		envFile := filepath.Join(t.TempDir(), "env")
		if err := os.WriteFile(envFile, []byte("# comment\nFROM_FILE=file\nBOTH=file\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		res := d.Pouch(t, nil, "exec", "-e", "FROM_FLAG=flag", "-e", "BOTH=flag", "--env-file", envFile, name,
			"sh", "-c", `echo "$FROM_FLAG $FROM_FILE $BOTH $FROM_IMAGE_RUN"`)
		if res.ExitCode != 0 || res.Stdout != "flag file flag yes\n" {
			t.Errorf("exit %d %q, want %q", res.ExitCode, res.Combined(), "flag file flag yes\n")
		}
		res = d.Pouch(t, nil, "exec", "--env-file", "/no/such/envfile", name, "true")
		if res.ExitCode == 0 {
			t.Errorf("a missing --env-file was accepted")
		}
	})
	t.Run("user", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ user, want string }{
			{"", "0 0"},
			{"1234", "1234 0"},
			{"1234:5678", "1234 5678"},
			{"nobody", "65534 65534"},
		} {
			args := []string{"exec"}
			if tc.user != "" {
				args = append(args, "-u", tc.user)
			}
			res := d.Pouch(t, nil, append(args, name, "sh", "-c", "echo $(id -u) $(id -g)")...)
			if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != tc.want {
				t.Errorf("exec -u %q: exit %d %q, want %q", tc.user, res.ExitCode, res.Combined(), tc.want)
			}
		}
		if res := d.Pouch(t, nil, "exec", "-u", "nosuchuser", name, "true"); res.ExitCode == 0 {
			t.Errorf("exec -u nosuchuser: exit 0")
		}
	})
	t.Run("workdir", func(t *testing.T) {
		t.Parallel()
		if got := d.PouchOK(t, "exec", "-w", "/etc", name, "pwd"); got != "/etc\n" {
			t.Errorf("exec -w /etc pwd: %q", got)
		}
		if got := d.PouchOK(t, "exec", name, "pwd"); got != "/\n" {
			t.Errorf("exec pwd: %q", got)
		}
		if res := d.Pouch(t, nil, "exec", "-w", "etc", name, "pwd"); res.ExitCode == 0 {
			t.Errorf("exec -w etc (relative): exit 0: %q", res.Combined())
		}
	})
	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		// -i: the piped input reaches the command, and its EOF ends cat.
		res := d.Pouch(t, strings.NewReader("hello\nworld\n"), "exec", "-i", name, "cat")
		if res.ExitCode != 0 || res.Stdout != "hello\nworld\n" {
			t.Errorf("exec -i cat: exit %d %q", res.ExitCode, res.Combined())
		}
		big := strings.Repeat("0123456789abcdef", 200000/16)
		res = d.Pouch(t, strings.NewReader(big), "exec", "-i", name, "wc", "-c")
		if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != fmt.Sprint(len(big)) {
			t.Errorf("200 kB through exec -i: exit %d %q", res.ExitCode, res.Combined())
		}
		res = d.Pouch(t, strings.NewReader("x\n"), "exec", "-i", name, "sh", "-c", "read l; echo got $l; exit 9")
		if res.ExitCode != 9 || res.Stdout != "got x\n" {
			t.Errorf("exec -i read: exit %d %q", res.ExitCode, res.Combined())
		}
		// Without -i the command's stdin is not the client's.
		res = d.Pouch(t, strings.NewReader("secret\n"), "exec", name, "cat")
		if res.ExitCode != 0 || res.Stdout != "" {
			t.Errorf("exec cat without -i: exit %d %q", res.ExitCode, res.Combined())
		}
	})
	t.Run("detach", func(t *testing.T) {
		t.Parallel()
		res := d.Pouch(t, nil, "exec", "-d", name, "sh", "-c", "sleep 0.3; echo ran > /tmp/exec-d; echo noise")
		if res.ExitCode != 0 || res.Stdout != "" {
			t.Errorf("exec -d: exit %d %q", res.ExitCode, res.Combined())
		}
		testenv.Eventually(t, 10*time.Second, "the detached exec to write its file", func() bool {
			return d.Pouch(t, nil, "exec", name, "cat", "/tmp/exec-d").Stdout == "ran\n"
		})
		// A detached exec of a missing command fails at once.
		if res := d.Pouch(t, nil, "exec", "-d", name, "nosuchcommand"); res.ExitCode == 0 {
			t.Errorf("exec -d nosuchcommand: exit 0")
		}
	})
	t.Run("privileged", func(t *testing.T) {
		t.Parallel()
		plain, ok1 := capEff(d.PouchOK(t, "exec", name, "cat", "/proc/self/status"))
		priv, ok2 := capEff(d.PouchOK(t, "exec", "--privileged", name, "cat", "/proc/self/status"))
		if !ok1 || !ok2 {
			t.Fatalf("no CapEff in /proc/self/status")
		}
		if plain == priv || plain&capSysAdmin != 0 || priv&capSysAdmin == 0 {
			t.Errorf("CapEff %x without --privileged, %x with: want CAP_SYS_ADMIN with it only", plain, priv)
		}
		// It shows on the exec's inspect.
		ex := execCreate(t, id, map[string]any{"Cmd": []string{"true"}, "Privileged": true, "User": "1"})
		if pc := execInspect(t, ex).ProcessConfig; pc == nil || pc.Privileged == nil || !*pc.Privileged || pc.User != "1" {
			t.Errorf("ProcessConfig %+v, want privileged, user 1", pc)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		res := d.Pouch(t, nil, "exec", "nosuchcontainer_x", "true")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "No such container") {
			t.Errorf("exec in an unknown container: exit %d %q", res.ExitCode, res.Combined())
		}
		if res := d.Pouch(t, nil, "exec", name); res.ExitCode == 0 {
			t.Errorf("exec without a command: exit 0")
		}
	})
}

// TestExecCLIStoppedPaused checks that exec into a paused or stopped
// container fails with a clear message and a non-zero exit code.
func TestExecCLIStoppedPaused(t *testing.T) {
	t.Parallel()
	_, name := d.Sleeper(t)
	d.PouchOK(t, "pause", name)
	res := d.Pouch(t, nil, "exec", name, "true")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "paused") {
		t.Errorf("exec in a paused container: exit %d %q, want non-zero and \"paused\"", res.ExitCode, res.Combined())
	}
	d.PouchOK(t, "unpause", name)
	if got := d.PouchOK(t, "exec", name, "echo", "ok"); got != "ok\n" {
		t.Errorf("exec after unpause: %q", got)
	}
	d.PouchOK(t, "stop", "-t", "0", name)
	res = d.Pouch(t, nil, "exec", name, "true")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "not running") {
		t.Errorf("exec in a stopped container: exit %d %q, want non-zero and \"not running\"", res.ExitCode, res.Combined())
	}
}

// streamBuf collects a stream for polling.
type streamBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *streamBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *streamBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// capSysAdmin is CAP_SYS_ADMIN's bit in a capability set.
const capSysAdmin = 1 << 21

var capEffLine = regexp.MustCompile(`CapEff:\s*([0-9a-f]+)`)

// capEff reads the effective capabilities from /proc/PID/status text.
func capEff(status string) (uint64, bool) {
	m := capEffLine.FindStringSubmatch(status)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseUint(m[1], 16, 64)
	return v, err == nil
}
