package container

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// socketPair returns the two ends of a connected unix socket; unlike
// net.Pipe they support CloseWrite, as the daemon's hijacked connection
// does.
func socketPair(t *testing.T) (cliSide, daemonSide *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	a, b := conn(fds[0]), conn(fds[1])
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// writeFrame writes one stdcopy frame: stream 1 is stdout, 2 stderr.
func writeFrame(w io.Writer, stream byte, data string) {
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(data)))
	_, _ = w.Write(append(hdr, data...))
}

// fakeDaemon scripts a container for run: what its attach stream does,
// its exit code and the start error, and records the order of calls.
type fakeDaemon struct {
	t         *testing.T
	container func(conn *net.UnixConn) // plays the container on the attach stream
	exitCode  int64
	startErr  error

	mu      sync.Mutex
	calls   []string
	created client.ContainerCreateOptions
	attach  client.ContainerAttachOptions
	wait    client.ContainerWaitOptions
	kills   []string
	exited  chan struct{}
}

func (d *fakeDaemon) record(call string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, call)
}

func (d *fakeDaemon) client() *fakeClient {
	d.exited = make(chan struct{})
	return &fakeClient{
		createFunc: func(o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
			d.record("create")
			d.created = o
			return client.ContainerCreateResult{ID: "c0ffee0123456789"}, nil
		},
		attachFunc: func(id string, o client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
			d.record("attach")
			d.attach = o
			cliSide, daemonSide := socketPair(d.t)
			go func() {
				defer close(d.exited)
				defer daemonSide.Close()
				if d.container != nil {
					d.container(daemonSide)
				}
			}()
			return client.ContainerAttachResult{
				HijackedResponse: client.NewHijackedResponse(cliSide, "application/vnd.docker.multiplexed-stream"),
			}, nil
		},
		waitFunc: func(id string, o client.ContainerWaitOptions) client.ContainerWaitResult {
			d.record("wait")
			d.wait = o
			resC := make(chan container.WaitResponse, 1)
			errC := make(chan error, 1)
			go func() {
				<-d.exited
				resC <- container.WaitResponse{StatusCode: d.exitCode}
			}()
			return client.ContainerWaitResult{Result: resC, Error: errC}
		},
		startFunc: func(id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
			d.record("start")
			return client.ContainerStartResult{}, d.startErr
		},
		killFunc: func(id string, o client.ContainerKillOptions) (client.ContainerKillResult, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.kills = append(d.kills, o.Signal)
			return client.ContainerKillResult{}, nil
		},
	}
}

func TestRunForegroundStreamsOutputAndExitCode(t *testing.T) {
	d := &fakeDaemon{t: t, exitCode: 3, container: func(conn *net.UnixConn) {
		writeFrame(conn, 1, "hello\n")
		writeFrame(conn, 2, "oops\n")
		writeFrame(conn, 1, "bye\n")
	}}
	deps, out, errOut := testDeps(d.client(), "")
	err := execute(t, newRunCommand(deps), "busybox", "sh", "-c", "echo hello")

	assertEqual(t, "exit code", exitCode(err), 3)
	assertEqual(t, "stdout", out.String(), "hello\nbye\n")
	assertEqual(t, "stderr", errOut.String(), "oops\n")
	assertEqual(t, "calls", d.calls, []string{"create", "attach", "wait", "start"})
	assertEqual(t, "attach", d.attach, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	assertEqual(t, "wait condition", d.wait.Condition, container.WaitConditionNextExit)
}

func TestRunZeroExit(t *testing.T) {
	d := &fakeDaemon{t: t, container: func(conn *net.UnixConn) { writeFrame(conn, 1, "ok\n") }}
	deps, out, _ := testDeps(d.client(), "")
	if err := execute(t, newRunCommand(deps), "busybox", "true"); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	assertEqual(t, "stdout", out.String(), "ok\n")
}

func TestRunWithRmWaitsForRemoval(t *testing.T) {
	d := &fakeDaemon{t: t}
	deps, _, _ := testDeps(d.client(), "")
	if err := execute(t, newRunCommand(deps), "--rm", "busybox"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "wait condition", d.wait.Condition, container.WaitConditionRemoved)
	if !d.created.HostConfig.AutoRemove {
		t.Error("AutoRemove not sent: the daemon must remove the container")
	}
}

func TestRunInteractiveCopiesStdinAndClosesIt(t *testing.T) {
	// The container echoes its stdin back once the client half-closes.
	d := &fakeDaemon{t: t, container: func(conn *net.UnixConn) {
		in, _ := io.ReadAll(conn)
		writeFrame(conn, 1, strings.ToUpper(string(in)))
	}}
	deps, out, _ := testDeps(d.client(), "ping\npong\n")
	if err := execute(t, newRunCommand(deps), "-i", "busybox", "cat"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "PING\nPONG\n")
	if !d.attach.Stdin || !d.created.Config.OpenStdin || !d.created.Config.StdinOnce {
		t.Errorf("stdin not attached: attach %+v config %+v", d.attach, d.created.Config)
	}
}

func TestRunDetachedPrintsID(t *testing.T) {
	d := &fakeDaemon{t: t}
	deps, out, _ := testDeps(d.client(), "")
	if err := execute(t, newRunCommand(deps), "-d", "-i", "busybox", "top"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "c0ffee0123456789\n")
	assertEqual(t, "calls", d.calls, []string{"create", "start"})
	c := d.created.Config
	if c.AttachStdin || c.AttachStdout || c.AttachStderr || c.StdinOnce || !c.OpenStdin {
		t.Errorf("detached config: %+v", c)
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		startErr string
		want     int
	}{
		{`Error response from daemon: failed to create task: exec: "nope": executable file not found in $PATH`, 127},
		{`Error response from daemon: exec: "/bin/nope": stat /bin/nope: no such file or directory`, 127},
		{`Error response from daemon: exec: "/etc/passwd": permission denied`, 126},
		{`Error response from daemon: exec: "/etc": is a directory`, 126},
		{`Error response from daemon: cannot join network of a non running container`, 125},
	}
	for _, tt := range tests {
		t.Run(tt.startErr, func(t *testing.T) {
			for _, detach := range []bool{false, true} {
				d := &fakeDaemon{t: t, startErr: errorString(tt.startErr)}
				deps, out, _ := testDeps(d.client(), "")
				args := []string{"busybox"}
				if detach {
					args = append([]string{"-d"}, args...)
				}
				err := execute(t, newRunCommand(deps), args...)
				assertEqual(t, "exit code", exitCode(err), tt.want)
				assertEqual(t, "message", err.Error(), "pouch: "+tt.startErr+".")
				assertEqual(t, "stdout", out.String(), "")
			}
		})
	}
}

func TestRunCreateFailureExits125(t *testing.T) {
	fake := &fakeClient{createFunc: func(client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
		return client.ContainerCreateResult{}, errorString("Error response from daemon: Conflict. The container name \"/web\" is already in use")
	}}
	deps, _, _ := testDeps(fake, "")
	err := execute(t, newRunCommand(deps), "--name", "web", "busybox")
	assertEqual(t, "exit code", exitCode(err), 125)
}

func TestForwardSignals(t *testing.T) {
	d := &fakeDaemon{t: t}
	fake := d.client()
	sigc := make(chan os.Signal)
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		forwardSignals(ctx, fake, "c0ffee", sigc)
		close(done)
	}()
	sigc <- syscall.SIGINT
	sigc <- syscall.SIGTERM
	cancel()
	<-done
	assertEqual(t, "signals sent", d.kills, []string{"SIGINT", "SIGTERM"})
}
