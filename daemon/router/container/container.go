// Package container serves the /containers endpoints of the Docker API.
package container

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/filters"
	"github.com/pouchcontainer/pouch/pkg/jsonlog"
	svc "github.com/pouchcontainer/pouch/services/container"
)

// Backend is what the router needs of the container service.
type Backend interface {
	Create(ctx context.Context, opts svc.CreateOptions) (*svc.Container, error)
	Get(ref string) (*svc.Container, error)
	All() []*svc.Container
	Start(ctx context.Context, ref string) error
	Stop(ctx context.Context, ref string, opts svc.StopOptions) error
	Restart(ctx context.Context, ref string, opts svc.StopOptions) error
	Kill(ctx context.Context, ref string, sig syscall.Signal) error
	Pause(ctx context.Context, ref string) error
	Unpause(ctx context.Context, ref string) error
	Remove(ctx context.Context, ref string, opts svc.RemoveOptions) error
	Rename(ref, newName string) error
	WaitFunc(ref string, condition ctypes.WaitCondition) (func(context.Context) (svc.WaitResult, error), error)
	Logs(ctx context.Context, ref string, opts svc.LogsOptions, emit func(jsonlog.Entry) error) (*svc.Container, error)
	Attach(ctx context.Context, ref string, opts svc.AttachOptions, emit func(jsonlog.Entry) error) (*svc.Container, error)
	Resize(ctx context.Context, ref string, height, width uint32) error
	ExecIDs(containerID string) []string
}

// ImageNamer is what the router needs of the image service.
type ImageNamer interface {
	// DisplayName is what `ps` shows for a container's image: the
	// reference it was created from while that still names the same image,
	// else the image ID.
	DisplayName(ctx context.Context, ref, id string) string
	// ResolveID finds the ID of the image ref names.
	ResolveID(ctx context.Context, ref string) (string, bool)
}

// Router serves containers.
type Router struct {
	b      Backend
	images ImageNamer
}

// New returns the router.
func New(b Backend, images ImageNamer) *Router { return &Router{b: b, images: images} }

// Routes lists the endpoints.
func (r *Router) Routes() []server.Route {
	return []server.Route{
		{Method: "POST", Path: "/containers/create", Handler: r.create},
		{Method: "GET", Path: "/containers/json", Handler: r.list},
		{Method: "POST", Path: "/containers/prune", Handler: r.prune},
		{Method: "GET", Path: "/containers/{id}/json", Handler: r.inspect},
		{Method: "POST", Path: "/containers/{id}/start", Handler: r.start},
		{Method: "POST", Path: "/containers/{id}/stop", Handler: r.stop},
		{Method: "POST", Path: "/containers/{id}/restart", Handler: r.restart},
		{Method: "POST", Path: "/containers/{id}/kill", Handler: r.kill},
		{Method: "POST", Path: "/containers/{id}/pause", Handler: r.pause},
		{Method: "POST", Path: "/containers/{id}/unpause", Handler: r.unpause},
		{Method: "POST", Path: "/containers/{id}/rename", Handler: r.rename},
		{Method: "POST", Path: "/containers/{id}/wait", Handler: r.wait},
		{Method: "GET", Path: "/containers/{id}/logs", Handler: r.logs},
		{Method: "POST", Path: "/containers/{id}/attach", Handler: r.attach},
		{Method: "POST", Path: "/containers/{id}/resize", Handler: r.resize},
		{Method: "DELETE", Path: "/containers/{id}", Handler: r.remove},
	}
}

func (r *Router) create(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	var body ctypes.CreateRequest
	if err := httputil.DecodeJSON(req, &body); err != nil {
		return err
	}
	if body.Config == nil {
		return fmt.Errorf("config cannot be empty in order to create a container: %w", errdefs.ErrInvalidArgument)
	}
	if body.HostConfig == nil {
		body.HostConfig = &ctypes.HostConfig{}
	}
	if p := req.URL.Query().Get("platform"); p != "" && p != "linux" && !strings.HasPrefix(p, "linux/") {
		return fmt.Errorf("platform %q is not supported: %w", p, errdefs.ErrInvalidArgument)
	}
	c, err := r.b.Create(ctx, svc.CreateOptions{
		Name: req.URL.Query().Get("name"), Config: body.Config, HostConfig: body.HostConfig,
		NetworkingConfig: body.NetworkingConfig,
	})
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusCreated, ctypes.CreateResponse{ID: c.ID, Warnings: []string{}})
}

