package network

import (
	"net/netip"
	"os"
	"strings"

	"github.com/pouchcontainer/pouch/network/dns"
)

// sandboxDNS is the embedded resolver of one container.
type sandboxDNS struct {
	server    *dns.Server
	upstreams []netip.AddrPort
}

// StartDNS serves the embedded resolver (127.0.0.11) inside a container's
// namespace, forwarding other names to servers (the container's --dns), or
// to the host's resolvers when none are given. lo must be up.
func (s *Service) StartDNS(containerID, ns string, servers []netip.Addr) error {
	s.mu.Lock()
	if s.dns[containerID] != nil {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	var up []netip.AddrPort
	for _, a := range servers {
		up = append(up, netip.AddrPortFrom(a.Unmap(), 53))
	}
	if len(servers) == 0 {
		up = hostResolvers()
	}
	srv, err := dns.Serve(ns, &resolver{s: s, id: containerID, upstreams: up})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dns[containerID] != nil {
		srv.Close()
		return nil
	}
	s.dns[containerID] = &sandboxDNS{server: srv, upstreams: up}
	return nil
}

// StopDNS stops a container's resolver.
func (s *Service) StopDNS(containerID string) {
	s.mu.Lock()
	d := s.dns[containerID]
	delete(s.dns, containerID)
	s.mu.Unlock()
	if d != nil {
		d.server.Close()
	}
}

// Close stops every resolver (the daemon is stopping; containers keep
// running and get theirs back at the next start).
func (s *Service) Close() {
	s.mu.Lock()
	all := s.dns
	s.dns = map[string]*sandboxDNS{}
	s.mu.Unlock()
	for _, d := range all {
		d.server.Close()
	}
}

func parseServers(servers []string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, v := range servers {
		if ap, err := netip.ParseAddrPort(v); err == nil {
			out = append(out, ap)
			continue
		}
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.AddrPortFrom(a.Unmap(), 53))
		}
	}
	return out
}

// hostResolvers are the nameservers of the host's resolv.conf. They are
// asked from the host's namespace, so loopback ones work too.
func hostResolvers() []netip.AddrPort {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var servers []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			servers = append(servers, f[1])
		}
	}
	return parseServers(servers)
}

// resolver answers for one container from the endpoint tables: the
// containers on the user-defined networks it is on, by name, alias and
// short ID.
type resolver struct {
	s         *Service
	id        string
	upstreams []netip.AddrPort
}

func (r *resolver) Lookup(name string) ([]netip.Addr, bool) {
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	var out []netip.Addr
	for _, eps := range r.s.endpoints {
		self := eps[r.id]
		if self == nil || !self.UserDefined {
			continue
		}
		for _, ep := range eps {
			for _, n := range ep.DNSNames() {
				if strings.EqualFold(n, name) {
					out = append(out, ep.IP)
					break
				}
			}
		}
	}
	return out, len(out) > 0
}

func (r *resolver) LookupAddr(ip netip.Addr) ([]string, bool) {
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	for _, eps := range r.s.endpoints {
		self := eps[r.id]
		if self == nil || !self.UserDefined {
			continue
		}
		for _, ep := range eps {
			if ep.IP == ip {
				return []string{ep.Name + "." + ep.NetworkName}, true
			}
		}
	}
	return nil, false
}

// Upstreams is empty when every network of the container is internal:
// such a container has no way out, for names either.
func (r *resolver) Upstreams() []netip.AddrPort {
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	external := false
	for nid, eps := range r.s.endpoints {
		if eps[r.id] != nil && r.s.networks[nid] != nil && !r.s.networks[nid].Internal {
			external = true
		}
	}
	if !external {
		return nil
	}
	return r.upstreams
}
