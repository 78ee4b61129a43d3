// Package shim drives pouch-shim, containerd's runc shim v2, over ttrpc:
// it starts one shim per container with the shim v2 bootstrap protocol,
// reconnects to running shims after a daemon restart, and cleans up shims
// that died while the daemon was away.
package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	bootapi "github.com/containerd/containerd/api/runtime/bootstrap/v1"
	taskv3 "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	"github.com/containerd/containerd/v2/pkg/protobuf/proto"
	shimutil "github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/fifo"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
	"golang.org/x/sys/unix"
)

// Namespace is the namespace shims run in.
const Namespace = "pouch"

// Config configures the Manager.
type Config struct {
	Binary        string // pouch-shim
	SocketDir     string // shim sockets; keep the path short (unix socket limit)
	EventsAddress string // pouchd's ttrpc events socket
	Debug         bool
}

// Manager starts and finds shims.
type Manager struct {
	cfg Config
}

// NewManager returns a Manager.
func NewManager(cfg Config) *Manager { return &Manager{cfg: cfg} }

// Runtime says which OCI runtime a shim runs.
type Runtime struct {
	Binary string // runc or another OCI runtime binary
	Root   string // its state root
}

// Shim is a connection to one running shim.
type Shim struct {
	ID      string
	Bundle  string
	sockets []string // the shim's API socket first, then any other it serves
	client  *ttrpc.Client
	task    taskv3.TTRPCTaskService
	logs    io.Closer

	closeOnce sync.Once
}

// Exit is how a task ended.
type Exit struct {
	Pid      uint32
	Status   uint32
	ExitedAt time.Time
}

func (m *Manager) ctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, Namespace)
}

func (m *Manager) command(ctx context.Context, id, bundle, action string) *exec.Cmd {
	args := []string{"-namespace", Namespace, "-address", m.cfg.EventsAddress, "-id", id}
	if action == "delete" {
		args = append(args, "-bundle", bundle)
	}
	if m.cfg.Debug {
		args = append(args, "-debug")
	}
	if action != "" {
		args = append(args, action)
	}
	cmd := exec.CommandContext(ctx, m.cfg.Binary, args...)
	cmd.Dir = bundle
	cmd.Env = append(os.Environ(),
		"GOMAXPROCS=2",
		"TTRPC_ADDRESS="+m.cfg.EventsAddress,
		"GRPC_ADDRESS="+m.cfg.EventsAddress,
		"NAMESPACE="+Namespace,
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Start starts a shim for the container whose bundle (a directory named
// after the container id, holding config.json) is given, and connects to it.
func (m *Manager) Start(ctx context.Context, id, bundle string) (_ *Shim, retErr error) {
	ctx = m.ctx(ctx)
	if filepath.Base(bundle) != id {
		return nil, fmt.Errorf("bundle %s must be named after container %s: %w", bundle, id, errdefs.ErrInvalidArgument)
	}
	if err := os.MkdirAll(m.cfg.SocketDir, 0o711); err != nil {
		return nil, err
	}
	logs, err := drainShimLog(bundle)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			logs.Close()
		}
	}()
	address, proc, err := m.spawn(id, bundle)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			// No task was created yet: stopping the shim is all it takes.
			_ = proc.Kill()
			removeSockets(ctx, m.sockets(ctx, id, address))
		}
	}()
	result := bootapi.BootstrapResult{Version: 3, Address: address, Protocol: "ttrpc"}
	b, err := json.Marshal(&result)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "bootstrap.json"), b, 0o600); err != nil {
		return nil, err
	}
	return connect(id, bundle, m.sockets(ctx, id, result.GetAddress()), logs)
}

// spawn starts the long-lived shim process itself, the way the shim's own
// `start` action would (a listening socket handed over as fd 3, and fd 4
// for the debug socket; its own process group; the OOM score just above
// the daemon's), but without that extra helper process: starting a process
// is the costliest step of a container start here. It returns the address.
func (m *Manager) spawn(id, bundle string) (_ string, _ *os.Process, retErr error) {
	ctx := m.ctx(context.Background())
	var files []*os.File
	var addresses []string
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if retErr != nil {
			removeSockets(ctx, addresses)
		}
	}()
	for _, debug := range []bool{false, true} {
		if debug && !m.cfg.Debug {
			break
		}
		address, err := shimutil.CreateSocketAddress(ctx, m.cfg.SocketDir, m.cfg.EventsAddress, id, debug)
		if err != nil {
			return "", nil, err
		}
		l, err := shimutil.NewSocket(address)
		if err != nil && shimutil.SocketEaddrinuse(err) {
			// Left by a shim that died: nobody serves it.
			_ = shimutil.RemoveSocket(address)
			l, err = shimutil.NewSocket(address)
		}
		if err != nil {
			return "", nil, fmt.Errorf("shim socket: %w", err)
		}
		// The shim owns the socket from now on: closing our copy must not
		// unlink it.
		l.SetUnlinkOnClose(false)
		f, err := l.File()
		l.Close()
		if err != nil {
			_ = shimutil.RemoveSocket(address)
			return "", nil, err
		}
		files = append(files, f)
		addresses = append(addresses, address)
	}
	// The shim finds its socket directory through this link to clean up.
	link := filepath.Join(bundle, "s")
	_ = os.Remove(link)
	if err := os.Symlink(m.cfg.SocketDir, link); err != nil {
		return "", nil, err
	}
	cmd := m.command(context.Background(), id, bundle, "")
	cmd.ExtraFiles = files
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start shim: %w", err)
	}
	go cmd.Wait() //nolint:errcheck // reaped while we live; init reaps it after
	if err := shimutil.AdjustOOMScore(cmd.Process.Pid); err != nil {
		log.G(ctx).WithError(err).Debug("adjust the shim's OOM score")
	}
	return addresses[0], cmd.Process, nil
}