func (r *Router) start(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	if err := r.b.Start(ctx, v["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func stopOptions(req *http.Request) (svc.StopOptions, error) {
	var opts svc.StopOptions
	q := req.URL.Query()
	if t := q.Get("t"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return opts, fmt.Errorf("invalid timeout %q: %w", t, errdefs.ErrInvalidArgument)
		}
		opts.Timeout = &n
	}
	opts.Signal = q.Get("signal")
	return opts, nil
}

func (r *Router) stop(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	opts, err := stopOptions(req)
	if err != nil {
		return err
	}
	if err := r.b.Stop(ctx, v["id"], opts); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (r *Router) restart(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	opts, err := stopOptions(req)
	if err != nil {
		return err
	}
	if err := r.b.Restart(ctx, v["id"], opts); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (r *Router) kill(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	sig := syscall.SIGKILL
	if s := req.URL.Query().Get("signal"); s != "" {
		var err error
		if sig, err = svc.ParseSignal(s); err != nil {
			return err
		}
	}
	if err := r.b.Kill(ctx, v["id"], sig); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (r *Router) pause(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	if err := r.b.Pause(ctx, v["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (r *Router) unpause(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	if err := r.b.Unpause(ctx, v["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (r *Router) rename(_ context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	if err := r.b.Rename(v["id"], req.URL.Query().Get("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (r *Router) remove(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	force, err := httputil.BoolValue(req, "force")
	if err != nil {
		return err
	}
	removeVolumes, err := httputil.BoolValue(req, "v")
	if err != nil {
		return err
	}
	if err := r.b.Remove(ctx, v["id"], svc.RemoveOptions{Force: force, RemoveVolumes: removeVolumes}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (r *Router) prune(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	f, err := filters.Parse(req.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := f.Validate("label", "label!", "until"); err != nil {
		return err
	}
	var until time.Time
	if vals := f.Values("until"); len(vals) > 0 {
		if len(vals) > 1 {
			return fmt.Errorf("more than one until filter: %w", errdefs.ErrInvalidArgument)
		}
		if until, err = httputil.Until(vals[0], time.Now()); err != nil {
			return err
		}
	}
	report := ctypes.PruneReport{ContainersDeleted: []string{}}
	for _, c := range r.b.All() {
		v := c.Snapshot()
		st := v.State
		if st.Running() || st.Status == ctypes.StateRemoving {
			continue
		}
		if !f.MatchLabels("label", v.Config.Labels) || matchesAnyLabel(f.Values("label!"), v.Config.Labels) {
			continue
		}
		if !until.IsZero() && !v.Created.Before(until) {
			continue
		}
		if err := r.b.Remove(ctx, c.ID, svc.RemoveOptions{}); err == nil {
			report.ContainersDeleted = append(report.ContainersDeleted, c.ID)
		}
	}
	return server.WriteJSON(w, http.StatusOK, report)
}

// matchesAnyLabel reports whether labels have any of the "key" or
// "key=value" selectors.
func matchesAnyLabel(selectors []string, labels map[string]string) bool {
	for _, sel := range selectors {
		k, want, hasValue := strings.Cut(sel, "=")
		if got, ok := labels[k]; ok && (!hasValue || got == want) {
			return true
		}
	}
	return false
}

func (r *Router) wait(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	wait, err := r.b.WaitFunc(v["id"], ctypes.WaitCondition(req.URL.Query().Get("condition")))
	if err != nil {
		return err
	}
	// Headers go out at once so the client knows the wait is registered.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	res, err := wait(ctx)
	if err != nil {
		return nil // the client went away
	}
	resp := ctypes.WaitResponse{StatusCode: int64(res.ExitCode)}
	if res.Error != "" {
		resp.Error = &ctypes.WaitExitError{Message: res.Error}
	}
	return json.NewEncoder(w).Encode(resp)
}

func (r *Router) logs(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	q := req.URL.Query()
	var opts svc.LogsOptions
	var err error
	if opts.Stdout, err = httputil.BoolValue(req, "stdout"); err != nil {
		return err
	}
	if opts.Stderr, err = httputil.BoolValue(req, "stderr"); err != nil {
		return err
	}
	if opts.Follow, err = httputil.BoolValue(req, "follow"); err != nil {
		return err
	}
	timestamps, err := httputil.BoolValue(req, "timestamps")
	if err != nil {
		return err
	}
	opts.Tail = -1 // "all", or a negative number, as Docker
	if t := q.Get("tail"); t != "" && t != "all" {
		if opts.Tail, err = strconv.Atoi(t); err != nil {
			return fmt.Errorf("invalid tail %q: %w", t, errdefs.ErrInvalidArgument)
		}
	}
	if opts.Since, err = httputil.UnixTime(q.Get("since")); err != nil {
		return err
	}
	if opts.Until, err = httputil.UnixTime(q.Get("until")); err != nil {
		return err
	}
	c, err := r.b.Get(v["id"])
	if err != nil {
		return err
	}
	tty := c.Snapshot().Config.Tty
	if tty {
		w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
	} else {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
	}
	out := httputil.NewStreamWriter(w, !tty)
	started := false
	_, err = r.b.Logs(ctx, v["id"], opts, func(e jsonlog.Entry) error {
		if !started {
			w.WriteHeader(http.StatusOK)
			started = true
		}
		return out.Write(e, timestamps)
	})
	if err != nil && !started {
		return err
	}
	if !started {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

func (r *Router) resize(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	h, wd, err := windowSize(req)
	if err != nil {
		return err
	}
	if err := r.b.Resize(ctx, v["id"], h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// windowSize reads the h and w query parameters of a resize.
func windowSize(req *http.Request) (height, width uint32, err error) {
	q := req.URL.Query()
	h, herr := strconv.ParseUint(q.Get("h"), 10, 16)
	wd, werr := strconv.ParseUint(q.Get("w"), 10, 16)
	if herr != nil || werr != nil {
		return 0, 0, fmt.Errorf("invalid window size h=%q w=%q: %w", q.Get("h"), q.Get("w"), errdefs.ErrInvalidArgument)
	}
	return uint32(h), uint32(wd), nil
}

// attach hijacks the connection (with `Upgrade: tcp` as the docker CLI
// asks, or plain) and streams the container's output while feeding the
// client's input to its stdin.
func (r *Router) attach(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	var opts svc.AttachOptions
	var err error
	var useStdin bool
	if useStdin, err = httputil.BoolValue(req, "stdin"); err != nil {
		return err
	}
	if opts.Stdout, err = httputil.BoolValue(req, "stdout"); err != nil {
		return err
	}
	if opts.Stderr, err = httputil.BoolValue(req, "stderr"); err != nil {
		return err
	}
	if opts.Logs, err = httputil.BoolValue(req, "logs"); err != nil {
		return err
	}
	if opts.Stream, err = httputil.BoolValue(req, "stream"); err != nil {
		return err
	}
	keys, err := detachKeys(req.URL.Query().Get("detachKeys"))
	if err != nil {
		return err
	}
	c, err := r.b.Get(v["id"])
	if err != nil {
		return err
	}
	snap := c.Snapshot()
	// Refuse before hijacking, while an error can still be an HTTP status.
	if err := c.Attachable(); err != nil {
		return err
	}
	// Output (and the exit) from the moment the client is answered on is
	// the client's.
	opts.At = c.AttachPoint()
	// Some clients send a JSON body before hijacking: discard it.
	_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
	conn, buf, err := hijack(w, req, snap.Config.Tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if useStdin && snap.Config.OpenStdin {
		// The client's input ends with a half-close or with its going
		// away: watch for the latter once the input ends.
		in := detachable(stdinReader(buf.Reader, conn), keys, cancel)
		opts.Stdin = &onEOF{r: in, fn: func() {
			go func() {
				waitPeerGone(ctx, conn)
				cancel()
			}()
		}}
	} else {
		// Without stdin the client half-closes its side at once (the
		// docker CLI does): that must not end the attach. A client that
		// goes away altogether does.
		go func() {
			_, _ = io.Copy(io.Discard, buf.Reader)
			waitPeerGone(ctx, conn)
			cancel()
		}()
	}
	out := httputil.NewStreamWriter(conn, !snap.Config.Tty)
	_, err = r.b.Attach(ctx, v["id"], opts, func(e jsonlog.Entry) error { return out.Write(e, false) })
	if err != nil && !errors.Is(err, context.Canceled) {
		_ = out.Write(jsonlog.Entry{Stream: "stderr", Log: "Error: " + server.Message(err) + "\n"}, false)
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	return nil
}

// hijack takes over the connection and answers with the stream's
// headers: 101 for clients that asked for `Upgrade: tcp` (the docker CLI),
// 200 otherwise. A TTY's stream is raw, others are multiplexed.
func hijack(w http.ResponseWriter, req *http.Request, tty bool) (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	contentType := "application/vnd.docker.multiplexed-stream"
	if tty {
		contentType = "application/vnd.docker.raw-stream"
	}
	if req.Header.Get("Upgrade") == "tcp" {
		fmt.Fprintf(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: %s\r\n\r\n", contentType, server.APIVersion)
	} else {
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nApi-Version: %s\r\n\r\n", contentType, server.APIVersion)
	}
	return conn, buf, nil
}

// waitPeerGone returns once the peer of conn has closed it altogether, or
// ctx ends. Over a unix socket, a peer's full close shows as POLLHUP while
// a half-close does not; over TCP the two look alike, and a dead peer is
// found by the next write instead.
func waitPeerGone(ctx context.Context, conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		<-ctx.Done()
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		<-ctx.Done()
		return
	}
	_, isUnix := conn.(*net.UnixConn)
	if !isUnix {
		<-ctx.Done()
		return
	}
	for ctx.Err() == nil {
		hup := false
		if err := raw.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLHUP}}
			if n, err := unix.Poll(fds, 200); err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				hup = true
			}
		}); err != nil || hup {
			return
		}
	}
}

// onEOF calls fn once, when reading r first fails (io.EOF included).
type onEOF struct {
	r    io.Reader
	fn   func()
	once sync.Once
}

func (o *onEOF) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if err != nil {
		o.once.Do(o.fn)
	}
	return n, err
}

func stdinReader(r *bufio.Reader, conn net.Conn) io.Reader {
	return io.MultiReader(io.LimitReader(r, int64(r.Buffered())), conn)
}
