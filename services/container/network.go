package container

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	netsvc "github.com/pouchcontainer/pouch/services/network"
)

// Networks is what the container service needs of the network service.
type Networks interface {
	Get(ref string) (*netsvc.Network, error)
	NewSandbox(containerID string) (string, error)
	RemoveSandbox(path string) error
	Loopback(ctx context.Context, containerID, ns string) error
	Reserve(req netsvc.JoinRequest) (*netsvc.Endpoint, error)
	Plug(ctx context.Context, ep *netsvc.Endpoint) error
	Release(ctx context.Context, ep *netsvc.Endpoint) error
	Restore(ep *netsvc.Endpoint) error
	StartDNS(containerID, ns string, servers []netip.Addr) error
	StopDNS(containerID string)
	Rename(containerID, name string)
	Leaving(containerID string)
	Cleanup(ctx context.Context, running map[string]bool)
}

// NetworkState is a container's networking, as persisted: the networks it
// is configured to join (by name) and, while it runs, its namespace and
// live endpoints.
type NetworkState struct {
	Networks   map[string]*network.EndpointSettings `json:",omitempty"`
	SandboxKey string                               `json:",omitempty"`
	Endpoints  map[string]*netsvc.Endpoint          `json:",omitempty"`
}

func (n NetworkState) clone() NetworkState {
	out := NetworkState{SandboxKey: n.SandboxKey}
	if n.Networks != nil {
		out.Networks = make(map[string]*network.EndpointSettings, len(n.Networks))
		for k, v := range n.Networks {
			out.Networks[k] = v.Copy()
		}
	}
	if n.Endpoints != nil {
		out.Endpoints = make(map[string]*netsvc.Endpoint, len(n.Endpoints))
		for k, v := range n.Endpoints {
			cp := *v
			out.Endpoints[k] = &cp
		}
	}
	return out
}

// ownsNetwork reports whether the container has a network namespace of
// its own that Pouch plumbs (bridge or user-defined network).
func ownsNetwork(mode ctypes.NetworkMode) bool {
	return !mode.IsHost() && !mode.IsNone() && !mode.IsContainer()
}

