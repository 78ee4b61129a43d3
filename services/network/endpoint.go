package network

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/containerd/errdefs"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/network/cni"
	"github.com/pouchcontainer/pouch/network/ports"
)

var timeNow = func() time.Time { return time.Now().UTC() }

// PortBinding is a published port. HostPort 0 in a request means any free
// port; in an endpoint it is the port that was chosen.
type PortBinding struct {
	Proto         string // tcp or udp
	ContainerPort uint16
	HostIP        netip.Addr `json:",omitzero"`
	HostPort      uint16
	HostPortEnd   uint16 `json:",omitempty"` // a request for any free port of HostPort-HostPortEnd
}

// Endpoint is a container's attachment to a network. The container
// service persists it with the container and hands it back at Restore.
type Endpoint struct {
	NetworkID   string
	NetworkName string
	EndpointID  string
	ContainerID string
	Name        string // the container's name, for name resolution
	NetNS       string
	IfName      string
	IP          netip.Addr `json:",omitzero"`
	PrefixLen   int
	Gateway     netip.Addr `json:",omitzero"`
	MAC         string
	Aliases     []string
	Ports       []PortBinding
	UserDefined bool // the network offers name resolution

	reservation *ports.Reservation
	leaving     bool // the container exited; Release comes next
	plugged     bool // a connect event was published: Release publishes the disconnect
}

// DNSNames are the names the endpoint answers to on its network.
func (ep *Endpoint) DNSNames() []string {
	if !ep.UserDefined {
		return nil
	}
	out := []string{ep.Name}
	out = append(out, ep.Aliases...)
	if len(ep.ContainerID) >= 12 {
		out = append(out, ep.ContainerID[:12])
	}
	return out
}

// JoinRequest asks for an endpoint of a container on a network.
type JoinRequest struct {
	ContainerID string
	Name        string
	NetNS       string
	Network     string // name or ID
	IfName      string
	IP          netip.Addr // requested; zero: allocate
	MAC         string     // requested; empty: derived from the address
	Aliases     []string
	Ports       []PortBinding
}

// Reserve allocates the endpoint's address, MAC and host ports, without
// plumbing anything yet (see Plug). Release undoes it.
func (s *Service) Reserve(req JoinRequest) (*Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	deadline := time.Now().Add(leavingWait)
	for {
		ep, err := s.reserveLocked(req)
		if err == nil || !errdefs.IsConflict(err) || !s.leavingHoldsLocked(req) || time.Now().After(deadline) {
			return ep, err
		}
		// An exited container still holds the address or port: its
		// teardown runs after its waiters were released. Wait for it,
		// as a client reusing the port right away expects.
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
		}
		s.mu.Lock()
	}
}

// leavingHoldsLocked reports whether an endpoint of an exited container
// holds the address or a host port req asks for.
func (s *Service) leavingHoldsLocked(req JoinRequest) bool {
	for _, eps := range s.endpoints {
		for _, ep := range eps {
			if !ep.leaving {
				continue
			}
			if req.IP.IsValid() && ep.IP == req.IP.Unmap() {
				return true
			}
			for _, want := range req.Ports {
				for _, have := range ep.Ports {
					end := max(want.HostPortEnd, want.HostPort)
					if want.HostPort != 0 && want.Proto == have.Proto && have.HostPort >= want.HostPort && have.HostPort <= end {
						return true
					}
				}
			}
		}
	}
	return false
}

