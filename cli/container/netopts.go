package container

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// networkAttachment is one --network value: a network mode or name
// ("bridge", "host", "none", "container:NAME", a user network) and, in
// the long form "name=NET,alias=A,ip=IP,...", settings of the endpoint.
type networkAttachment struct {
	target       string
	aliases      []string
	ipv4         string
	ipv6         string
	macAddress   string
	linkLocalIPs []string
	driverOpts   map[string]string
	gwPriority   int
}

// networkOpt is the repeatable --network flag. The first network gives
// the container's network mode; the others are joined as well.
type networkOpt struct {
	attachments []networkAttachment
}

var longNetworkSyntax = regexp.MustCompile(`\w+=\w+(,\w+=\w+)*`)

// Set adds one --network value, short or long form.
func (n *networkOpt) Set(value string) error {
	if !longNetworkSyntax.MatchString(value) {
		n.attachments = append(n.attachments, networkAttachment{target: value})
		return nil
	}
	fields, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return err
	}
	var a networkAttachment
	for _, field := range fields {
		key, val, ok := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return fmt.Errorf("invalid field %s", field)
		}
		val = strings.TrimSpace(val)
		switch key {
		case "name":
			a.target = val
		case "alias":
			a.aliases = append(a.aliases, val)
		case "ip":
			a.ipv4 = val
		case "ip6":
			a.ipv6 = val
		case "mac-address":
			a.macAddress = val
		case "link-local-ip":
			a.linkLocalIPs = append(a.linkLocalIPs, val)
		case "driver-opt":
			k, v, ok := strings.Cut(val, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return errors.New("invalid key value pair format in driver options")
			}
			if a.driverOpts == nil {
				a.driverOpts = map[string]string{}
			}
			a.driverOpts[k] = strings.TrimSpace(v)
		case "gw-priority":
			p, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("invalid gw-priority value %s", val)
			}
			a.gwPriority = p
		default:
			return errors.New("invalid field key " + key)
		}
	}
	if a.target == "" {
		return errors.New("network name/id is not specified")
	}
	n.attachments = append(n.attachments, a)
	return nil
}

func (n *networkOpt) Type() string { return "network" }

func (n *networkOpt) String() string { return "" }

// mode is the container's network mode: the first --network, or
// "default" for the daemon's default network.
func (n *networkOpt) mode() string {
	if len(n.attachments) == 0 {
		return network.NetworkDefault
	}
	return n.attachments[0].target
}

// endpointFlags are the per-endpoint flags that apply to the first
// network: --ip, --ip6, --network-alias, --mac-address, --link-local-ip.
type endpointFlags struct {
	ipv4         string
	ipv6         string
	aliases      []string
	macAddress   string
	linkLocalIPs []string
}

// endpointsConfig builds NetworkingConfig.EndpointsConfig as docker does.
// Without --network the endpoint is keyed "default", the name the daemon
// resolves to its default network. A single --network without endpoint
// settings sends none, leaving the endpoint to the daemon.
func endpointsConfig(nets *networkOpt, flags endpointFlags) (map[string]*network.EndpointSettings, error) {
	attachments := nets.attachments
	if len(attachments) == 0 {
		attachments = []networkAttachment{{target: network.NetworkDefault}}
	}
	endpoints := make(map[string]*network.EndpointSettings, len(attachments))
	var userDefined, notUserDefined bool
	for i, a := range attachments {
		if container.NetworkMode(a.target).IsUserDefined() {
			userDefined = true
		} else {
			notUserDefined = true
		}
		if i == 0 {
			if err := a.apply(flags); err != nil {
				return nil, err
			}
		}
		ep, err := a.endpointSettings()
		if err != nil {
			return nil, err
		}
		if _, dup := endpoints[a.target]; dup {
			return nil, fmt.Errorf("network %q is specified multiple times", a.target)
		}
		if len(nets.attachments) == 1 && reflect.DeepEqual(*ep, network.EndpointSettings{}) {
			continue
		}
		endpoints[a.target] = ep
	}
	if userDefined && notUserDefined {
		return nil, errors.New("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
	}
	return endpoints, nil
}

// apply sets the endpoint flags on the first network, refusing to set a
// value twice.
func (a *networkAttachment) apply(f endpointFlags) error {
	conflict := func(flag, what string) error {
		return fmt.Errorf("conflicting options: cannot specify both %s and per-network %s", flag, what)
	}
	if len(f.aliases) > 0 {
		if len(a.aliases) > 0 {
			return conflict("--network-alias", "alias")
		}
		a.aliases = append([]string(nil), f.aliases...)
	}
	if f.ipv4 != "" {
		if a.ipv4 != "" {
			return conflict("--ip", "IPv4 address")
		}
		a.ipv4 = f.ipv4
	}
	if f.ipv6 != "" {
		if a.ipv6 != "" {
			return conflict("--ip6", "IPv6 address")
		}
		a.ipv6 = f.ipv6
	}
	if f.macAddress != "" {
		if a.macAddress != "" {
			return conflict("--mac-address", "MAC address")
		}
		a.macAddress = f.macAddress
	}
	if len(f.linkLocalIPs) > 0 {
		if len(a.linkLocalIPs) > 0 {
			return conflict("--link-local-ip", "link-local IP addresses")
		}
		a.linkLocalIPs = append([]string(nil), f.linkLocalIPs...)
	}
	return nil
}

// endpointSettings validates the attachment's addresses and turns it into
// the API's endpoint settings.
func (a *networkAttachment) endpointSettings() (*network.EndpointSettings, error) {
	if strings.TrimSpace(a.target) == "" {
		return nil, errors.New("no name set for network")
	}
	if !container.NetworkMode(a.target).IsUserDefined() && len(a.aliases) > 0 {
		return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
	}
	ep := &network.EndpointSettings{
		Aliases:    a.aliases,
		DriverOpts: a.driverOpts,
		GwPriority: a.gwPriority,
	}
	var ipam network.EndpointIPAMConfig
	var err error
	if ipam.IPv4Address, err = parseEndpointIP("--ip", a.ipv4, true); err != nil {
		return nil, err
	}
	if ipam.IPv6Address, err = parseEndpointIP("--ip6", a.ipv6, false); err != nil {
		return nil, err
	}
	for _, s := range a.linkLocalIPs {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("invalid value %q for --link-local-ip: not an IP address", s)
		}
		ipam.LinkLocalIPs = append(ipam.LinkLocalIPs, ip)
	}
	if ipam.IPv4Address.IsValid() || ipam.IPv6Address.IsValid() || len(ipam.LinkLocalIPs) > 0 {
		ep.IPAMConfig = &ipam
	}
	if a.macAddress != "" {
		mac, err := net.ParseMAC(strings.TrimSpace(a.macAddress))
		if err != nil {
			return nil, fmt.Errorf("%s is not a valid mac address", a.macAddress)
		}
		ep.MacAddress = network.HardwareAddr(mac)
	}
	return ep, nil
}

