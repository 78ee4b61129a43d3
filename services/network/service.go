package network

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/network/bridge"
	"github.com/pouchcontainer/pouch/network/cni"
	"github.com/pouchcontainer/pouch/network/netns"
	"github.com/pouchcontainer/pouch/services/events"
)

// Config configures the service; the bridge settings are the daemon's
// --bridge-name, --bip, --fixed-cidr, --mtu, --iptables and --ipforward.
type Config struct {
	Root       string // records: <Root>/networks.json
	StateDir   string // pinned namespaces and the CNI cache; gone at reboot, as they are
	PluginDirs []string

	BridgeName string
	BIP        netip.Prefix // gateway address and subnet of the default bridge
	FixedCIDR  netip.Prefix // where the default bridge hands out addresses; zero: the subnet
	MTU        int
	IPTables   bool
	IPForward  bool
}

// Service manages networks and the endpoints of containers on them.
type Service struct {
	cfg Config
	cni *cni.Driver
	st  store

	mu        sync.RWMutex
	networks  map[string]*Network             // by ID
	endpoints map[string]map[string]*Endpoint // network ID -> container ID -> endpoint
	used      map[string]map[netip.Addr]bool  // network ID -> allocated addresses
	next      map[string]netip.Addr           // network ID -> where the next search starts
	dns       map[string]*sandboxDNS          // container ID -> its resolver
	changed   chan struct{}                   // closed (and replaced) when an endpoint is released

	events events.Publisher // nil publishes nothing (see SetEvents)
}