func (s *Service) reserveLocked(req JoinRequest) (*Endpoint, error) {
	n, err := s.getLocked(req.Network)
	if err != nil {
		return nil, err
	}
	if n.Driver != DriverBridge {
		return nil, fmt.Errorf("container cannot be connected to network %s (driver %s): %w", n.Name, n.Driver, errdefs.ErrInvalidArgument)
	}
	if _, dup := s.endpoints[n.ID][req.ContainerID]; dup {
		return nil, fmt.Errorf("endpoint with name %s already exists in network %s: %w", req.Name, n.Name, errdefs.ErrConflict)
	}
	if len(req.Aliases) > 0 && !n.UserDefined() {
		return nil, fmt.Errorf("network-scoped aliases are only supported for user-defined networks: %w", errdefs.ErrInvalidArgument)
	}
	if req.IP.IsValid() && !n.UserDefined() {
		return nil, fmt.Errorf("user specified IP address is supported on user defined networks only: %w", errdefs.ErrInvalidArgument)
	}
	if len(req.Ports) > 0 && !s.cfg.IPTables {
		return nil, fmt.Errorf("publishing ports needs iptables, which the daemon runs without (--iptables=false): %w", errdefs.ErrInvalidArgument)
	}
	ip, err := s.allocateLocked(n, req.IP)
	if err != nil {
		return nil, err
	}
	mac := req.MAC
	if mac == "" {
		mac = macFor(ip)
	} else if mac, err = normaliseMAC(mac); err != nil {
		s.releaseIPLocked(n.ID, ip)
		return nil, err
	}
	ep := &Endpoint{
		NetworkID: n.ID, NetworkName: n.Name, EndpointID: newID(), ContainerID: req.ContainerID,
		Name: req.Name, NetNS: req.NetNS, IfName: req.IfName, IP: ip, PrefixLen: n.Subnet.Bits(),
		Gateway: n.Gateway, MAC: mac, Aliases: slices.Clone(req.Aliases), UserDefined: n.UserDefined(),
	}
	if len(req.Ports) > 0 {
		res, got, err := reservePorts(req.Ports)
		if err != nil {
			s.releaseIPLocked(n.ID, ip)
			return nil, err
		}
		ep.reservation = res
		for i, p := range req.Ports {
			p.HostPort, p.HostPortEnd = got[i], 0
			ep.Ports = append(ep.Ports, p)
		}
	}
	s.endpoints[n.ID][req.ContainerID] = ep
	return ep, nil
}

func reservePorts(req []PortBinding) (*ports.Reservation, []uint16, error) {
	bs := make([]ports.Binding, 0, len(req))
	for _, p := range req {
		bs = append(bs, ports.Binding{Proto: p.Proto, HostIP: p.HostIP, Port: p.HostPort, End: p.HostPortEnd})
	}
	return ports.Reserve(bs)
}

// Plug runs the CNI plugins for a reserved endpoint.
func (s *Service) Plug(ctx context.Context, ep *Endpoint) error {
	s.mu.RLock()
	n := s.networks[ep.NetworkID]
	s.mu.RUnlock()
	if n == nil {
		return fmt.Errorf("network %s not found: %w", ep.NetworkName, errdefs.ErrNotFound)
	}
	cep := cni.Endpoint{ContainerID: ep.ContainerID, NetNS: ep.NetNS, IfName: ep.IfName, IP: ep.IP, MAC: ep.MAC}
	for _, p := range ep.Ports {
		cep.Ports = append(cep.Ports, cni.PortMapping{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Proto})
	}
	mac, err := s.cni.Add(ctx, s.bridgeOf(n), cep)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if mac != "" {
		ep.MAC = mac
	}
	if cur := s.endpoints[ep.NetworkID][ep.ContainerID]; cur != nil {
		cur.plugged = true
		s.publishLocked(eventtypes.ActionConnect, n.ID, n.Name, n.Driver, ep.ContainerID)
	}
	s.mu.Unlock()
	return nil
}

func (s *Service) bridgeOf(n *Network) cni.Bridge {
	return cni.Bridge{
		Name: cni.NetworkName(n.ID), Bridge: n.Bridge, MTU: n.MTU, Subnet: n.Subnet, Gateway: n.Gateway,
		Internal: n.Internal, IPTables: s.cfg.IPTables,
	}
}

// Release unplugs the endpoint (what a Plug did, also after a crash) and
// frees its address and ports.
func (s *Service) Release(ctx context.Context, ep *Endpoint) error {
	err := s.cni.Del(ctx, cni.NetworkName(ep.NetworkID), ep.ContainerID, ep.NetNS, ep.IfName)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only what this endpoint holds is freed: the endpoint of a container
	// that exited while the daemon was away was never taken back, and its
	// address may belong to another container by now.
	if cur := s.endpoints[ep.NetworkID][ep.ContainerID]; cur != nil && cur.EndpointID == ep.EndpointID {
		cur.reservation.Release()
		delete(s.endpoints[ep.NetworkID], ep.ContainerID)
		if n := s.networks[ep.NetworkID]; n != nil && cur.plugged {
			s.publishLocked(eventtypes.ActionDisconnect, n.ID, n.Name, n.Driver, ep.ContainerID)
		}
		s.releaseIPLocked(ep.NetworkID, ep.IP)
	}
	ep.reservation.Release()
	close(s.changed)
	s.changed = make(chan struct{})
	return err
}

