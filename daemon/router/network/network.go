// Package network serves the /networks endpoints of the Docker API.
package network

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/filters"
	svc "github.com/pouchcontainer/pouch/services/network"
)

// Backend is what the router needs of the network service.
type Backend interface {
	List() []*svc.Network
	Get(ref string) (*svc.Network, error)
	Create(ctx context.Context, o svc.CreateOptions) (*svc.Network, error)
	Remove(ctx context.Context, ref string) error
	Prune(ctx context.Context, match func(*svc.Network) bool) ([]string, error)
	Endpoints(id string) map[string]svc.Endpoint
}

// Containers connects and disconnects containers.
type Containers interface {
	Connect(ctx context.Context, container, network string, es *network.EndpointSettings) error
	Disconnect(ctx context.Context, container, network string, force bool) error
}

// Router serves networks.
type Router struct {
	b          Backend
	containers Containers
}

// New returns the router.
func New(b Backend, c Containers) *Router { return &Router{b: b, containers: c} }

// Routes lists the endpoints.
func (r *Router) Routes() []server.Route {
	return []server.Route{
		{Method: "GET", Path: "/networks", Handler: r.list},
		{Method: "GET", Path: "/networks/", Handler: r.list},
		{Method: "POST", Path: "/networks/create", Handler: r.create},
		{Method: "POST", Path: "/networks/prune", Handler: r.prune},
		{Method: "GET", Path: "/networks/{id}", Handler: r.inspect},
		{Method: "DELETE", Path: "/networks/{id}", Handler: r.remove},
		{Method: "POST", Path: "/networks/{id}/connect", Handler: r.connect},
		{Method: "POST", Path: "/networks/{id}/disconnect", Handler: r.disconnect},
	}
}

var listFilters = []string{"driver", "id", "label", "name", "scope", "type", "dangling"}