// parseEndpointIP reads an --ip (IPv4) or --ip6 (IPv6) value.
func parseEndpointIP(flag, value string, v4 bool) (netip.Addr, error) {
	if value == "" {
		return netip.Addr{}, nil
	}
	ip, err := netip.ParseAddr(value)
	if err == nil {
		ip = ip.Unmap()
	}
	switch {
	case err != nil || ip.Zone() != "":
		return netip.Addr{}, fmt.Errorf("invalid value %q for %s: not an IP address", value, flag)
	case v4 && !ip.Is4():
		return netip.Addr{}, fmt.Errorf("invalid value %q for %s: not an IPv4 address", value, flag)
	case !v4 && !ip.Is6():
		return netip.Addr{}, fmt.Errorf("invalid value %q for %s: not an IPv6 address", value, flag)
	}
	return ip, nil
}

// parseDNS reads --dns values, which must be IP addresses.
func parseDNS(values []string) ([]netip.Addr, error) {
	var servers []netip.Addr
	for _, v := range values {
		ip, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("IP address is not correctly formatted: %s", v)
		}
		servers = append(servers, ip)
	}
	return servers, nil
}

var (
	hasLetter  = regexp.MustCompile(`[a-zA-Z]`)
	domainName = regexp.MustCompile(`^((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))*)\.?\s*$`)
)

// parseDNSSearch reads --dns-search values: domain names, or "." for
// none. The result is never nil, as docker's.
func parseDNSSearch(values []string) ([]string, error) {
	domains := []string{}
	for _, v := range values {
		v = strings.Trim(v, " ")
		if v == "." {
			domains = append(domains, v)
			continue
		}
		m := domainName.FindStringSubmatch(v)
		if !hasLetter.MatchString(v) || m == nil || len(m[1]) >= 255 {
			return nil, fmt.Errorf("%s is not a valid domain", v)
		}
		domains = append(domains, m[1])
	}
	return domains, nil
}

// hostGateway is the --add-host address the daemon replaces with the
// host's own address.
const hostGateway = "host-gateway"

// parseExtraHosts reads --add-host values, "name:ip" or "name=ip", the
// address possibly bracketed, and returns them as "name:ip", the form the
// daemon understands.
func parseExtraHosts(values []string) ([]string, error) {
	var hosts []string
	for _, val := range values {
		name, ip, ok := strings.Cut(val, "=")
		if !ok {
			name, ip, ok = strings.Cut(val, ":")
		}
		if !ok || name == "" || strings.Contains(name, ":") {
			return nil, fmt.Errorf("bad format for add-host: %q", val)
		}
		if ip != hostGateway {
			if len(ip) > 2 && ip[0] == '[' && ip[len(ip)-1] == ']' {
				ip = ip[1 : len(ip)-1]
			}
			if addr, err := netip.ParseAddr(ip); err != nil || addr.Zone() != "" {
				return nil, fmt.Errorf("invalid IP address in add-host: %q", ip)
			}
		}
		hosts = append(hosts, name+":"+ip)
	}
	return hosts, nil
}