// Leaving marks the endpoints of a container that exited: they are
// released in the background, and a network removal waits for that
// instead of refusing.
func (s *Service) Leaving(containerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, eps := range s.endpoints {
		if ep := eps[containerID]; ep != nil {
			ep.leaving = true
		}
	}
}

// Restore takes back the endpoint of a container that kept running while
// the daemon was away: its address stays taken and its ports reserved.
func (s *Service) Restore(ep *Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.networks[ep.NetworkID]
	if n == nil {
		return fmt.Errorf("network %s of container %s is gone", ep.NetworkName, ep.ContainerID)
	}
	s.used[n.ID][ep.IP] = true
	ep.plugged = true // connected before the daemon restarted
	s.endpoints[n.ID][ep.ContainerID] = ep
	if len(ep.Ports) > 0 {
		res, _, err := reservePorts(ep.Ports)
		if err != nil {
			return fmt.Errorf("reserving published ports again: %w", err)
		}
		ep.reservation = res
	}
	return nil
}

// Rename changes the name a container answers to.
func (s *Service) Rename(containerID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, eps := range s.endpoints {
		if ep := eps[containerID]; ep != nil {
			ep.Name = name
		}
	}
}

// allocateLocked takes want, or the next free address of the network's
// range. The search goes on from the last allocation, so an address just
// released is not handed out again at once.
func (s *Service) allocateLocked(n *Network, want netip.Addr) (netip.Addr, error) {
	used := s.used[n.ID]
	if want.IsValid() {
		want = want.Unmap()
		if !usable(n.Subnet, want) || want == n.Gateway {
			return netip.Addr{}, fmt.Errorf("invalid address %s: it is not a usable address of network %s (%s): %w", want, n.Name, n.Subnet, errdefs.ErrInvalidArgument)
		}
		if used[want] {
			return netip.Addr{}, fmt.Errorf("address %s is already in use on network %s: %w", want, n.Name, errdefs.ErrConflict)
		}
		used[want] = true
		return want, nil
	}
	pool := n.IPRange
	if !pool.IsValid() {
		pool = n.Subnet
	}
	size := 1 << (32 - pool.Bits())
	start := s.next[n.ID]
	if !start.IsValid() || !pool.Contains(start) {
		start = pool.Masked().Addr()
	}
	a := start
	for range size {
		if usable(n.Subnet, a) && a != n.Gateway && !used[a] {
			used[a] = true
			next := a.Next()
			if !pool.Contains(next) {
				next = pool.Masked().Addr()
			}
			s.next[n.ID] = next
			return a, nil
		}
		a = a.Next()
		if !pool.Contains(a) {
			a = pool.Masked().Addr()
		}
	}
	return netip.Addr{}, fmt.Errorf("no available IPv4 address on network %s: %w", n.Name, errdefs.ErrUnavailable)
}

func (s *Service) releaseIPLocked(networkID string, ip netip.Addr) {
	if u := s.used[networkID]; u != nil {
		delete(u, ip)
	}
}

// macFor derives a MAC from the address as Docker does: 02:42 and the
// four bytes of the IPv4 address.
func macFor(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

func normaliseMAC(v string) (string, error) {
	hw, err := net.ParseMAC(v)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("invalid MAC address %q: %w", v, errdefs.ErrInvalidArgument)
	}
	if hw[0]&1 == 1 {
		return "", fmt.Errorf("invalid MAC address %q: a multicast address cannot be a container's: %w", v, errdefs.ErrInvalidArgument)
	}
	return hw.String(), nil
}

func sortNetworks(ns []*Network) {
	sort.Slice(ns, func(i, j int) bool {
		if ns[i].Name != ns[j].Name {
			return ns[i].Name < ns[j].Name
		}
		return ns[i].ID < ns[j].ID
	})
}
