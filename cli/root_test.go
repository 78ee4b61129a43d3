package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"github.com/pouchcontainer/pouch/version"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

// run executes the CLI with args and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), command.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut}, args)
	return code, out.String(), errOut.String()
}

func missingSocket(t *testing.T) string {
	return "unix://" + filepath.Join(t.TempDir(), "pouchd.sock")
}

func TestFlagErrorsExit125(t *testing.T) {
	host := missingSocket(t)
	code, _, stderr := run(t, "", "-H", host, "ps", "--bogus")
	if code != 125 || stderr != "unknown flag: --bogus\nSee 'pouch ps --help'.\n" {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, "", "-H", host, "run", "-m", "lots", "busybox")
	if code != 125 || stderr != "pouch: invalid value \"lots\" for --memory: invalid size: 'lots'.\nSee 'pouch run --help'.\n" {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
}

func TestDaemonNotRunning(t *testing.T) {
	host := missingSocket(t)
	want := "cannot connect to pouchd at " + host + ": is it running?\n"
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-H", host, "ps"}, 1},
		{[]string{"-H", host, "run", "busybox"}, 125},
		{[]string{"-H", host, "stop", "a", "b"}, 1},
	} {
		code, _, stderr := run(t, "", tc.args...)
		if code != tc.code || stderr != want {
			t.Errorf("%v: code %d, stderr %q", tc.args, code, stderr)
		}
	}

	t.Setenv("POUCH_HOST", host)
	code, _, stderr := run(t, "", "-D", "images")
	if code != 1 || !strings.HasPrefix(stderr, want+"cause: ") {
		t.Errorf("POUCH_HOST: code %d, stderr %q", code, stderr)
	}
}

func TestVersionFlag(t *testing.T) {
	code, stdout, _ := run(t, "", "--version")
	if code != 0 || !strings.HasPrefix(stdout, "Pouch version "+version.Version+", build ") {
		t.Errorf("code %d, stdout %q", code, stdout)
	}
}

func TestMissingArguments(t *testing.T) {
	code, _, stderr := run(t, "", "-H", missingSocket(t), "rm")
	if code != 1 || !strings.HasPrefix(stderr, "\"pouch rm\" requires at least 1 argument.\nSee 'pouch rm --help'.\n\nUsage:  pouch rm [OPTIONS] CONTAINER [CONTAINER...]\n") {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
}

// fakeDaemon serves just enough of the Engine API on a unix socket for
// `pouch run`: create, a hijacked attach stream, wait and start. The
// container echoes its stdin upper-cased, says something on stderr and
// exits with code 7.
type fakeDaemon struct {
	mu       sync.Mutex
	requests []string
	exited   chan struct{}
}

func startFakeDaemon(t *testing.T) (string, *fakeDaemon) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{exited: make(chan struct{})}
	srv := &http.Server{Handler: d}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock, d
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
		path = path[i+1:]
	}
	d.mu.Lock()
	d.requests = append(d.requests, r.Method+" "+path+"?"+r.URL.RawQuery)
	d.mu.Unlock()
	w.Header().Set("Api-Version", "1.41")
	switch {
	case path == "/_ping":
		_, _ = io.WriteString(w, "OK")
	case path == "/containers/create":
		var req container.CreateRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"Id":"feedface","Warnings":[]}`)
	case path == "/containers/feedface/attach":
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		go d.playContainer(conn, buf)
	case path == "/containers/feedface/wait":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // the client registers the wait before starting
		<-d.exited
		_, _ = io.WriteString(w, `{"StatusCode":7}`)
	case path == "/containers/feedface/start":
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func (d *fakeDaemon) playContainer(conn net.Conn, buf *bufio.ReadWriter) {
	defer close(d.exited)
	defer conn.Close()
	_, _ = io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	in, _ := io.ReadAll(buf) // until the client half-closes
	frame := func(stream byte, s string) {
		hdr := make([]byte, 8)
		hdr[0] = stream
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
		_, _ = conn.Write(append(hdr, s...))
	}
	frame(1, strings.ToUpper(string(in)))
	frame(2, "done\n")
}

func TestRunAgainstFakeDaemon(t *testing.T) {
	host, d := startFakeDaemon(t)
	code, stdout, stderr := run(t, "hello\n", "-H", host, "run", "-i", "--rm", "--name", "x", "busybox", "cat")
	if code != 7 || stdout != "HELLO\n" || stderr != "done\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	want := []string{
		"HEAD /_ping?",
		"POST /containers/create?name=x",
		"POST /containers/feedface/attach?stderr=1&stdin=1&stdout=1&stream=1",
		"POST /containers/feedface/wait?condition=removed",
		"POST /containers/feedface/start?",
	}
	if strings.Join(d.requests, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(d.requests, "\n"), strings.Join(want, "\n"))
	}
}

// TestEveryCommandBuilds asks every command for its help, which merges
// its flags with the root's and panics on a clash.
func TestEveryCommandBuilds(t *testing.T) {
	var out, errOut bytes.Buffer
	var opts globalOptions
	root := newRootCommand(command.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, &opts, nil)
	var walk func(path []string, cmd *cobra.Command)
	walk = func(path []string, cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			p := append(append([]string{}, path...), sub.Name())
			code, _, stderr := run(t, "", append(p, "--help")...)
			if code != 0 {
				t.Errorf("%v --help: exit %d: %s", p, code, stderr)
			}
			walk(p, sub)
		}
	}
	walk(nil, root)
}

func TestGlobalFlagsBeforeCommand(t *testing.T) {
	host := missingSocket(t)
	code, _, stderr := run(t, "", "-H", host, "history", "-H=false", "busybox")
	if code != 1 || stderr != "cannot connect to pouchd at "+host+": is it running?\n" {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
}