func (r *Router) list(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	f, err := filters.Parse(req.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := f.Validate(listFilters...); err != nil {
		return err
	}
	for _, t := range f.Values("type") {
		if t != "custom" && t != "builtin" {
			return fmt.Errorf("invalid filter: 'type'='%s': %w", t, errdefs.ErrInvalidArgument)
		}
	}
	out := []network.Inspect{}
	for _, n := range r.b.List() {
		eps := r.b.Endpoints(n.ID)
		ok, err := match(f, n, len(eps))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		// As Docker: the list carries no containers.
		out = append(out, render(n, nil))
	}
	return server.WriteJSON(w, http.StatusOK, out)
}

func match(f filters.Args, n *svc.Network, endpoints int) (bool, error) {
	if !f.Match("driver", func(v string) bool { return v == n.Driver }) {
		return false, nil
	}
	if !f.Match("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) {
		return false, nil
	}
	if !f.Match("name", func(v string) bool { return strings.Contains(n.Name, v) }) {
		return false, nil
	}
	if !f.Match("scope", func(v string) bool { return v == "local" }) {
		return false, nil
	}
	if !f.Match("type", func(v string) bool { return (v == "builtin") == n.Predefined() }) {
		return false, nil
	}
	if !f.MatchLabels("label", n.Labels) {
		return false, nil
	}
	for _, v := range f.Values("dangling") {
		switch v {
		case "true", "1":
			if n.Predefined() || endpoints > 0 {
				return false, nil
			}
		case "false", "0":
			if !n.Predefined() && endpoints == 0 {
				return false, nil
			}
		default:
			return false, fmt.Errorf("invalid filter: 'dangling'='%s': %w", v, errdefs.ErrInvalidArgument)
		}
	}
	return true, nil
}

func render(n *svc.Network, eps map[string]svc.Endpoint) network.Inspect {
	out := network.Inspect{
		Network: network.Network{
			Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
			EnableIPv4: true, Internal: n.Internal, Attachable: n.Attachable,
			IPAM:    network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
			Options: orEmpty(n.Options), Labels: orEmpty(n.Labels),
		},
		Containers: map[string]network.EndpointResource{},
	}
	if n.Subnet.IsValid() {
		out.IPAM.Config = append(out.IPAM.Config, network.IPAMConfig{Subnet: n.Subnet, IPRange: n.IPRange, Gateway: n.Gateway})
	}
	if n.Driver != svc.DriverBridge {
		out.EnableIPv4 = false
		out.IPAM.Options = nil
	}
	for cid, ep := range eps {
		mac, _ := parseMAC(ep.MAC)
		out.Containers[cid] = network.EndpointResource{
			Name: ep.Name, EndpointID: ep.EndpointID, MacAddress: mac,
			IPv4Address: netip.PrefixFrom(ep.IP, ep.PrefixLen),
		}
	}
	return out
}

func parseMAC(s string) (network.HardwareAddr, error) {
	var m network.HardwareAddr
	err := m.UnmarshalText([]byte(s))
	return m, err
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (r *Router) inspect(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	if s := req.URL.Query().Get("scope"); s != "" && s != "local" {
		return fmt.Errorf("network %s not found: %w", v["id"], errdefs.ErrNotFound)
	}
	n, err := r.b.Get(v["id"])
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, render(n, r.b.Endpoints(n.ID)))
}

func (r *Router) create(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	var body network.CreateRequest
	if err := httputil.DecodeJSON(req, &body); err != nil {
		return err
	}
	if body.EnableIPv6 != nil && *body.EnableIPv6 {
		return fmt.Errorf("IPv6 networks are not supported: %w", errdefs.ErrInvalidArgument)
	}
	if body.EnableIPv4 != nil && !*body.EnableIPv4 {
		return fmt.Errorf("networks without IPv4 are not supported: %w", errdefs.ErrInvalidArgument)
	}
	if body.Scope != "" && body.Scope != "local" {
		return fmt.Errorf("scope %q is not supported: %w", body.Scope, errdefs.ErrInvalidArgument)
	}
	if body.Ingress || body.ConfigOnly || body.ConfigFrom != nil {
		return fmt.Errorf("ingress and config-only networks are not supported: %w", errdefs.ErrInvalidArgument)
	}
	o := svc.CreateOptions{
		Name: body.Name, Driver: body.Driver, Internal: body.Internal, Attachable: body.Attachable,
		Options: body.Options, Labels: body.Labels,
	}
	if body.IPAM != nil {
		if body.IPAM.Driver != "" && body.IPAM.Driver != "default" {
			return fmt.Errorf("IPAM driver %q is not supported: %w", body.IPAM.Driver, errdefs.ErrInvalidArgument)
		}
		if len(body.IPAM.Config) > 1 {
			return fmt.Errorf("only one IPAM configuration (one IPv4 subnet) is supported: %w", errdefs.ErrInvalidArgument)
		}
		if len(body.IPAM.Config) == 1 {
			c := body.IPAM.Config[0]
			if len(c.AuxAddress) > 0 {
				return fmt.Errorf("auxiliary addresses are not supported: %w", errdefs.ErrInvalidArgument)
			}
			if c.Subnet.IsValid() {
				o.Subnet = c.Subnet.String()
			}
			if c.Gateway.IsValid() {
				o.Gateway = c.Gateway.String()
			}
			if c.IPRange.IsValid() {
				o.IPRange = c.IPRange.String()
			}
		}
	}
	n, err := r.b.Create(ctx, o)
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusCreated, network.CreateResponse{ID: n.ID})
}

func (r *Router) remove(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	if err := r.b.Remove(ctx, v["id"]); err != nil {
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
	if err := f.Validate("until", "label", "label!"); err != nil {
		return err
	}
	var until time.Time
	for _, v := range f.Values("until") {
		t, err := httputil.Until(v, time.Now())
		if err != nil {
			return err
		}
		until = t
	}
	deleted, err := r.b.Prune(ctx, func(n *svc.Network) bool {
		if !until.IsZero() && !n.Created.Before(until) {
			return false
		}
		if !f.MatchLabels("label", n.Labels) {
			return false
		}
		for _, l := range f.Values("label!") {
			k, val, hasVal := strings.Cut(l, "=")
			if got, ok := n.Labels[k]; ok && (!hasVal || got == val) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if deleted == nil {
		deleted = []string{}
	}
	return server.WriteJSON(w, http.StatusOK, network.PruneReport{NetworksDeleted: deleted})
}

func (r *Router) connect(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	var body network.ConnectRequest
	if err := httputil.DecodeJSON(req, &body); err != nil {
		return err
	}
	if body.Container == "" {
		return fmt.Errorf("no container given to connect: %w", errdefs.ErrInvalidArgument)
	}
	if err := r.containers.Connect(ctx, body.Container, v["id"], body.EndpointConfig); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (r *Router) disconnect(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	var body network.DisconnectRequest
	if err := httputil.DecodeJSON(req, &body); err != nil {
		return err
	}
	if body.Container == "" {
		return fmt.Errorf("no container given to disconnect: %w", errdefs.ErrInvalidArgument)
	}
	if err := r.containers.Disconnect(ctx, body.Container, v["id"], body.Force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
