package container

import (
	"net/netip"
	"sort"
	"strconv"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	svc "github.com/pouchcontainer/pouch/services/container"
)

// endpointSettings renders the container's networks as Docker does: every
// network it is configured for, with the live address, gateway and MAC
// while it runs.
func endpointSettings(v svc.View) map[string]*network.EndpointSettings {
	out := map[string]*network.EndpointSettings{}
	for name, cfg := range v.Network.Networks {
		es := cfg.Copy()
		if es == nil {
			es = &network.EndpointSettings{}
		}
		out[name] = es
	}
	if v.HostConfig != nil {
		switch mode := v.HostConfig.NetworkMode; {
		case mode.IsHost(), mode.IsNone():
			if out[string(mode)] == nil {
				out[string(mode)] = &network.EndpointSettings{}
			}
		}
	}
	for name, ep := range v.Network.Endpoints {
		es := out[name]
		if es == nil {
			es = &network.EndpointSettings{}
			out[name] = es
		}
		es.NetworkID = ep.NetworkID
		es.EndpointID = ep.EndpointID
		es.IPAddress = ep.IP
		es.IPPrefixLen = ep.PrefixLen
		es.Gateway = ep.Gateway
		var mac network.HardwareAddr
		if mac.UnmarshalText([]byte(ep.MAC)) == nil {
			es.MacAddress = mac
		}
		es.DNSNames = ep.DNSNames()
	}
	return out
}

// portMap renders the published ports of a running container, with the
// exposed but unpublished ones as null, as Docker's inspect does.
func portMap(v svc.View) network.PortMap {
	out := network.PortMap{}
	if !v.State.Running() {
		return out
	}
	for p := range v.Config.ExposedPorts {
		out[p] = nil
	}
	for _, ep := range v.Network.Endpoints {
		for _, b := range ep.Ports {
			p, ok := network.PortFrom(b.ContainerPort, network.IPProtocol(b.Proto))
			if !ok {
				continue
			}
			ip := b.HostIP
			if !ip.IsValid() {
				ip = netip.IPv4Unspecified()
			}
			out[p] = append(out[p], network.PortBinding{HostIP: ip, HostPort: strconv.Itoa(int(b.HostPort))})
		}
	}
	return out
}

func networkSettings(v svc.View) *ctypes.NetworkSettings {
	return &ctypes.NetworkSettings{
		SandboxID:  sandboxID(v),
		SandboxKey: v.Network.SandboxKey,
		Ports:      portMap(v),
		Networks:   endpointSettings(v),
	}
}

func sandboxID(v svc.View) string {
	if v.Network.SandboxKey == "" {
		return ""
	}
	return v.ID
}

// portSummaries renders the ports of `docker ps`.
func portSummaries(v svc.View) []ctypes.PortSummary {
	out := []ctypes.PortSummary{}
	published := map[network.Port]bool{}
	if v.State.Running() {
		for _, ep := range v.Network.Endpoints {
			for _, b := range ep.Ports {
				ip := b.HostIP
				if !ip.IsValid() {
					ip = netip.IPv4Unspecified()
				}
				if p, ok := network.PortFrom(b.ContainerPort, network.IPProtocol(b.Proto)); ok {
					published[p] = true
				}
				out = append(out, ctypes.PortSummary{IP: ip, PrivatePort: b.ContainerPort, PublicPort: b.HostPort, Type: b.Proto})
			}
		}
	}
	for p := range v.Config.ExposedPorts {
		if !published[p] {
			out = append(out, ctypes.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PrivatePort != out[j].PrivatePort {
			return out[i].PrivatePort < out[j].PrivatePort
		}
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].IP.Less(out[j].IP)
	})
	return out
}

// legacyNetworkSettings adds the top-level fields API 1.51 and older
// clients read (`docker inspect -f '{{.NetworkSettings.IPAddress}}'`):
// those of the default bridge network's endpoint, as Docker fills them.
type legacyNetworkSettings struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	Ports                  network.PortMap
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	SecondaryIPAddresses   []any
	SecondaryIPv6Addresses []any
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*network.EndpointSettings
}

// inspectJSON is the inspect response with the legacy network fields.
type inspectJSON struct {
	*ctypes.InspectResponse
	NetworkSettings *legacyNetworkSettings `json:"NetworkSettings"`
}

func withLegacyNetwork(resp *ctypes.InspectResponse, v svc.View) inspectJSON {
	ns := resp.NetworkSettings
	out := inspectJSON{InspectResponse: resp, NetworkSettings: &legacyNetworkSettings{
		SandboxID: ns.SandboxID, SandboxKey: ns.SandboxKey, Ports: ns.Ports, Networks: ns.Networks,
	}}
	if ep := v.Network.Endpoints["bridge"]; ep != nil {
		l := out.NetworkSettings
		l.EndpointID, l.Gateway, l.IPAddress, l.IPPrefixLen, l.MacAddress =
			ep.EndpointID, ep.Gateway.String(), ep.IP.String(), ep.PrefixLen, ep.MAC
	}
	return out
}
