package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type createOptions struct {
	name       string
	driver     string
	driverOpts []string
	labels     []string
	internal   bool
	attachable bool
	ipv4       bool
	ipv6       bool
	ipv4Set    bool
	ipv6Set    bool
	ipam       ipamOptions
}

// ipamOptions are the address management flags: each --ip-range,
// --gateway and --aux-address belongs to the --subnet containing it.
type ipamOptions struct {
	driver       string
	driverOpts   []string
	subnets      []string
	ipRanges     []string
	gateways     []string
	auxAddresses []string
}

func newCreateCommand(deps *Deps) *cobra.Command {
	var opts createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			opts.ipv4Set = cmd.Flags().Changed("ipv4")
			opts.ipv6Set = cmd.Flags().Changed("ipv6")
			return runCreate(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.driver, "driver", "d", "bridge", "Driver to manage the Network")
	flags.StringArrayVarP(&opts.driverOpts, "opt", "o", nil, "Set driver specific options")
	flags.StringArrayVar(&opts.labels, "label", nil, "Set metadata on a network")
	flags.BoolVar(&opts.internal, "internal", false, "Restrict external access to the network")
	flags.BoolVar(&opts.ipv4, "ipv4", true, "Enable or disable IPv4 address assignment")
	flags.BoolVar(&opts.ipv6, "ipv6", false, "Enable or disable IPv6 address assignment")
	flags.BoolVar(&opts.attachable, "attachable", false, "Enable manual container attachment")
	flags.StringVar(&opts.ipam.driver, "ipam-driver", "default", "IP Address Management Driver")
	flags.StringSliceVar(&opts.ipam.subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment")
	flags.StringSliceVar(&opts.ipam.ipRanges, "ip-range", nil, "Allocate container ip from a sub-range")
	flags.StringSliceVar(&opts.ipam.gateways, "gateway", nil, "IPv4 or IPv6 Gateway for the master subnet")
	flags.StringArrayVar(&opts.ipam.auxAddresses, "aux-address", nil, "Auxiliary IPv4 or IPv6 addresses used by Network driver")
	flags.StringArrayVar(&opts.ipam.driverOpts, "ipam-opt", nil, "Set IPAM driver specific options")
	return cmd
}

// runCreate creates the network and prints its ID.
func runCreate(ctx context.Context, deps *Deps, opts *createOptions) error {
	req, err := opts.request()
	if err != nil {
		return err
	}
	res, err := deps.Client.NetworkCreate(ctx, opts.name, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(deps.Out, res.ID)
	return nil
}

// request validates the flags and builds the API request as docker does:
// options, labels and the IPAM configuration are always sent, empty when
// not given; --ipv4 and --ipv6 only when given.
func (o *createOptions) request() (client.NetworkCreateOptions, error) {
	ipam, err := o.ipam.config()
	if err != nil {
		return client.NetworkCreateOptions{}, err
	}
	driverOpts, err := parseMap("--opt", o.driverOpts)
	if err != nil {
		return client.NetworkCreateOptions{}, err
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return client.NetworkCreateOptions{}, err
	}
	req := client.NetworkCreateOptions{
		Driver:     o.driver,
		Options:    driverOpts,
		IPAM:       ipam,
		Internal:   o.internal,
		Attachable: o.attachable,
		Labels:     labels,
	}
	if o.ipv4Set {
		req.EnableIPv4 = &o.ipv4
	}
	if o.ipv6Set {
		req.EnableIPv6 = &o.ipv6
	}
	return req, nil
}

// config groups the subnets with their ranges, gateways and auxiliary
// addresses, refusing overlapping subnets and values outside every subnet.
func (o *ipamOptions) config() (*network.IPAM, error) {
	if len(o.subnets) < len(o.ipRanges) || len(o.subnets) < len(o.gateways) {
		return nil, errors.New("every ip-range or gateway must have a corresponding subnet")
	}
	configs := make([]network.IPAMConfig, 0, len(o.subnets))
	for _, s := range o.subnets {
		subnet, err := parseSubnet(s)
		if err != nil {
			return nil, err
		}
		for _, have := range configs {
			if have.Subnet.Overlaps(subnet) {
				return nil, errors.New("multiple overlapping subnet configuration is not supported")
			}
		}
		configs = append(configs, network.IPAMConfig{Subnet: subnet, AuxAddress: map[string]netip.Addr{}})
	}

	for _, r := range o.ipRanges {
		ipRange, err := netip.ParsePrefix(r)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--ip-range\" flag: invalid CIDR address: %s", r, r)
		}
		ipRange = ipRange.Masked()
		i := subnetOf(configs, ipRange.Addr())
		if i < 0 {
			return nil, fmt.Errorf("no matching subnet for range %s", ipRange)
		}
		if configs[i].IPRange.IsValid() {
			return nil, fmt.Errorf("cannot configure multiple ranges (%s, %s) on the same subnet (%s)", ipRange, configs[i].IPRange, configs[i].Subnet)
		}
		configs[i].IPRange = ipRange
	}

	for _, g := range o.gateways {
		gw, err := netip.ParseAddr(g)
		if err != nil || gw.Zone() != "" {
			return nil, fmt.Errorf("invalid argument %q for \"--gateway\" flag: invalid IP address", g)
		}
		i := subnetOf(configs, gw)
		if i < 0 {
			return nil, fmt.Errorf("no matching subnet for gateway %s", gw)
		}
		if configs[i].Gateway.IsValid() {
			return nil, fmt.Errorf("cannot configure multiple gateways (%s, %s) for the same subnet (%s)", gw, configs[i].Gateway, configs[i].Subnet)
		}
		configs[i].Gateway = gw
	}

	for _, kv := range o.auxAddresses {
		name, value, _ := strings.Cut(kv, "=")
		aux, err := netip.ParseAddr(value)
		if err != nil || aux.Zone() != "" {
			return nil, fmt.Errorf("invalid value %q for --aux-address: expected name=IP", kv)
		}
		i := subnetOf(configs, aux)
		if i < 0 {
			return nil, fmt.Errorf("no matching subnet for aux-address %s", aux)
		}
		configs[i].AuxAddress[name] = aux
	}

	opts, err := parseMap("--ipam-opt", o.driverOpts)
	if err != nil {
		return nil, err
	}
	return &network.IPAM{Driver: o.driver, Config: configs, Options: opts}, nil
}