// New loads the records, creates the predefined networks and brings up
// the default bridge.
func New(cfg Config) (*Service, error) {
	for _, d := range []string{cfg.Root, cfg.StateDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if len(cfg.PluginDirs) == 0 {
		cfg.PluginDirs = cni.DefaultPluginDirs
	}
	s := &Service{
		cfg:       cfg,
		cni:       cni.New(cfg.PluginDirs, filepath.Join(cfg.StateDir, "cni")),
		st:        store{path: filepath.Join(cfg.Root, "networks.json")},
		networks:  map[string]*Network{},
		endpoints: map[string]map[string]*Endpoint{},
		used:      map[string]map[netip.Addr]bool{},
		next:      map[string]netip.Addr{},
		dns:       map[string]*sandboxDNS{},
		changed:   make(chan struct{}),
	}
	nets, err := s.st.load()
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		s.add(n)
	}
	if err := s.ensurePredefined(); err != nil {
		return nil, err
	}
	if cfg.IPForward {
		if err := bridge.EnableForwarding(); err != nil {
			return nil, fmt.Errorf("enable IP forwarding: %w", err)
		}
	}
	for _, n := range s.networks {
		if n.Driver != DriverBridge {
			continue
		}
		if err := s.setupBridge(n); err != nil {
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	return s, nil
}

// setupBridge brings up a network's bridge and writes its rules.
func (s *Service) setupBridge(n *Network) error {
	if err := bridge.Ensure(n.Bridge, netip.PrefixFrom(n.Gateway, n.Subnet.Bits()), n.MTU); err != nil {
		return err
	}
	if s.cfg.IPTables {
		return bridge.SetupRules(rulesOf(n))
	}
	return nil
}

// removeBridge removes a network's bridge and its rules.
func removeBridge(n *Network) error {
	bridge.RemoveRules(rulesOf(n))
	return bridge.Remove(n.Bridge)
}

func rulesOf(n *Network) bridge.Rules {
	return bridge.Rules{Bridge: n.Bridge, Subnet: n.Subnet, Internal: n.Internal}
}

func (s *Service) add(n *Network) {
	s.networks[n.ID] = n
	if s.endpoints[n.ID] == nil {
		s.endpoints[n.ID] = map[string]*Endpoint{}
	}
	if s.used[n.ID] == nil {
		s.used[n.ID] = map[netip.Addr]bool{}
	}
}

// ensurePredefined creates bridge, host and none, and brings the default
// bridge's record in line with the daemon's flags.
func (s *Service) ensurePredefined() error {
	byName := map[string]*Network{}
	for _, n := range s.networks {
		byName[n.Name] = n
	}
	changed := false
	for _, p := range []struct{ name, driver string }{{NameBridge, DriverBridge}, {NameHost, DriverHost}, {NameNone, DriverNull}} {
		if byName[p.name] == nil {
			n := &Network{ID: newID(), Name: p.name, Driver: p.driver, Created: timeNow(),
				Options: map[string]string{}, Labels: map[string]string{}}
			s.add(n)
			byName[p.name] = n
			changed = true
		}
	}
	br := byName[NameBridge]
	if !s.cfg.BIP.IsValid() || !s.cfg.BIP.Addr().Is4() {
		return fmt.Errorf("invalid --bip %s: want the bridge's address with its prefix, such as 192.168.5.1/24", s.cfg.BIP)
	}
	subnet, gw := s.cfg.BIP.Masked(), s.cfg.BIP.Addr()
	if !usable(subnet, gw) {
		return fmt.Errorf("invalid --bip %s: the bridge's address must be a host address of its subnet", s.cfg.BIP)
	}
	fixed := s.cfg.FixedCIDR
	if fixed.IsValid() {
		fixed = fixed.Masked()
		if fixed.Bits() < subnet.Bits() || !subnet.Contains(fixed.Addr()) {
			return fmt.Errorf("invalid --fixed-cidr %s: it must lie inside the bridge's subnet %s", fixed, subnet)
		}
	}
	opts := map[string]string{
		OptBridgeName:    s.cfg.BridgeName,
		OptDefaultBridge: "true",
		OptEnableIPMasq:  fmt.Sprint(s.cfg.IPTables),
		OptICC:           "true",
		OptHostBinding:   "0.0.0.0",
		OptMTU:           fmt.Sprint(s.effectiveMTU(s.cfg.MTU)),
	}
	if br.Bridge != s.cfg.BridgeName || br.Subnet != subnet || br.Gateway != gw || br.IPRange != fixed ||
		br.MTU != s.cfg.MTU || !equalMaps(br.Options, opts) {
		if br.Bridge != "" {
			// The default bridge moved: the old one is no longer ours.
			bridge.RemoveRules(rulesOf(br))
			if br.Bridge != s.cfg.BridgeName {
				_ = bridge.Remove(br.Bridge)
			}
		}
		br.Bridge, br.Subnet, br.Gateway, br.IPRange, br.MTU, br.Options = s.cfg.BridgeName, subnet, gw, fixed, s.cfg.MTU, opts
		changed = true
	}
	for _, n := range s.networks {
		if n.Name != NameBridge && n.Driver == DriverBridge && overlaps(n.Subnet, subnet) {
			return fmt.Errorf("the default bridge's subnet %s overlaps network %s (%s): choose another --bip", subnet, n.Name, n.Subnet)
		}
	}
	if changed {
		return s.st.save(s.networks)
	}
	return nil
}

func (s *Service) effectiveMTU(mtu int) int {
	if mtu > 0 {
		return mtu
	}
	return 1500
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// Get finds a network by full ID, name, or unique ID prefix, as Docker does.
func (s *Service) Get(ref string) (*Network, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.getLocked(ref)
}

func (s *Service) getLocked(ref string) (*Network, error) {
	if ref == "" {
		return nil, fmt.Errorf("no network name or ID given: %w", errdefs.ErrInvalidArgument)
	}
	if n, ok := s.networks[ref]; ok {
		return n, nil
	}
	for _, n := range s.networks {
		if n.Name == ref {
			return n, nil
		}
	}
	var found *Network
	for id, n := range s.networks {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix): %w", ref, 2, errdefs.ErrInvalidArgument)
			}
			found = n
		}
	}
	if found == nil {
		return nil, fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
	}
	return found, nil
}

// List returns every network, by name.
func (s *Service) List() []*Network {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Network, 0, len(s.networks))
	for _, n := range s.networks {
		out = append(out, n)
	}
	sortNetworks(out)
	return out
}