// resolveNetworks normalises the network mode at create ("" and "default"
// mean the default bridge), checks that every network exists and that the
// endpoint settings are sane, and returns the networks to join.
func (s *Service) resolveNetworks(hc *ctypes.HostConfig, nc *network.NetworkingConfig) (map[string]*network.EndpointSettings, error) {
	asked := string(hc.NetworkMode)
	switch hc.NetworkMode {
	case "", "default":
		hc.NetworkMode = netsvc.NameBridge
	}
	mode := hc.NetworkMode
	eps := map[string]*network.EndpointSettings{}
	if nc != nil {
		for name, es := range nc.EndpointsConfig {
			// Clients key the endpoint of the network mode by what the
			// user typed, "default" included.
			if name == "default" || (name == asked && asked != "") {
				name = string(mode)
			}
			eps[name] = es
		}
	}
	switch {
	case mode.IsHost(), mode.IsNone():
		if len(eps) > 0 {
			for name := range eps {
				if name != string(mode) {
					return nil, fmt.Errorf("container sharing network namespace with another container or host cannot be connected to any other network: %w", errdefs.ErrInvalidArgument)
				}
			}
		}
		if len(hc.PortBindings) > 0 && mode.IsNone() {
			return nil, fmt.Errorf("conflicting options: port publishing and the container type network mode: %w", errdefs.ErrInvalidArgument)
		}
		return nil, nil
	case mode.IsContainer():
		if len(eps) > 0 || len(hc.PortBindings) > 0 || hc.PublishAllPorts {
			return nil, fmt.Errorf("conflicting options: port publishing and the container type network mode: %w", errdefs.ErrInvalidArgument)
		}
		if len(hc.DNS) > 0 || len(hc.ExtraHosts) > 0 {
			return nil, fmt.Errorf("conflicting options: dns and the network mode: %w", errdefs.ErrInvalidArgument)
		}
		if _, err := s.Get(mode.ConnectedContainer()); err != nil {
			if errdefs.IsNotFound(err) {
				// Not a 404: clients would take it for a missing image.
				return nil, fmt.Errorf("%v: %w", strings.TrimSuffix(err.Error(), ": "+errdefs.ErrNotFound.Error()), errdefs.ErrInvalidArgument)
			}
			return nil, err
		}
		return nil, nil
	}
	if s.networks == nil {
		return nil, fmt.Errorf("networking is not available: %w", errdefs.ErrNotImplemented)
	}
	primary, err := s.getNetwork(string(mode))
	if err != nil {
		return nil, err
	}
	if primary.Driver == netsvc.DriverHost || primary.Driver == netsvc.DriverNull {
		hc.NetworkMode = ctypes.NetworkMode(primary.Name)
		return s.resolveNetworks(hc, nc)
	}
	out := map[string]*network.EndpointSettings{}
	for name, es := range eps {
		n, err := s.getNetwork(name)
		if err != nil {
			return nil, err
		}
		if err := checkEndpoint(n, es); err != nil {
			return nil, err
		}
		cp := es.Copy()
		if cp == nil {
			cp = &network.EndpointSettings{}
		}
		cp.NetworkID = n.ID
		out[n.Name] = cp
	}
	if out[primary.Name] == nil {
		out[primary.Name] = &network.EndpointSettings{NetworkID: primary.ID}
	}
	hc.NetworkMode = ctypes.NetworkMode(primary.Name)
	if _, err := portBindings(hc, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// getNetwork finds a network a create names. An unknown one is the
// request's error (400), not a missing object: clients take a 404 from a
// create for a missing image and try to pull it.
func (s *Service) getNetwork(ref string) (*netsvc.Network, error) {
	n, err := s.networks.Get(ref)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("network %s not found: %w", ref, errdefs.ErrInvalidArgument)
	}
	return n, err
}

// checkEndpoint validates an endpoint's settings against its network.
func checkEndpoint(n *netsvc.Network, es *network.EndpointSettings) error {
	if es == nil {
		return nil
	}
	if n.Driver != netsvc.DriverBridge {
		return fmt.Errorf("container cannot be connected to network %s: %w", n.Name, errdefs.ErrInvalidArgument)
	}
	if es.IPAMConfig != nil && es.IPAMConfig.IPv4Address.IsValid() {
		ip := es.IPAMConfig.IPv4Address.Unmap()
		if !n.UserDefined() {
			return fmt.Errorf("user specified IP address is supported on user defined networks only: %w", errdefs.ErrInvalidArgument)
		}
		if !ip.Is4() || !n.Subnet.Contains(ip) || ip == n.Gateway || ip == n.Subnet.Masked().Addr() {
			return fmt.Errorf("invalid address %s: it is not a usable address of network %s (%s): %w", ip, n.Name, n.Subnet, errdefs.ErrInvalidArgument)
		}
	}
	if es.IPAMConfig != nil && es.IPAMConfig.IPv6Address.IsValid() {
		return fmt.Errorf("IPv6 addresses are not supported: %w", errdefs.ErrInvalidArgument)
	}
	if len(es.Aliases) > 0 && !n.UserDefined() {
		return fmt.Errorf("network-scoped aliases are only supported for user-defined networks: %w", errdefs.ErrInvalidArgument)
	}
	if len(es.MacAddress) > 0 && len(es.MacAddress) != 6 {
		return fmt.Errorf("invalid MAC address %s: %w", es.MacAddress, errdefs.ErrInvalidArgument)
	}
	return nil
}

// portBindings turns the container's published ports into the bindings
// to reserve, with -P adding every exposed port. exposed may be nil (only
// validating).
func portBindings(hc *ctypes.HostConfig, exposed network.PortSet) ([]netsvc.PortBinding, error) {
	var out []netsvc.PortBinding
	seen := map[network.Port]bool{}
	keys := make([]network.Port, 0, len(hc.PortBindings))
	for p := range hc.PortBindings {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, p := range keys {
		proto := string(p.Proto())
		if proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("invalid published port %s: protocol %q is not supported (use tcp or udp): %w", p, proto, errdefs.ErrInvalidArgument)
		}
		if p.Num() == 0 {
			return nil, fmt.Errorf("invalid published port %s: %w", p, errdefs.ErrInvalidArgument)
		}
		seen[p] = true
		bs := hc.PortBindings[p]
		if len(bs) == 0 {
			bs = []network.PortBinding{{}}
		}
		for _, b := range bs {
			hostIP := b.HostIP.Unmap()
			if hostIP.IsUnspecified() {
				hostIP = netip.Addr{} // every address; IPv4 is all there is
			}
			if hostIP.IsValid() && !hostIP.Is4() {
				return nil, fmt.Errorf("invalid host address %s for port %s: only IPv4 is supported: %w", b.HostIP, p, errdefs.ErrInvalidArgument)
			}
			lo, hi, err := hostPortRange(b.HostPort)
			if err != nil {
				return nil, fmt.Errorf("invalid host port %q for %s: %w", b.HostPort, p, errdefs.ErrInvalidArgument)
			}
			out = append(out, netsvc.PortBinding{Proto: proto, ContainerPort: p.Num(), HostIP: hostIP, HostPort: lo, HostPortEnd: hi})
		}
	}
	if hc.PublishAllPorts {
		extra := make([]network.Port, 0, len(exposed))
		for p := range exposed {
			if !seen[p] {
				extra = append(extra, p)
			}
		}
		sort.Slice(extra, func(i, j int) bool { return extra[i].String() < extra[j].String() })
		for _, p := range extra {
			proto := string(p.Proto())
			if proto != "tcp" && proto != "udp" {
				continue
			}
			out = append(out, netsvc.PortBinding{Proto: proto, ContainerPort: p.Num()})
		}
	}
	return out, nil
}

// hostPortRange parses a host port: "" (any), "8080", or a range
// "8000-8010" of which the first free port is taken.
func hostPortRange(v string) (lo, hi uint16, err error) {
	if v == "" {
		return 0, 0, nil
	}
	a, b, isRange := strings.Cut(v, "-")
	n, err := strconv.ParseUint(a, 10, 16)
	if err != nil || n == 0 && isRange {
		return 0, 0, errors.New("not a port")
	}
	if !isRange {
		return uint16(n), 0, nil
	}
	m, err := strconv.ParseUint(b, 10, 16)
	if err != nil || m < n {
		return 0, 0, errors.New("not a port range")
	}
	return uint16(n), uint16(m), nil
}

// sandbox is the network of one run being set up.
type sandbox struct {
	ns        string
	endpoints map[string]*netsvc.Endpoint // by network name
	ready     chan error                  // the plugins finished (nil: no plumbing)
}

// setupNetwork gives a starting container its network: a namespace, the
// addresses and ports of its endpoints (reserved at once), and the CNI
// plumbing, which runs in the background while the task is being
// created; wait on ready before starting the task. On error nothing is
// left.
func (s *Service) setupNetwork(ctx context.Context, c *Container) (*sandbox, error) {
	c.mu.RLock()
	mode := c.HostConfig.NetworkMode
	hc := c.HostConfig
	configured := c.Network.clone().Networks
	name := c.Name
	exposed := c.Config.ExposedPorts
	c.mu.RUnlock()
	switch {
	case mode.IsHost():
		return &sandbox{}, nil
	case mode.IsNone():
		return &sandbox{}, nil // a new, empty namespace: the runtime makes it
	case mode.IsContainer():
		other, err := s.Get(mode.ConnectedContainer())
		if err != nil {
			return nil, fmt.Errorf("cannot join network of a non running container: %w", err)
		}
		other.mu.RLock()
		st, key, pid := other.State, other.Network.SandboxKey, other.State.Pid
		otherMode := other.HostConfig.NetworkMode
		other.mu.RUnlock()
		if other.ID == c.ID {
			return nil, fmt.Errorf("cannot join own network: %w", errdefs.ErrInvalidArgument)
		}
		if !st.Running() {
			return nil, fmt.Errorf("cannot join network of a non running container: %s: %w", other.Name, errdefs.ErrConflict)
		}
		if key == "" && !otherMode.IsHost() {
			key = "/proc/" + strconv.Itoa(pid) + "/ns/net"
		}
		if otherMode.IsHost() {
			key = "/proc/1/ns/net"
		}
		return &sandbox{ns: key}, nil
	}
	if s.networks == nil {
		return nil, fmt.Errorf("networking is not available: %w", errdefs.ErrNotImplemented)
	}
	ns, err := s.networks.NewSandbox(c.ID)
	if err != nil {
		return nil, fmt.Errorf("network namespace of %s: %w", c.ID, err)
	}
	sb := &sandbox{ns: ns, endpoints: map[string]*netsvc.Endpoint{}}
	ok := false
	defer func() {
		if !ok {
			s.releaseSandbox(context.WithoutCancel(ctx), c.ID, sb)
		}
	}()
	// The primary network first: it gets eth0 and the published ports.
	order := []string{string(mode)}
	for n := range configured {
		if n != string(mode) {
			order = append(order, n)
		}
	}
	sort.Strings(order[1:])
	userDefined := false
	for i, netName := range order {
		es := configured[netName]
		req := netsvc.JoinRequest{
			ContainerID: c.ID, Name: name, NetNS: ns, Network: netName, IfName: "eth" + strconv.Itoa(i),
		}
		if es != nil {
			if es.NetworkID != "" {
				if n, err := s.networks.Get(es.NetworkID); err == nil && n.Name == netName {
					req.Network = es.NetworkID
				}
			}
			if es.IPAMConfig != nil {
				req.IP = es.IPAMConfig.IPv4Address
			}
			req.Aliases = es.Aliases
			if len(es.MacAddress) == 6 {
				req.MAC = es.MacAddress.String()
			}
		}
		if i == 0 {
			if req.Ports, err = portBindings(hc, exposed); err != nil {
				return nil, err
			}
		}
		ep, err := s.networks.Reserve(req)
		if err != nil {
			return nil, err
		}
		sb.endpoints[ep.NetworkName] = ep
		userDefined = userDefined || ep.UserDefined
	}
	sb.ready = make(chan error, 1)
	go func() {
		ctx := context.WithoutCancel(ctx)
		began := time.Now()
		defer func() {
			log.G(ctx).WithField("container", c.ID).WithField("took", time.Since(began)).Debug("network plumbed")
		}()
		var wg sync.WaitGroup
		errs := make([]error, len(sb.endpoints)+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[0] = s.networks.Loopback(ctx, c.ID, ns)
		}()
		i := 1
		for _, ep := range sb.endpoints {
			wg.Add(1)
			go func(i int, ep *netsvc.Endpoint) {
				defer wg.Done()
				errs[i] = s.networks.Plug(ctx, ep)
			}(i, ep)
			i++
		}
		wg.Wait()
		err := errors.Join(errs...)
		if err == nil && userDefined {
			err = s.networks.StartDNS(c.ID, ns, hc.DNS)
		}
		sb.ready <- err
	}()
	ok = true
	return sb, nil
}

// primary is the endpoint on the network of the container's mode.
func (sb *sandbox) primary(mode ctypes.NetworkMode) *netsvc.Endpoint {
	if sb == nil {
		return nil
	}
	return sb.endpoints[string(mode)]
}

// wait waits for the sandbox's plumbing.
func (sb *sandbox) wait() error {
	if sb == nil || sb.ready == nil {
		return nil
	}
	err := <-sb.ready
	sb.ready = nil
	return err
}

// releaseSandbox undoes setupNetwork (or what a run left).
func (s *Service) releaseSandbox(ctx context.Context, id string, sb *sandbox) {
	if sb == nil || s.networks == nil {
		return
	}
	_ = sb.wait()
	s.networks.StopDNS(id)
	for _, ep := range sb.endpoints {
		if err := s.networks.Release(ctx, ep); err != nil {
			log.G(ctx).WithError(err).WithField("container", id).WithField("network", ep.NetworkName).Warn("unplugging network")
		}
	}
	if sb.endpoints != nil { // a namespace of its own
		if err := s.networks.RemoveSandbox(sb.ns); err != nil {
			log.G(ctx).WithError(err).WithField("container", id).Warn("removing network namespace")
		}
	}
}

// teardownNetwork releases the network of a run that ended.
func (s *Service) teardownNetwork(ctx context.Context, c *Container) {
	c.mu.Lock()
	sb := &sandbox{ns: c.Network.SandboxKey, endpoints: c.Network.Endpoints}
	owns := ownsNetwork(c.HostConfig.NetworkMode)
	c.Network.SandboxKey, c.Network.Endpoints = "", nil
	_ = c.save()
	c.mu.Unlock()
	if !owns {
		return
	}
	if sb.endpoints == nil {
		sb.endpoints = map[string]*netsvc.Endpoint{}
	}
	if sb.ns == "" {
		return
	}
	s.releaseSandbox(ctx, c.ID, sb)
}

// restoreNetwork takes back the network of a container that kept running.
func (s *Service) restoreNetwork(ctx context.Context, c *Container) {
	if s.networks == nil {
		return
	}
	c.mu.RLock()
	eps := c.Network.clone().Endpoints
	ns := c.Network.SandboxKey
	dnsServers := c.HostConfig.DNS
	c.mu.RUnlock()
	userDefined := false
	for _, ep := range eps {
		if err := s.networks.Restore(ep); err != nil {
			log.G(ctx).WithError(err).WithField("container", c.ID).Warn("restoring endpoint")
		}
		userDefined = userDefined || ep.UserDefined
	}
	if userDefined && ns != "" {
		if err := s.networks.StartDNS(c.ID, ns, dnsServers); err != nil {
			log.G(ctx).WithError(err).WithField("container", c.ID).Warn("restarting the embedded DNS server")
		}
	}
}

// hostGateway is what "host-gateway" in --add-host stands for: the
// default bridge's address on the host, as in Docker.
const hostGateway = "host-gateway"

// expandHosts replaces host-gateway in --add-host entries.
func (s *Service) expandHosts(extra []string) ([]string, error) {
	out := make([]string, 0, len(extra))
	for _, h := range extra {
		name, addr, ok := strings.Cut(h, ":")
		if !ok || strings.Contains(name, "=") {
			name, addr, ok = strings.Cut(h, "=")
		}
		if ok && addr == hostGateway {
			var gw netip.Addr
			if s.networks != nil {
				if n, err := s.networks.Get(netsvc.NameBridge); err == nil {
					gw = n.Gateway
				}
			}
			if !gw.IsValid() {
				return nil, fmt.Errorf("invalid extra host %q: the host gateway is unknown: %w", h, errdefs.ErrInvalidArgument)
			}
			h = name + ":" + gw.String()
		}
		out = append(out, h)
	}
	return out, nil
}

// hostsFile renders /etc/hosts: localhost, --add-host entries and the
// container's own address and name.
func hostsFile(hostname string, ip netip.Addr, extra []string) (string, error) {
	lines, err := extraHostLines(extra)
	if err != nil {
		return "", err
	}
	out := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n" + lines
	if ip.IsValid() && hostname != "" {
		out += ip.String() + "\t" + hostname + "\n"
	}
	return out, nil
}

// extraHostLines renders --add-host entries (host:ip, or host=ip).
func extraHostLines(extra []string) (string, error) {
	var b strings.Builder
	for _, h := range extra {
		name, addr, ok := strings.Cut(h, ":")
		if !ok || strings.Contains(name, "=") {
			name, addr, ok = strings.Cut(h, "=")
		}
		if !ok || name == "" || addr == "" {
			return "", fmt.Errorf("invalid extra host %q: want host:ip: %w", h, errdefs.ErrInvalidArgument)
		}
		if _, err := netip.ParseAddr(strings.Trim(addr, "[]")); err != nil {
			return "", fmt.Errorf("invalid IP address in extra host %q: %w", h, errdefs.ErrInvalidArgument)
		}
		b.WriteString(strings.Trim(addr, "[]") + "\t" + name + "\n")
	}
	return b.String(), nil
}

// writeInPlace rewrites a file that may be bind-mounted already (so its
// inode must stay).
func writeInPlace(path, data string) error {
	return os.WriteFile(path, []byte(data), 0o644)
}

// resolvConfFor renders the container's resolv.conf: on user-defined
// networks the embedded resolver, elsewhere the host's servers (loopback
// ones dropped) or --dns; --dns-search and --dns-option replace the
// host's search and options.
func resolvConfFor(hc *ctypes.HostConfig, embedded bool) string {
	host := ""
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		host = string(b)
	}
	if hc.NetworkMode.IsHost() && len(hc.DNS) == 0 && len(hc.DNSSearch) == 0 && len(hc.DNSOptions) == 0 {
		return host
	}
	var servers, search, options []string
	for _, line := range strings.Split(host, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if !hc.NetworkMode.IsHost() && (strings.HasPrefix(f[1], "127.") || f[1] == "::1") {
				continue
			}
			servers = append(servers, f[1])
		case "search", "domain":
			search = f[1:]
		case "options":
			options = append(options, f[1:]...)
		}
	}
	if len(hc.DNS) > 0 {
		servers = servers[:0]
		for _, a := range hc.DNS {
			servers = append(servers, a.String())
		}
	}
	if len(hc.DNSSearch) > 0 {
		search = hc.DNSSearch
		if len(search) == 1 && search[0] == "." {
			search = nil
		}
	}
	if len(hc.DNSOptions) > 0 {
		options = hc.DNSOptions
	}
	if embedded {
		servers = []string{"127.0.0.11"}
		hasNdots := false
		for _, o := range options {
			if strings.HasPrefix(o, "ndots:") {
				hasNdots = true
			}
		}
		if !hasNdots {
			options = append(options, "ndots:0")
		}
	} else if len(servers) == 0 {
		servers = []string{"8.8.8.8", "8.8.4.4"}
	}
	var b strings.Builder
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return b.String()
}

