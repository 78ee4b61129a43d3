// Package network is Pouch's network service: the network records (the
// default bridge, host, none and user-defined bridge networks), address
// allocation, and the endpoints of containers on them. The container
// service asks it to plug and unplug a container's network namespace; the
// plumbing itself is the CNI plugins' (network/cni). It knows nothing of
// HTTP.
package network

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// Drivers of the predefined networks, as Docker names them.
const (
	DriverBridge = "bridge"
	DriverHost   = "host"
	DriverNull   = "null"
)

// Names of the predefined networks.
const (
	NameBridge = "bridge"
	NameHost   = "host"
	NameNone   = "none"
)

// Options Docker users pass with -o to a bridge network.
const (
	OptBridgeName    = "com.docker.network.bridge.name"
	OptMTU           = "com.docker.network.driver.mtu"
	OptDefaultBridge = "com.docker.network.bridge.default_bridge"
	OptEnableIPMasq  = "com.docker.network.bridge.enable_ip_masquerade"
	OptICC           = "com.docker.network.bridge.enable_icc"
	OptHostBinding   = "com.docker.network.bridge.host_binding_ipv4"
)

// Network is one network record.
type Network struct {
	ID         string
	Name       string
	Driver     string
	Created    time.Time
	Subnet     netip.Prefix `json:",omitzero"`
	Gateway    netip.Addr   `json:",omitzero"`
	IPRange    netip.Prefix `json:",omitzero"` // addresses are handed out from here; zero: the subnet
	Internal   bool
	Attachable bool
	Options    map[string]string
	Labels     map[string]string
	Bridge     string // Linux bridge, for bridge networks
	MTU        int
}

// Predefined reports whether the network is one the daemon made.
func (n *Network) Predefined() bool {
	return n.Name == NameBridge || n.Name == NameHost || n.Name == NameNone
}

// UserDefined reports whether containers on it get name resolution.
func (n *Network) UserDefined() bool { return n.Driver == DriverBridge && n.Name != NameBridge }

var validNetworkName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// CreateOptions is a network create request.
type CreateOptions struct {
	Name       string
	Driver     string
	Subnet     string
	Gateway    string
	IPRange    string
	Internal   bool
	Attachable bool
	Options    map[string]string
	Labels     map[string]string
}

// store persists the network records in one JSON file.
type store struct {
	path string
}

func (st store) load() ([]*Network, error) {
	b, err := os.ReadFile(st.path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Network
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("network records %s: %w", st.path, err)
	}
	return out, nil
}

func (st store) save(nets map[string]*Network) error {
	list := make([]*Network, 0, len(nets))
	for _, n := range nets {
		list = append(list, n)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp := st.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, st.path)
}

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// parseOptions validates a create request into a network (no subnet yet
// when none was asked for).
func parseOptions(o CreateOptions) (*Network, error) {
	if o.Name == "" {
		return nil, fmt.Errorf("network name cannot be empty: %w", errdefs.ErrInvalidArgument)
	}
	if !validNetworkName.MatchString(o.Name) {
		return nil, fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", o.Name, errdefs.ErrInvalidArgument)
	}
	switch o.Name {
	case NameBridge, NameHost, NameNone:
		return nil, fmt.Errorf("%s is a pre-defined network and cannot be created: %w", o.Name, errdefs.ErrPermissionDenied)
	}
	driver := o.Driver
	if driver == "" {
		driver = DriverBridge
	}
	if driver != DriverBridge {
		return nil, fmt.Errorf("network driver %q is not supported: use bridge: %w", driver, errdefs.ErrInvalidArgument)
	}
	n := &Network{
		ID: newID(), Name: o.Name, Driver: driver, Created: time.Now().UTC(),
		Internal: o.Internal, Attachable: o.Attachable,
		Options: map[string]string{}, Labels: map[string]string{},
	}
	for k, v := range o.Options {
		n.Options[k] = v
	}
	for k, v := range o.Labels {
		n.Labels[k] = v
	}
	var err error
	if o.Subnet != "" {
		if n.Subnet, err = netip.ParsePrefix(o.Subnet); err != nil || !n.Subnet.Addr().Is4() {
			return nil, fmt.Errorf("invalid subnet %q: want an IPv4 CIDR such as 10.1.0.0/24: %w", o.Subnet, errdefs.ErrInvalidArgument)
		}
		if n.Subnet.Bits() > 30 {
			return nil, fmt.Errorf("subnet %s is too small: it needs room for a gateway and containers: %w", n.Subnet, errdefs.ErrInvalidArgument)
		}
		n.Subnet = n.Subnet.Masked()
	}
	if o.Gateway != "" {
		if o.Subnet == "" {
			return nil, fmt.Errorf("a gateway needs a subnet (--subnet): %w", errdefs.ErrInvalidArgument)
		}
		if n.Gateway, err = netip.ParseAddr(o.Gateway); err != nil {
			return nil, fmt.Errorf("invalid gateway %q: %w", o.Gateway, errdefs.ErrInvalidArgument)
		}
		if !usable(n.Subnet, n.Gateway) {
			return nil, fmt.Errorf("gateway %s is not a usable address of subnet %s: %w", n.Gateway, n.Subnet, errdefs.ErrInvalidArgument)
		}
	}
	if o.IPRange != "" {
		if o.Subnet == "" {
			return nil, fmt.Errorf("an IP range needs a subnet (--subnet): %w", errdefs.ErrInvalidArgument)
		}
		if n.IPRange, err = netip.ParsePrefix(o.IPRange); err != nil || !n.IPRange.Addr().Is4() {
			return nil, fmt.Errorf("invalid IP range %q: %w", o.IPRange, errdefs.ErrInvalidArgument)
		}
		n.IPRange = n.IPRange.Masked()
		if n.IPRange.Bits() < n.Subnet.Bits() || !n.Subnet.Contains(n.IPRange.Addr()) {
			return nil, fmt.Errorf("IP range %s is not inside subnet %s: %w", n.IPRange, n.Subnet, errdefs.ErrInvalidArgument)
		}
	}
	if v := n.Options[OptMTU]; v != "" {
		mtu, err := strconv.Atoi(v)
		if err != nil || mtu < 68 || mtu > 65535 {
			return nil, fmt.Errorf("invalid MTU %q: %w", v, errdefs.ErrInvalidArgument)
		}
		n.MTU = mtu
	}
	if v := n.Options[OptBridgeName]; v != "" {
		if len(v) > 15 || strings.ContainsAny(v, "/ \t") {
			return nil, fmt.Errorf("invalid bridge name %q: at most 15 characters, no '/' or spaces: %w", v, errdefs.ErrInvalidArgument)
		}
		n.Bridge = v
	} else {
		n.Bridge = "pn-" + n.ID[:12]
	}
	return n, nil
}

// usable reports whether a is a host address of p (not the network or
// broadcast address).
func usable(p netip.Prefix, a netip.Addr) bool {
	if !a.Is4() || !p.Contains(a) {
		return false
	}
	return a != p.Masked().Addr() && a != broadcast(p)
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func overlaps(a, b netip.Prefix) bool {
	return a.IsValid() && b.IsValid() && a.Overlaps(b)
}

// defaultPools are where subnets of networks created without one come
// from, as Docker's default address pools: 172.17-31.0.0/16, then
// 192.168.0.0/16 in /20 steps.
func defaultPools() []netip.Prefix {
	var out []netip.Prefix
	for i := 17; i <= 31; i++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
	return out
}

// firstHost is the first usable address of p (the usual gateway).
func firstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }
