package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/term"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/jsonlog"
	svc "github.com/pouchcontainer/pouch/services/container"
)

// ExecBackend is what the exec endpoints need of the container service.
type ExecBackend interface {
	ExecCreate(ctx context.Context, ref string, cfg ctypes.ExecCreateRequest) (*svc.Exec, error)
	GetExec(id string) (*svc.Exec, error)
	ExecStart(ctx context.Context, id string, detach bool, consoleSize *[2]uint, streams svc.ExecStreams) error
	ExecResize(ctx context.Context, id string, height, width uint32) error
}

// ExecRouter serves exec instances.
type ExecRouter struct{ b ExecBackend }

// NewExec returns the exec router.
func NewExec(b ExecBackend) *ExecRouter { return &ExecRouter{b: b} }

// Routes lists the endpoints.
func (r *ExecRouter) Routes() []server.Route {
	return []server.Route{
		{Method: "POST", Path: "/containers/{id}/exec", Handler: r.create},
		{Method: "POST", Path: "/exec/{id}/start", Handler: r.start},
		{Method: "POST", Path: "/exec/{id}/resize", Handler: r.resize},
		{Method: "GET", Path: "/exec/{id}/json", Handler: r.inspect},
	}
}

func (r *ExecRouter) create(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	var body ctypes.ExecCreateRequest
	if err := httputil.DecodeJSON(req, &body); err != nil {
		return err
	}
	if body.DetachKeys != "" {
		if _, err := term.ToBytes(body.DetachKeys); err != nil {
			return invalidDetachKeys(body.DetachKeys)
		}
	}
	e, err := r.b.ExecCreate(ctx, v["id"], body)
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusCreated, ctypes.ExecCreateResponse{ID: e.ID})
}

func (r *ExecRouter) start(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	var body ctypes.ExecStartRequest
	if err := httputil.DecodeJSON(req, &body); err != nil {
		return err
	}
	e, err := r.b.GetExec(v["id"])
	if err != nil {
		return err
	}
	view := e.View()
	if body.Detach {
		if err := r.b.ExecStart(ctx, v["id"], true, body.ConsoleSize, svc.ExecStreams{}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if view.Running || view.ExitCode != nil {
		return r.b.ExecStart(ctx, v["id"], false, nil, svc.ExecStreams{}) // the already-started error
	}
	conn, buf, err := hijack(w, req, view.Config.Tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	out := httputil.NewStreamWriter(conn, !view.Config.Tty)
	streams := svc.ExecStreams{Stdout: out.Stream("stdout"), Stderr: out.Stream("stderr")}
	if view.Config.AttachStdin {
		in := stdinReader(buf.Reader, conn)
		keys, _ := detachKeys(view.Config.DetachKeys)
		streams.Stdin = detachable(in, keys, func() { conn.Close() })
	}
	if err := r.b.ExecStart(ctx, v["id"], false, body.ConsoleSize, streams); err != nil && !errors.Is(err, io.EOF) {
		_ = out.Write(jsonlog.Entry{Stream: "stderr", Log: "Error: " + server.Message(err) + "\n"}, false)
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	return nil
}

func (r *ExecRouter) resize(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	h, wd, err := windowSize(req)
	if err != nil {
		return err
	}
	if err := r.b.ExecResize(ctx, v["id"], h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (r *ExecRouter) inspect(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	e, err := r.b.GetExec(v["id"])
	if err != nil {
		return err
	}
	x := e.View()
	args := []string{}
	if len(x.Config.Cmd) > 1 {
		args = x.Config.Cmd[1:]
	}
	priv := x.Config.Privileged
	return server.WriteJSON(w, http.StatusOK, ctypes.ExecInspectResponse{
		ID: x.ID, ContainerID: x.ContainerID, Running: x.Running, ExitCode: x.ExitCode, Pid: x.Pid,
		OpenStdin: x.Config.AttachStdin, OpenStdout: x.Config.AttachStdout, OpenStderr: x.Config.AttachStderr,
		CanRemove:  !x.Running && x.ExitCode != nil,
		DetachKeys: []byte(x.Config.DetachKeys),
		ProcessConfig: &ctypes.ExecProcessConfig{
			Tty: x.Config.Tty, Entrypoint: x.Config.Cmd[0], Arguments: args, Privileged: &priv, User: x.Config.User,
		},
	})
}

// defaultDetachKeys is Docker's ctrl-p ctrl-q.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// detachKeys parses a detach key sequence ("" for the default).
func detachKeys(spec string) ([]byte, error) {
	if spec == "" {
		spec = defaultDetachKeys
	}
	keys, err := term.ToBytes(spec)
	if err != nil {
		return nil, invalidDetachKeys(spec)
	}
	return keys, nil
}

func invalidDetachKeys(spec string) error {
	return fmt.Errorf("invalid detach keys (%s) provided: %w", spec, errdefs.ErrInvalidArgument)
}

// detachable passes the client's input through until the detach keys
// arrive: then onDetach runs and the input ends with svc.ErrDetached
// (the keys themselves are not passed on).
func detachable(r io.Reader, keys []byte, onDetach func()) io.Reader {
	if len(keys) == 0 {
		return r
	}
	return &detachReader{r: term.NewEscapeProxy(r, keys), onDetach: onDetach}
}

type detachReader struct {
	r        io.Reader
	onDetach func()
	once     sync.Once
}

func (d *detachReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	var esc term.EscapeError
	if errors.As(err, &esc) {
		d.once.Do(d.onDetach)
		return n, svc.ErrDetached
	}
	return n, err
}