// Connect connects a container to a network: at once when it runs, at its
// next start otherwise.
func (s *Service) Connect(ctx context.Context, ref, netRef string, es *network.EndpointSettings) error {
	if s.networks == nil {
		return fmt.Errorf("networking is not available: %w", errdefs.ErrNotImplemented)
	}
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	n, err := s.networks.Get(netRef)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	mode := c.HostConfig.NetworkMode
	if n.Driver == netsvc.DriverHost || n.Driver == netsvc.DriverNull || !ownsNetwork(mode) {
		return fmt.Errorf("container sharing network namespace with another container or host cannot be connected to any other network: %w", errdefs.ErrPermissionDenied)
	}
	if err := checkEndpoint(n, es); err != nil {
		return err
	}
	cfg := es.Copy()
	if cfg == nil {
		cfg = &network.EndpointSettings{}
	}
	cfg.NetworkID = n.ID
	c.mu.RLock()
	_, already := c.Network.Networks[n.Name]
	running := c.State.Running()
	ns := c.Network.SandboxKey
	ifName := "eth" + strconv.Itoa(nextInterface(c.Network.Endpoints))
	name := c.Name
	c.mu.RUnlock()
	if already {
		return fmt.Errorf("endpoint with name %s already exists in network %s: %w", name, n.Name, errdefs.ErrConflict)
	}
	if running && ns != "" {
		req := netsvc.JoinRequest{ContainerID: c.ID, Name: name, NetNS: ns, Network: n.ID, IfName: ifName, Aliases: cfg.Aliases}
		if cfg.IPAMConfig != nil {
			req.IP = cfg.IPAMConfig.IPv4Address
		}
		if len(cfg.MacAddress) == 6 {
			req.MAC = cfg.MacAddress.String()
		}
		ep, err := s.networks.Reserve(req)
		if err != nil {
			return err
		}
		if err := s.networks.Plug(ctx, ep); err != nil {
			_ = s.networks.Release(context.WithoutCancel(ctx), ep)
			return err
		}
		if ep.UserDefined {
			if err := s.networks.StartDNS(c.ID, ns, c.HostConfig.DNS); err != nil {
				log.G(ctx).WithError(err).WithField("container", c.ID).Warn("starting the embedded DNS server")
			}
		}
		c.mu.Lock()
		if c.Network.Endpoints == nil {
			c.Network.Endpoints = map[string]*netsvc.Endpoint{}
		}
		c.Network.Endpoints[n.Name] = ep
		defer c.mu.Unlock()
		if c.Network.Networks == nil {
			c.Network.Networks = map[string]*network.EndpointSettings{}
		}
		c.Network.Networks[n.Name] = cfg
		return c.save()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Network.Networks == nil {
		c.Network.Networks = map[string]*network.EndpointSettings{}
	}
	c.Network.Networks[n.Name] = cfg
	return c.save()
}

func nextInterface(eps map[string]*netsvc.Endpoint) int {
	used := map[string]bool{}
	for _, ep := range eps {
		used[ep.IfName] = true
	}
	for i := 0; ; i++ {
		if !used["eth"+strconv.Itoa(i)] {
			return i
		}
	}
}

// Disconnect disconnects a container from a network.
func (s *Service) Disconnect(ctx context.Context, ref, netRef string, force bool) error {
	if s.networks == nil {
		return fmt.Errorf("networking is not available: %w", errdefs.ErrNotImplemented)
	}
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	n, err := s.networks.Get(netRef)
	if err != nil && !force {
		return err
	}
	name := netRef
	if n != nil {
		name = n.Name
	}
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.Lock()
	_, configured := c.Network.Networks[name]
	ep := c.Network.Endpoints[name]
	mode := c.HostConfig.NetworkMode
	if !configured && ep == nil {
		c.mu.Unlock()
		if n != nil && (n.Driver == netsvc.DriverHost || n.Driver == netsvc.DriverNull) && string(mode) == n.Name {
			return fmt.Errorf("container cannot be disconnected from host network or connected to host network: %w", errdefs.ErrPermissionDenied)
		}
		return fmt.Errorf("container %s is not connected to network %s: %w", c.ID[:12], netRef, errdefs.ErrNotFound)
	}
	delete(c.Network.Networks, name)
	delete(c.Network.Endpoints, name)
	userLeft := false
	for _, other := range c.Network.Endpoints {
		userLeft = userLeft || other.UserDefined
	}
	err = c.save()
	c.mu.Unlock()
	if ep != nil {
		if rerr := s.networks.Release(ctx, ep); rerr != nil {
			log.G(ctx).WithError(rerr).WithField("container", c.ID).Warn("unplugging network")
		}
		if !userLeft {
			s.networks.StopDNS(c.ID)
		}
	}
	return err
}