// parseSubnet reads a subnet in CIDR form; a bare address is a subnet of
// that one address.
func parseSubnet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid subnet: invalid CIDR address: %s", s)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// subnetOf returns the index of the configuration whose subnet contains
// addr, or -1.
func subnetOf(configs []network.IPAMConfig, addr netip.Addr) int {
	for i, c := range configs {
		if c.Subnet.Masked().Contains(addr) {
			return i
		}
	}
	return -1
}

// parseMap reads key=value options; a bare key gets an empty value. The
// result is never nil, as docker's.
func parseMap(flag string, values []string) (map[string]string, error) {
	m := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid value %q for %s: expected key=value", kv, flag)
		}
		m[k] = v
	}
	return m, nil
}

// parseLabels reads key=value labels, as docker's --label: the name must
// not be empty nor contain whitespace.
func parseLabels(values []string) (map[string]string, error) {
	labels := make(map[string]string, len(values))
	for _, l := range values {
		k, v, _ := strings.Cut(l, "=")
		k = strings.TrimSpace(k)
		if k == "" {
			return nil, fmt.Errorf("invalid label '%s': empty name", l)
		}
		if strings.IndexFunc(k, unicode.IsSpace) >= 0 {
			return nil, fmt.Errorf("label '%s' contains whitespaces", k)
		}
		labels[k] = v
	}
	return labels, nil
}
