package container

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/go-units"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/filters"
	svc "github.com/pouchcontainer/pouch/services/container"
)

func (r *Router) inspect(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	c, err := r.b.Get(v["id"])
	if err != nil {
		return err
	}
	view := c.Snapshot()
	resp := inspectResponse(view)
	resp.ExecIDs = r.b.ExecIDs(view.ID)
	return server.WriteJSON(w, http.StatusOK, withLegacyNetwork(resp, view))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func inspectResponse(c svc.View) *ctypes.InspectResponse {
	st := c.State
	args := c.Args
	if args == nil {
		args = []string{}
	}
	return &ctypes.InspectResponse{
		ID:      c.ID,
		Created: formatTime(c.Created),
		Path:    c.Path,
		Args:    args,
		State: &ctypes.State{
			Status:     st.Status,
			Running:    st.Running(),
			Paused:     st.Status == ctypes.StatePaused,
			Restarting: st.Status == ctypes.StateRestarting,
			OOMKilled:  st.OOMKilled,
			Dead:       st.Status == ctypes.StateDead,
			Pid:        st.Pid,
			ExitCode:   st.ExitCode,
			Error:      st.Error,
			StartedAt:  formatTime(st.StartedAt),
			FinishedAt: formatTime(st.FinishedAt),
			Health:     st.Health,
		},
		Image:           c.ImageID.String(),
		ResolvConfPath:  c.ResolvConfPath,
		HostnamePath:    c.HostnamePath,
		HostsPath:       c.HostsPath,
		LogPath:         c.LogPath,
		Name:            "/" + c.Name,
		RestartCount:    c.RestartCount,
		Driver:          "overlayfs",
		Platform:        "linux",
		HostConfig:      c.HostConfig,
		GraphDriver:     &storage.DriverData{Name: "overlayfs", Data: map[string]string{}},
		Mounts:          c.Mounts(),
		Config:          c.Config,
		NetworkSettings: networkSettings(c),
	}
}

func (r *Router) list(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	q := req.URL.Query()
	all, err := httputil.BoolValue(req, "all")
	if err != nil {
		return err
	}
	limit := -1
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil {
			return fmt.Errorf("invalid limit %q: %w", l, errdefs.ErrInvalidArgument)
		}
		if limit <= 0 {
			limit = -1
		}
	}
	f, err := filters.Parse(q.Get("filters"))
	if err != nil {
		return err
	}
	if err := f.Validate("id", "name", "label", "status", "ancestor", "exited", "before", "since", "network", "publish", "expose", "health"); err != nil {
		return err
	}
	for _, s := range f.Values("status") {
		if err := ctypes.ValidateContainerState(ctypes.ContainerState(s)); err != nil {
			return fmt.Errorf("%v: %w", err, errdefs.ErrInvalidArgument)
		}
	}
	if limit > 0 || f.Has("status") || f.Has("exited") {
		all = true
	}
	ancestorIDs := r.imageIDs(ctx, f)
	before, since, err := r.bounds(f)
	if err != nil {
		return err
	}
	if before != nil || since != nil {
		all = true // as Docker: these look at stopped containers too
	}
	out := []ctypes.Summary{}
	for _, c := range r.b.All() {
		v := c.Snapshot()
		if !all && !v.State.Running() {
			continue
		}
		if !matches(v, f, ancestorIDs) || !createdBetween(v, since, before) {
			continue
		}
		out = append(out, summary(v, r.images.DisplayName(ctx, v.Image, v.ImageID.String())))
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return server.WriteJSON(w, http.StatusOK, out)
}

// bounds resolves the before and since filters to the containers they name.
func (r *Router) bounds(f filters.Args) (before, since *svc.View, err error) {
	get := func(key string) (*svc.View, error) {
		vals := f.Values(key)
		if len(vals) == 0 {
			return nil, nil
		}
		if len(vals) > 1 {
			return nil, fmt.Errorf("filter %s takes one container, not %d: %w", key, len(vals), errdefs.ErrInvalidArgument)
		}
		c, err := r.b.Get(vals[0])
		if err != nil {
			return nil, err
		}
		v := c.Snapshot()
		return &v, nil
	}
	if before, err = get("before"); err != nil {
		return nil, nil, err
	}
	if since, err = get("since"); err != nil {
		return nil, nil, err
	}
	return before, since, nil
}

// createdBetween reports whether v was created after since and before
// before (either may be nil), in the order the list uses.
func createdBetween(v svc.View, since, before *svc.View) bool {
	newer := func(a, b svc.View) bool { // a created after b
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return a.ID > b.ID
	}
	if before != nil && !newer(*before, v) {
		return false
	}
	if since != nil && !newer(v, *since) {
		return false
	}
	return true
}

// imageIDs resolves the ancestor filter to image IDs.
func (r *Router) imageIDs(ctx context.Context, f filters.Args) map[string]bool {
	if !f.Has("ancestor") {
		return nil
	}
	ids := map[string]bool{}
	for _, a := range f.Values("ancestor") {
		if id, ok := r.images.ResolveID(ctx, a); ok {
			ids[id] = true
		}
	}
	return ids
}

func matches(v svc.View, f filters.Args, ancestorIDs map[string]bool) bool {
	if !f.Match("id", func(p string) bool { return strings.HasPrefix(v.ID, p) }) {
		return false
	}
	if !f.Match("name", func(p string) bool { return strings.Contains(v.Name, strings.TrimPrefix(p, "/")) }) {
		return false
	}
	if !f.MatchLabels("label", v.Config.Labels) {
		return false
	}
	if !f.Match("status", func(s string) bool { return string(v.State.Status) == s }) {
		return false
	}
	if !f.Match("exited", func(s string) bool {
		return v.State.Status == ctypes.StateExited && strconv.Itoa(v.State.ExitCode) == s
	}) {
		return false
	}
	if f.Has("ancestor") && !ancestorIDs[v.ImageID.String()] && !f.Match("ancestor", func(a string) bool { return a == v.Image }) {
		return false
	}
	if !f.Match("health", func(h string) bool {
		if v.State.Health == nil {
			return h == string(ctypes.NoHealthcheck)
		}
		return string(v.State.Health.Status) == h
	}) {
		return false
	}
	if !f.Match("network", func(n string) bool {
		for name, es := range v.Network.Networks {
			if name == n || (es != nil && es.NetworkID != "" && strings.HasPrefix(es.NetworkID, n)) {
				return true
			}
		}
		return string(v.HostConfig.NetworkMode) == n
	}) {
		return false
	}
	if !f.Match("publish", func(p string) bool { return hasPort(p, publishedPorts(v)) }) {
		return false
	}
	if !f.Match("expose", func(p string) bool { return hasPort(p, v.Config.ExposedPorts) }) {
		return false
	}
	return true
}

// publishedPorts are the container ports a running container publishes.
func publishedPorts(v svc.View) network.PortSet {
	out := network.PortSet{}
	for p, bs := range portMap(v) {
		if len(bs) > 0 {
			out[p] = struct{}{}
		}
	}
	return out
}

// hasPort matches Docker's publish/expose filters: "80", "80/udp" or a
// range "8000-8080/tcp" (tcp when no protocol is given).
func hasPort(filter string, ports network.PortSet) bool {
	if !strings.Contains(filter, "/") {
		filter += "/tcp"
	}
	r, err := network.ParsePortRange(filter)
	if err != nil {
		return false
	}
	for p := range ports {
		if p.Proto() == r.Proto() && p.Num() >= r.Start() && p.Num() <= r.End() {
			return true
		}
	}
	return false
}

func summary(v svc.View, image string) ctypes.Summary {
	cmd := strings.Join(append([]string{v.Path}, v.Args...), " ")
	s := ctypes.Summary{
		ID:      v.ID,
		Names:   []string{"/" + v.Name},
		Image:   image,
		ImageID: v.ImageID.String(),
		Command: cmd,
		Created: v.Created.Unix(),
		Ports:   portSummaries(v),
		Labels:  v.Config.Labels,
		State:   v.State.Status,
		Status:  statusText(v.State),
		Mounts:  v.Mounts(),
		NetworkSettings: &ctypes.NetworkSettingsSummary{
			Networks: endpointSettings(v),
		},
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.HostConfig.NetworkMode = string(v.HostConfig.NetworkMode)
	return s
}

// healthText is the health suffix of a running container's status.
func healthText(h *ctypes.Health) string {
	switch {
	case h == nil:
		return ""
	case h.Status == ctypes.Starting:
		return " (health: starting)"
	}
	return " (" + string(h.Status) + ")"
}

// statusText is the human status `docker ps` shows.
func statusText(st svc.State) string {
	now := time.Now()
	switch st.Status {
	case ctypes.StateRunning:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + healthText(st.Health)
	case ctypes.StatePaused:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case ctypes.StateRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case ctypes.StateExited:
		if st.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", st.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case ctypes.StateRemoving:
		return "Removal In Progress"
	case ctypes.StateDead:
		return "Dead"
	}
	return "Created"
}