// Connect reconnects to the shim of a bundle after a daemon restart.
func (m *Manager) Connect(ctx context.Context, id, bundle string) (*Shim, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "bootstrap.json"))
	if err != nil {
		return nil, fmt.Errorf("shim of %s: %w", id, errdefs.ErrNotFound)
	}
	var result bootapi.BootstrapResult
	if err := json.Unmarshal(b, &result); err != nil {
		return nil, fmt.Errorf("shim of %s: bootstrap.json: %w", id, err)
	}
	logs, err := drainShimLog(bundle)
	if err != nil {
		return nil, err
	}
	s, err := connect(id, bundle, m.sockets(ctx, id, result.GetAddress()), logs)
	if err != nil {
		logs.Close()
		return nil, err
	}
	// A socket may still accept while its shim is gone; ask it.
	cctx, cancel := context.WithTimeout(m.ctx(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.task.Connect(cctx, &taskv3.ConnectRequest{ID: id}); err != nil {
		s.Close()
		return nil, fmt.Errorf("shim of %s: %w", id, errdefs.ErrUnavailable)
	}
	return s, nil
}

// Cleanup runs the shim's delete action for a shim that is gone: runc's
// state is deleted, the rootfs unmounted, and the recorded exit returned.
func (m *Manager) Cleanup(ctx context.Context, id, bundle string) (*Exit, error) {
	ctx, cancel := context.WithTimeout(m.ctx(ctx), 30*time.Second)
	defer cancel()
	cmd := m.command(ctx, id, bundle, "delete")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("clean up shim of %s: %s: %w", id, strings.TrimSpace(stderr.String()), err)
	}
	// The dead shim's sockets may be left.
	if b, err := os.ReadFile(filepath.Join(bundle, "bootstrap.json")); err == nil {
		var result bootapi.BootstrapResult
		if json.Unmarshal(b, &result) == nil && result.GetAddress() != "" {
			removeSockets(ctx, m.sockets(ctx, id, result.GetAddress()))
		}
	}
	var resp taskv3.DeleteResponse
	if err := proto.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return nil, err
	}
	return &Exit{Pid: resp.Pid, Status: resp.ExitStatus, ExitedAt: protobuf.FromTimestamp(resp.ExitedAt)}, nil
}

// sockets lists the sockets a shim serves: its API at address, and the
// pprof socket a shim started with debug logging adds beside it.
func (m *Manager) sockets(ctx context.Context, id, address string) []string {
	out := []string{address}
	if debug, err := shimutil.CreateSocketAddress(m.ctx(ctx), m.cfg.SocketDir, m.cfg.EventsAddress, id, true); err == nil && debug != address {
		out = append(out, debug)
	}
	return out
}

// removeSockets removes socket files. A shim removes its own only when it
// can still read their paths from its bundle, which is deleted as soon as
// the shim has been told to go.
func removeSockets(ctx context.Context, addresses []string) {
	for _, a := range addresses {
		if err := shimutil.RemoveSocket(a); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.G(ctx).WithError(err).WithField("socket", a).Debug("remove shim socket")
		}
	}
}

// connect dials the shim's API socket, sockets[0].
func connect(id, bundle string, sockets []string, logs io.Closer) (*Shim, error) {
	conn, err := shimutil.AnonDialer(sockets[0], 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to shim of %s: %w", id, errdefs.ErrUnavailable)
	}
	client := ttrpc.NewClient(conn)
	return &Shim{ID: id, Bundle: bundle, sockets: sockets, client: client, task: taskv3.NewTTRPCTaskClient(client), logs: logs}, nil
}

