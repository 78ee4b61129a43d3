package shim

import (
	"context"
	"net"
	"os"

	eventstypes "github.com/containerd/containerd/api/events"
	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Event is a task event a shim reported.
type Event struct {
	ContainerID string
	Exit        *Exit // set for an exit of the init process
	OOM         bool
}

// EventServer receives the events shims publish. Events are best effort:
// the shim's Wait and State answers are the source of truth.
type EventServer struct {
	server  *ttrpc.Server
	handler func(Event)
}

// ServeEvents listens on the unix socket path and calls handler per event.
func ServeEvents(path string, handler func(Event)) (*EventServer, error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	srv, err := ttrpc.NewServer()
	if err != nil {
		l.Close()
		return nil, err
	}
	es := &EventServer{server: srv, handler: handler}
	eventsapi.RegisterTTRPCEventsService(srv, es)
	go func() {
		if err := srv.Serve(context.Background(), l); err != nil && err != ttrpc.ErrServerClosed {
			log.L.WithError(err).Warn("shim events server stopped")
		}
	}()
	return es, nil
}

// Forward is called by shims.
func (es *EventServer) Forward(ctx context.Context, req *eventsapi.ForwardRequest) (*emptypb.Empty, error) {
	env := req.GetEnvelope()
	if env == nil || env.Event == nil {
		return &emptypb.Empty{}, nil
	}
	v, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		log.G(ctx).WithError(err).WithField("topic", env.Topic).Debug("unknown shim event")
		return &emptypb.Empty{}, nil
	}
	switch e := v.(type) {
	case *eventstypes.TaskExit:
		if e.ID == e.ContainerID {
			es.handler(Event{ContainerID: e.ContainerID, Exit: &Exit{Pid: e.Pid, Status: e.ExitStatus, ExitedAt: e.ExitedAt.AsTime()}})
		}
	case *eventstypes.TaskOOM:
		es.handler(Event{ContainerID: e.ContainerID, OOM: true})
	}
	return &emptypb.Empty{}, nil
}

// Close stops the server.
func (es *EventServer) Close() error {
	return es.server.Close()
}
