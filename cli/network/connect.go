package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type connectOptions struct {
	network      string
	container    string
	ipv4         string
	ipv6         string
	aliases      []string
	linkLocalIPs []string
	driverOpts   []string
	gwPriority   int
	macAddress   string
}

func newConnectCommand(deps *Deps) *cobra.Command {
	var opts connectOptions
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.network, opts.container = args[0], args[1]
			return runConnect(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.ipv4, "ip", "", `IPv4 address (e.g., "172.30.100.104")`)
	flags.StringVar(&opts.ipv6, "ip6", "", `IPv6 address (e.g., "2001:db8::33")`)
	flags.StringSliceVar(&opts.aliases, "alias", nil, "Add network-scoped alias for the container")
	flags.StringSliceVar(&opts.linkLocalIPs, "link-local-ip", nil, "Add a link-local address for the container")
	flags.StringSliceVar(&opts.driverOpts, "driver-opt", nil, "driver options for the network")
	flags.IntVar(&opts.gwPriority, "gw-priority", 0, "Highest gw-priority provides the default gateway. Accepts positive and negative values.")
	flags.StringVar(&opts.macAddress, "mac-address", "", "MAC address for the container on this network")
	return cmd
}

// runConnect sends the endpoint settings as docker does: an IPAM config
// is always present, its addresses unset unless given.
func runConnect(ctx context.Context, deps *Deps, opts *connectOptions) error {
	ep, err := opts.endpointSettings()
	if err != nil {
		return err
	}
	_, err = deps.Client.NetworkConnect(ctx, opts.network, client.NetworkConnectOptions{
		Container:      opts.container,
		EndpointConfig: ep,
	})
	return err
}

func (o *connectOptions) endpointSettings() (*network.EndpointSettings, error) {
	ipam := &network.EndpointIPAMConfig{}
	var err error
	if ipam.IPv4Address, err = parseIP("--ip", o.ipv4, netip.Addr.Is4); err != nil {
		return nil, err
	}
	if ipam.IPv6Address, err = parseIP("--ip6", o.ipv6, netip.Addr.Is6); err != nil {
		return nil, err
	}
	for _, s := range o.linkLocalIPs {
		ip, err := parseIP("--link-local-ip", s, netip.Addr.IsValid)
		if err != nil {
			return nil, err
		}
		ipam.LinkLocalIPs = append(ipam.LinkLocalIPs, ip)
	}
	ep := &network.EndpointSettings{
		IPAMConfig: ipam,
		Aliases:    o.aliases,
		GwPriority: o.gwPriority,
		DriverOpts: map[string]string{},
	}
	for _, opt := range o.driverOpts {
		k, v, ok := strings.Cut(opt, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errors.New("invalid key/value pair format in driver options")
		}
		ep.DriverOpts[k] = strings.TrimSpace(v)
	}
	if o.macAddress != "" {
		mac, err := net.ParseMAC(o.macAddress)
		if err != nil {
			return nil, fmt.Errorf("invalid MAC address: %q", o.macAddress)
		}
		ep.MacAddress = network.HardwareAddr(mac)
	}
	return ep, nil
}

// parseIP reads an address flag, of the family family accepts; an empty
// value leaves it unset.
func parseIP(flag, value string, family func(netip.Addr) bool) (netip.Addr, error) {
	if value == "" {
		return netip.Addr{}, nil
	}
	ip, err := netip.ParseAddr(value)
	if err == nil {
		ip = ip.Unmap()
	}
	if err != nil || ip.Zone() != "" || !family(ip) {
		return netip.Addr{}, fmt.Errorf("invalid argument %q for %q flag: invalid IP address", value, flag)
	}
	return ip, nil
}