// drainShimLog opens the bundle's log fifo, which the shim writes its own
// log to, and copies it to the daemon's log so the shim never blocks on it.
func drainShimLog(bundle string) (io.Closer, error) {
	f, err := fifo.OpenFifo(context.Background(), filepath.Join(bundle, "log"), unix.O_RDWR|unix.O_CREAT|unix.O_NONBLOCK, 0o700)
	if err != nil {
		return nil, fmt.Errorf("open shim log: %w", err)
	}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				for _, line := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
					if line != "" {
						log.L.WithField("shim", filepath.Base(bundle)).Debug(line)
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return f, nil
}

func runcOptions(rt Runtime) *options.Options {
	return &options.Options{BinaryName: rt.Binary, Root: rt.Root}
}

// CreateOptions describe the task's IO and runtime.
type CreateOptions struct {
	Stdin, Stdout, Stderr string // fifo paths
	Terminal              bool
	Rootfs                []*types.Mount
	Runtime               Runtime
}

// Create creates the container's init task; it does not start it.
func (s *Shim) Create(ctx context.Context, opts CreateOptions) (uint32, error) {
	anyOpts, err := typeurl.MarshalAnyToProto(runcOptions(opts.Runtime))
	if err != nil {
		return 0, err
	}
	resp, err := s.task.Create(nsctx(ctx), &taskv3.CreateTaskRequest{
		ID: s.ID, Bundle: s.Bundle, Rootfs: opts.Rootfs, Terminal: opts.Terminal,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
		Options: anyOpts,
	})
	if err != nil {
		return 0, errgrpc.ToNative(err)
	}
	return resp.Pid, nil
}

// Start starts the init task.
func (s *Shim) Start(ctx context.Context) (uint32, error) {
	resp, err := s.task.Start(nsctx(ctx), &taskv3.StartRequest{ID: s.ID})
	if err != nil {
		return 0, errgrpc.ToNative(err)
	}
	return resp.Pid, nil
}

// Kill signals the init process, or every process of the container.
func (s *Shim) Kill(ctx context.Context, sig syscall.Signal, all bool) error {
	_, err := s.task.Kill(nsctx(ctx), &taskv3.KillRequest{ID: s.ID, Signal: uint32(sig), All: all})
	return errgrpc.ToNative(err)
}

// Wait blocks until the init process exits.
func (s *Shim) Wait(ctx context.Context) (Exit, error) {
	resp, err := s.task.Wait(nsctx(ctx), &taskv3.WaitRequest{ID: s.ID})
	if err != nil {
		return Exit{}, errgrpc.ToNative(err)
	}
	return Exit{Status: resp.ExitStatus, ExitedAt: protobuf.FromTimestamp(resp.ExitedAt)}, nil
}

// State is the task's state as the shim reports it.
type State struct {
	Pid      uint32
	Status   string // created, running, stopped, paused, pausing, unknown
	Exit     Exit
	Terminal bool
}

// State asks the shim for the task's state.
func (s *Shim) State(ctx context.Context) (State, error) {
	resp, err := s.task.State(nsctx(ctx), &taskv3.StateRequest{ID: s.ID})
	if err != nil {
		return State{}, errgrpc.ToNative(err)
	}
	st := strings.ToLower(strings.TrimPrefix(resp.Status.String(), "STATUS_"))
	return State{
		Pid: resp.Pid, Status: st, Terminal: resp.Terminal,
		Exit: Exit{Pid: resp.Pid, Status: resp.ExitStatus, ExitedAt: protobuf.FromTimestamp(resp.ExitedAt)},
	}, nil
}

// CloseStdin closes the shim's end of the task's stdin FIFO: once every
// other writer has closed it too, the process reads EOF. The shim holds
// its own writer so that stdin outlives any one client; this lets it go.
func (s *Shim) CloseStdin(ctx context.Context) error {
	_, err := s.task.CloseIO(nsctx(ctx), &taskv3.CloseIORequest{ID: s.ID, Stdin: true})
	return errgrpc.ToNative(err)
}

// Pause freezes the container.
func (s *Shim) Pause(ctx context.Context) error {
	_, err := s.task.Pause(nsctx(ctx), &taskv3.PauseRequest{ID: s.ID})
	return errgrpc.ToNative(err)
}

// Resume thaws the container.
func (s *Shim) Resume(ctx context.Context) error {
	_, err := s.task.Resume(nsctx(ctx), &taskv3.ResumeRequest{ID: s.ID})
	return errgrpc.ToNative(err)
}

// Delete deletes the stopped task: runc's state goes, the IO is closed.
func (s *Shim) Delete(ctx context.Context) (Exit, error) {
	resp, err := s.task.Delete(nsctx(ctx), &taskv3.DeleteRequest{ID: s.ID})
	if err != nil {
		return Exit{}, errgrpc.ToNative(err)
	}
	return Exit{Pid: resp.Pid, Status: resp.ExitStatus, ExitedAt: protobuf.FromTimestamp(resp.ExitedAt)}, nil
}

// Shutdown asks the shim to exit, closes the connection and removes the
// shim's sockets (see removeSockets).
func (s *Shim) Shutdown(ctx context.Context) error {
	_, err := s.task.Shutdown(nsctx(ctx), &taskv3.ShutdownRequest{ID: s.ID})
	s.Close()
	removeSockets(ctx, s.sockets)
	if err != nil && !errors.Is(err, ttrpc.ErrClosed) && !isConnGone(err) {
		return errgrpc.ToNative(err)
	}
	return nil
}

// Close closes the connection; the shim keeps running.
func (s *Shim) Close() {
	s.closeOnce.Do(func() {
		s.client.Close()
		if s.logs != nil {
			s.logs.Close()
		}
	})
}

func isConnGone(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "ttrpc: closed")
}

func nsctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, Namespace)
}
