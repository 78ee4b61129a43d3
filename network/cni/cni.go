// Package cni plumbs containers into bridge networks with the standard CNI
// plugins (bridge with static IPAM, portmap, loopback). The
// caller allocates addresses and ports; this package only turns them into
// plugin configurations and runs the plugins. libcni caches every
// successful ADD with its exact configuration, so a DEL (also one after a
// crash) undoes precisely what was done.
package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// Version is the CNI spec version of every configuration Pouch writes.
const Version = "1.0.0"

// DefaultPluginDirs is where Debian's containernetworking-plugins live.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// Driver runs CNI plugins.
type Driver struct {
	cni *libcni.CNIConfig
}

// New returns a driver that finds plugins in dirs and caches results in cacheDir.
func New(dirs []string, cacheDir string) *Driver {
	return &Driver{cni: libcni.NewCNIConfigWithCacheDir(dirs, cacheDir, nil)}
}

// Bridge describes a bridge network.
type Bridge struct {
	Name     string // CNI network name (also the name of the cache entries)
	Bridge   string // Linux bridge
	MTU      int
	Subnet   netip.Prefix
	Gateway  netip.Addr
	Internal bool // no default route
	IPTables bool // port mapping rules
}

// PortMapping is one published port (host port already chosen).
type PortMapping struct {
	HostIP        netip.Addr // invalid: all addresses
	HostPort      uint16
	ContainerPort uint16
	Protocol      string
}

// Endpoint is a container's interface on a bridge network.
type Endpoint struct {
	ContainerID string
	NetNS       string
	IfName      string // eth0, eth1, ...
	IP          netip.Addr
	MAC         string
	Ports       []PortMapping
}

// Add plugs the endpoint into the network and returns the MAC address the
// container's interface got. A failed Add is undone before it returns.
func (d *Driver) Add(ctx context.Context, net Bridge, ep Endpoint) (string, error) {
	list, err := conflist(net, ep)
	if err != nil {
		return "", err
	}
	rt := runtimeConf(ep)
	res, err := d.cni.AddNetworkList(ctx, list, rt)
	if err != nil {
		// Some plugins may have done their part: undo it.
		_ = d.cni.DelNetworkList(context.WithoutCancel(ctx), list, rt)
		return "", fmt.Errorf("network %s: %w", strings.TrimPrefix(net.Name, namePrefix), err)
	}
	r, err := current.NewResultFromResult(res)
	if err != nil {
		return ep.MAC, nil
	}
	for _, iface := range r.Interfaces {
		if iface.Name == ep.IfName && iface.Sandbox != "" {
			return iface.Mac, nil
		}
	}
	return ep.MAC, nil
}

// Del unplugs what an earlier Add of (network, container, interface) did,
// from the cached configuration. Nothing cached means nothing to undo.
func (d *Driver) Del(ctx context.Context, network, containerID, netns, ifName string) error {
	rt := &libcni.RuntimeConf{ContainerID: containerID, NetNS: netns, IfName: ifName}
	b, cachedRt, err := d.cni.GetNetworkListCachedConfig(&libcni.NetworkConfigList{Name: network}, rt)
	if err != nil {
		return err
	}
	if b == nil {
		return nil
	}
	list, err := libcni.NetworkConfFromBytes(b)
	if err != nil {
		return fmt.Errorf("cached configuration of %s: %w", network, err)
	}
	cachedRt.NetNS = netns
	return d.cni.DelNetworkList(ctx, list, cachedRt)
}

// Attachment is a cached ADD: what a DEL can still undo.
type Attachment struct {
	Network, ContainerID, IfName, NetNS string
}

// Attachments lists every cached ADD.
func (d *Driver) Attachments() ([]Attachment, error) {
	all, err := d.cni.GetCachedAttachments("")
	if err != nil {
		return nil, err
	}
	out := make([]Attachment, 0, len(all))
	for _, a := range all {
		out = append(out, Attachment{Network: a.Network, ContainerID: a.ContainerID, IfName: a.IfName, NetNS: a.NetNS})
	}
	return out, nil
}

// Loopback brings up lo in the namespace.
func (d *Driver) Loopback(ctx context.Context, containerID, netns string) error {
	// Nothing to undo for lo (the namespace takes it along), so this
	// bypasses libcni, which would cache the result for a DEL.
	path, err := invoke.FindInPath("loopback", d.cni.Path)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	conf := []byte(`{"cniVersion":"` + Version + `","name":"` + namePrefix + `loopback","type":"loopback"}`)
	args := &invoke.Args{Command: "ADD", ContainerID: containerID, NetNS: netns, IfName: "lo", Path: strings.Join(d.cni.Path, ":")}
	if _, err := invoke.ExecPluginWithResult(ctx, path, conf, args, nil); err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	return nil
}

// namePrefix keeps Pouch's CNI network names apart from other runtimes'.
const namePrefix = "pouch-"

// NetworkName is the CNI network name of a Pouch network.
func NetworkName(id string) string { return namePrefix + id }

func runtimeConf(ep Endpoint) *libcni.RuntimeConf {
	caps := map[string]any{}
	if ep.MAC != "" {
		caps["mac"] = ep.MAC
	}
	if len(ep.Ports) > 0 {
		pm := make([]map[string]any, 0, len(ep.Ports))
		for _, p := range ep.Ports {
			m := map[string]any{"hostPort": int(p.HostPort), "containerPort": int(p.ContainerPort), "protocol": p.Protocol}
			if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() {
				m["hostIP"] = p.HostIP.String()
			}
			pm = append(pm, m)
		}
		caps["portMappings"] = pm
	}
	return &libcni.RuntimeConf{ContainerID: ep.ContainerID, NetNS: ep.NetNS, IfName: ep.IfName, CapabilityArgs: caps}
}

// conflist is the plugin chain of one endpoint. The address is written
// into the static IPAM section, so the cached configuration records it.
func conflist(net Bridge, ep Endpoint) (*libcni.NetworkConfigList, error) {
	if !ep.IP.IsValid() || !net.Subnet.Contains(ep.IP) {
		return nil, fmt.Errorf("address %s is not in subnet %s", ep.IP, net.Subnet)
	}
	addr := map[string]any{"address": netip.PrefixFrom(ep.IP, net.Subnet.Bits()).String()}
	routes := []map[string]any{}
	if net.Gateway.IsValid() {
		addr["gateway"] = net.Gateway.String()
		if !net.Internal {
			routes = append(routes, map[string]any{"dst": "0.0.0.0/0"})
		}
	}
	// Masquerade and forwarding are per network rules (network/bridge),
	// not per container: no ipMasq, no firewall plugin.
	bridge := map[string]any{
		"type":         "bridge",
		"bridge":       net.Bridge,
		"isGateway":    net.Gateway.IsValid(),
		"hairpinMode":  true,
		"capabilities": map[string]bool{"mac": true},
		"ipam": map[string]any{
			"type":      "static",
			"addresses": []any{addr},
			"routes":    routes,
		},
	}
	if net.MTU > 0 {
		bridge["mtu"] = net.MTU
	}
	plugins := []any{bridge}
	if net.IPTables && len(ep.Ports) > 0 {
		plugins = append(plugins, map[string]any{
			"type": "portmap", "snat": true,
			"capabilities": map[string]bool{"portMappings": true},
		})
	}
	b, err := json.Marshal(map[string]any{
		"cniVersion": Version,
		"name":       net.Name,
		"plugins":    plugins,
	})
	if err != nil {
		return nil, err
	}
	return libcni.NetworkConfFromBytes(b)
}
