// Package volume serves the /volumes endpoints of the Docker API.
package volume

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/filters"
	svc "github.com/pouchcontainer/pouch/services/volume"
)

// Backend is what the router needs of the volume service.
type Backend interface {
	List() []*svc.Volume
	Get(name string) (*svc.Volume, error)
	Create(ctx context.Context, o svc.CreateOptions) (*svc.Volume, error)
	Remove(ctx context.Context, name string) error
	Prune(ctx context.Context, o svc.PruneOptions) (svc.PruneReport, error)
	Usage(name string) []string
}

// Router serves volumes.
type Router struct {
	b Backend
}

// New returns the router.
func New(b Backend) *Router { return &Router{b: b} }

// Routes lists the endpoints.
func (r *Router) Routes() []server.Route {
	return []server.Route{
		{Method: "GET", Path: "/volumes", Handler: r.list},
		{Method: "GET", Path: "/volumes/", Handler: r.list},
		{Method: "POST", Path: "/volumes/create", Handler: r.create},
		{Method: "POST", Path: "/volumes/prune", Handler: r.prune},
		{Method: "GET", Path: "/volumes/{name}", Handler: r.inspect},
		{Method: "PUT", Path: "/volumes/{name}", Handler: r.update},
		{Method: "DELETE", Path: "/volumes/{name}", Handler: r.remove},
	}
}

// Render is a volume as the API shows it: Labels always an object,
// Options null when there are none, CreatedAt in RFC 3339, as Docker.
func Render(v *svc.Volume) volume.Volume {
	labels := v.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	var opts map[string]string
	if len(v.Options) > 0 {
		opts = v.Options
	}
	return volume.Volume{
		Name:       v.Name,
		Driver:     v.Driver,
		Mountpoint: v.Mountpoint,
		CreatedAt:  v.CreatedAt.Local().Format(time.RFC3339),
		Labels:     labels,
		Scope:      "local",
		Options:    opts,
	}
}

func (r *Router) list(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	f, err := filters.Parse(req.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := f.Validate("dangling", "name", "driver", "label"); err != nil {
		return err
	}
	dangling, hasDangling, err := boolFilter(f, "dangling")
	if err != nil {
		return err
	}
	names := make([]*regexp.Regexp, 0, len(f["name"]))
	for _, n := range f.Values("name") {
		// As Docker: a name matches itself or as a regular expression.
		re, err := regexp.Compile(n)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(n))
		}
		names = append(names, re)
	}
	out := []volume.Volume{}
	for _, v := range r.b.List() {
		if !f.Match("driver", func(d string) bool { return d == v.Driver }) {
			continue
		}
		if len(names) > 0 && !matchAny(names, v.Name) {
			continue
		}
		if !f.MatchLabels("label", v.Labels) {
			continue
		}
		if hasDangling && dangling == (len(r.b.Usage(v.Name)) > 0) {
			continue
		}
		out = append(out, Render(v))
	}
	// Docker sends no warnings as null.
	return server.WriteJSON(w, http.StatusOK, volume.ListResponse{Volumes: out})
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// boolFilter reads a filter holding one boolean, as Docker's dangling:
// true/1 or false/0.
func boolFilter(f filters.Args, key string) (value, present bool, err error) {
	vals := f.Values(key)
	if len(vals) == 0 {
		return false, false, nil
	}
	for _, v := range vals {
		switch v {
		case "true", "1":
			value = true
		case "false", "0":
		default:
			return false, false, fmt.Errorf("invalid filter '%s=%s': %w", key, v, errdefs.ErrInvalidArgument)
		}
	}
	if len(vals) > 1 {
		return false, false, fmt.Errorf("invalid filter '%s': only one value is expected: %w", key, errdefs.ErrInvalidArgument)
	}
	return value, true, nil
}

func (r *Router) inspect(ctx context.Context, w http.ResponseWriter, req *http.Request, vars map[string]string) error {
	v, err := r.b.Get(vars["name"])
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, Render(v))
}

func (r *Router) create(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	var body volume.CreateRequest
	// An empty body asks for an anonymous volume, as with Docker.
	if req.ContentLength != 0 {
		if err := httputil.DecodeJSON(req, &body); err != nil {
			return err
		}
	}
	if body.ClusterVolumeSpec != nil {
		return fmt.Errorf("cluster volumes are not supported: this node is not a swarm manager: %w", errdefs.ErrUnavailable)
	}
	v, err := r.b.Create(ctx, svc.CreateOptions{
		Name: body.Name, Driver: body.Driver, Labels: body.Labels, Options: body.DriverOpts,
	})
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusCreated, Render(v))
}

func (r *Router) update(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	return fmt.Errorf("volume update only valid for cluster volumes, but swarm is unavailable: %w", errdefs.ErrUnavailable)
}

// remove removes a volume; force only makes a missing volume no error, as
// in Docker: a volume in use is never removed.
func (r *Router) remove(ctx context.Context, w http.ResponseWriter, req *http.Request, vars map[string]string) error {
	force, err := httputil.BoolValue(req, "force")
	if err != nil {
		return err
	}
	if err := r.b.Remove(ctx, vars["name"]); err != nil && !(force && errdefs.IsNotFound(err)) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiVersion matches the version prefix of a request's path.
var apiVersion = regexp.MustCompile(`^/v([0-9]+)\.([0-9]+)/`)

// prunesAllByDefault reports whether the request's API version is older
// than 1.42, when prune removed named volumes too.
func prunesAllByDefault(path string) bool {
	m := apiVersion.FindStringSubmatch(path)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major < 1 || (major == 1 && minor < 42)
}

func (r *Router) prune(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	f, err := filters.Parse(req.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := f.Validate("label", "label!", "all"); err != nil {
		return err
	}
	o := svc.PruneOptions{Labels: f.Values("label"), NotLabels: f.Values("label!")}
	switch all := f.Values("all"); len(all) {
	case 0:
		o.All = prunesAllByDefault(req.URL.Path)
	case 1:
		if o.All, err = strconv.ParseBool(all[0]); err != nil {
			return fmt.Errorf("invalid filter 'all': %v: %w", err, errdefs.ErrInvalidArgument)
		}
	default:
		return fmt.Errorf("invalid filter 'all=%s': only one value is expected: %w", all, errdefs.ErrInvalidArgument)
	}
	rep, err := r.b.Prune(ctx, o)
	if err != nil {
		return err
	}
	deleted := rep.Deleted
	if deleted == nil {
		deleted = []string{}
	}
	return server.WriteJSON(w, http.StatusOK, volume.PruneReport{VolumesDeleted: deleted, SpaceReclaimed: rep.SpaceReclaimed})
}