// Create creates a user-defined bridge network.
func (s *Service) Create(ctx context.Context, o CreateOptions) (*Network, error) {
	n, err := parseOptions(o)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.networks {
		if other.Name == n.Name {
			return nil, fmt.Errorf("network with name %s already exists: %w", n.Name, errdefs.ErrConflict)
		}
		if other.Driver == DriverBridge && other.Bridge == n.Bridge {
			return nil, fmt.Errorf("bridge %s is already used by network %s: %w", n.Bridge, other.Name, errdefs.ErrConflict)
		}
	}
	taken, err := s.takenLocked()
	if err != nil {
		return nil, err
	}
	if n.Subnet.IsValid() {
		for _, t := range taken {
			if overlaps(t.prefix, n.Subnet) {
				return nil, fmt.Errorf("invalid pool request: subnet %s overlaps %s: %w", n.Subnet, t.what, errdefs.ErrConflict)
			}
		}
	} else {
		for _, p := range defaultPools() {
			free := true
			for _, t := range taken {
				if overlaps(t.prefix, p) {
					free = false
					break
				}
			}
			if free {
				n.Subnet = p
				break
			}
		}
		if !n.Subnet.IsValid() {
			return nil, fmt.Errorf("all predefined address pools have been fully subnetted: %w", errdefs.ErrUnavailable)
		}
	}
	if !n.Gateway.IsValid() {
		n.Gateway = firstHost(n.Subnet)
	}
	n.Options[OptMTU] = fmt.Sprint(s.effectiveMTU(n.MTU))
	if n.MTU == 0 {
		delete(n.Options, OptMTU)
	}
	// The bridge first: a network whose bridge cannot be made is not created.
	if err := s.setupBridge(n); err != nil {
		_ = removeBridge(n)
		return nil, err
	}
	s.add(n)
	if err := s.st.save(s.networks); err != nil {
		s.dropLocked(n)
		_ = removeBridge(n)
		return nil, err
	}
	log.G(ctx).WithField("network", n.Name).WithField("subnet", n.Subnet).Info("network created")
	s.publishLocked(eventtypes.ActionCreate, n.ID, n.Name, n.Driver, "")
	return n, nil
}

type takenPrefix struct {
	prefix netip.Prefix
	what   string
}

// takenLocked lists the subnets a new network must not overlap: other
// networks' and the host's own routes.
func (s *Service) takenLocked() ([]takenPrefix, error) {
	var out []takenPrefix
	ours := map[string]bool{}
	for _, n := range s.networks {
		if n.Driver == DriverBridge {
			out = append(out, takenPrefix{n.Subnet, "network " + n.Name})
			ours[n.Bridge] = true
		}
	}
	routes, err := bridge.Routes(ours)
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		out = append(out, takenPrefix{r, "a route of the host"})
	}
	return out, nil
}

func (s *Service) dropLocked(n *Network) {
	delete(s.networks, n.ID)
	delete(s.endpoints, n.ID)
	delete(s.used, n.ID)
	delete(s.next, n.ID)
}

// Remove removes a user-defined network no running container uses.
func (s *Service) Remove(ctx context.Context, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.getLocked(ref)
	if err != nil {
		return err
	}
	s.waitLeavingLocked(ctx, n.ID)
	return s.removeLocked(ctx, n)
}

// leavingWait bounds how long a removal waits for the endpoints of
// containers that have exited to be released.
const leavingWait = 10 * time.Second

// waitLeavingLocked waits while the network's only endpoints are those of
// containers that exited and are being unplugged in the background: a
// client that saw its container exit (or removed with --rm) must be able
// to remove the network right away. Called and returns with s.mu held.
func (s *Service) waitLeavingLocked(ctx context.Context, id string) {
	deadline := time.Now().Add(leavingWait)
	for len(s.endpoints[id]) > 0 && time.Now().Before(deadline) {
		for _, ep := range s.endpoints[id] {
			if !ep.leaving {
				return
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		case <-time.After(time.Until(deadline)):
		}
		s.mu.Lock()
		if ctx.Err() != nil {
			return
		}
	}
}

func (s *Service) removeLocked(ctx context.Context, n *Network) error {
	if n.Predefined() {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", n.Name, errdefs.ErrPermissionDenied)
	}
	if eps := s.endpoints[n.ID]; len(eps) > 0 {
		names := make([]string, 0, len(eps))
		for _, ep := range eps {
			names = append(names, ep.Name)
		}
		return fmt.Errorf("error while removing network: network %s id %s has active endpoints (%s): %w",
			n.Name, n.ID, strings.Join(names, ", "), errdefs.ErrConflict)
	}
	s.dropLocked(n)
	if err := s.st.save(s.networks); err != nil {
		s.add(n)
		return err
	}
	if err := removeBridge(n); err != nil {
		log.G(ctx).WithError(err).WithField("network", n.Name).Warn("removing bridge")
	}
	s.publishLocked(eventtypes.ActionDestroy, n.ID, n.Name, n.Driver, "")
	return nil
}

// Prune removes every user-defined network without endpoints that match
// keep, and returns their names.
func (s *Service) Prune(ctx context.Context, match func(*Network) bool) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range s.networks {
		if n.Predefined() || (match != nil && !match(n)) {
			continue
		}
		s.waitLeavingLocked(ctx, n.ID)
		if len(s.endpoints[n.ID]) > 0 || s.networks[n.ID] == nil {
			continue
		}
		if err := s.removeLocked(ctx, n); err != nil {
			return out, err
		}
		out = append(out, n.Name)
	}
	events.Publish(s.events, events.NetworkEvent(eventtypes.ActionPrune, "", map[string]string{"reclaimed": "0"}))
	return out, nil
}

// Endpoints returns the endpoints on a network, by container ID.
func (s *Service) Endpoints(id string) map[string]Endpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]Endpoint{}
	for cid, ep := range s.endpoints[id] {
		out[cid] = *ep
	}
	return out
}

// Cleanup removes what a crash left behind: namespaces and CNI
// attachments of containers that are not running. running holds the IDs
// of running containers (after Restore).
func (s *Service) Cleanup(ctx context.Context, running map[string]bool) {
	nsDir := s.netnsDir()
	names, err := netns.List(nsDir)
	if err != nil {
		log.G(ctx).WithError(err).Warn("listing network namespaces")
	}
	atts, err := s.cni.Attachments()
	if err != nil {
		log.G(ctx).WithError(err).Warn("listing CNI attachments")
	}
	s.mu.RLock()
	live := map[string]bool{} // container ID + "/" + CNI network name
	for nid, eps := range s.endpoints {
		for cid := range eps {
			live[cid+"/"+cni.NetworkName(nid)] = true
		}
	}
	s.mu.RUnlock()
	for _, a := range atts {
		if live[a.ContainerID+"/"+a.Network] {
			continue
		}
		log.G(ctx).WithField("container", a.ContainerID).WithField("network", a.Network).Info("removing network attachment left by a crash")
		if err := s.cni.Del(ctx, a.Network, a.ContainerID, a.NetNS, a.IfName); err != nil {
			log.G(ctx).WithError(err).Warn("removing leftover attachment")
		}
	}
	for _, name := range names {
		if !running[name] {
			_ = netns.Remove(filepath.Join(nsDir, name))
		}
	}
}

func (s *Service) netnsDir() string { return filepath.Join(s.cfg.StateDir, "ns") }

// NewSandbox creates the network namespace of a container.
func (s *Service) NewSandbox(containerID string) (string, error) {
	return netns.Create(s.netnsDir(), containerID)
}

// RemoveSandbox removes a container's network namespace.
func (s *Service) RemoveSandbox(path string) error {
	if path == "" || filepath.Dir(path) != s.netnsDir() {
		return nil // not ours (another container's, or a process's)
	}
	return netns.Remove(path)
}

// Loopback brings up lo in a container's namespace.
func (s *Service) Loopback(ctx context.Context, containerID, ns string) error {
	return s.cni.Loopback(ctx, containerID, ns)
}
