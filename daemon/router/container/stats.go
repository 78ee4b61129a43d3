package container

import (
	"context"
	"encoding/json"
	"net/http"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	svc "github.com/pouchcontainer/pouch/services/container"
)

// StatsBackend is what the stats, top and update endpoints need of the
// container service.
type StatsBackend interface {
	Stats(ctx context.Context, ref string, opts svc.StatsOptions, emit func(*ctypes.StatsResponse) error) error
	Top(ctx context.Context, ref, psArgs string) (*ctypes.TopResponse, error)
	Update(ctx context.Context, ref string, u ctypes.UpdateConfig) ([]string, error)
}

// StatsRouter serves a container's resource usage, processes and limits.
type StatsRouter struct{ b StatsBackend }

// NewStats returns the router.
func NewStats(b StatsBackend) *StatsRouter { return &StatsRouter{b: b} }

// Routes lists the endpoints.
func (r *StatsRouter) Routes() []server.Route {
	return []server.Route{
		{Method: "GET", Path: "/containers/{id}/stats", Handler: r.stats},
		{Method: "GET", Path: "/containers/{id}/top", Handler: r.top},
		{Method: "POST", Path: "/containers/{id}/update", Handler: r.update},
	}
}

func (r *StatsRouter) stats(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	opts := svc.StatsOptions{Stream: true} // stream unless told otherwise, as Docker
	var err error
	if req.URL.Query().Has("stream") {
		if opts.Stream, err = httputil.BoolValue(req, "stream"); err != nil {
			return err
		}
	}
	if opts.OneShot, err = httputil.BoolValue(req, "one-shot"); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	started := false
	err = r.b.Stats(ctx, v["id"], opts, func(s *ctypes.StatsResponse) error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if err := enc.Encode(s); err != nil {
			return err
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return nil
	})
	if started {
		return nil // the client went away, or the stream ended
	}
	return err
}

func (r *StatsRouter) top(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	procs, err := r.b.Top(ctx, v["id"], req.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, procs)
}

func (r *StatsRouter) update(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	var u ctypes.UpdateConfig
	if err := httputil.DecodeJSON(req, &u); err != nil {
		return err
	}
	warnings, err := r.b.Update(ctx, v["id"], u)
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, ctypes.UpdateResponse{Warnings: warnings})
}
