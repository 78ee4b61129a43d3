package container

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
)

// portMapping is one container port and where it is published on the
// host. An unset HostIP means all addresses; an empty HostPort lets the
// daemon pick one, and a range in HostPort ("8000-8010") lets it pick one
// from the range.
type portMapping struct {
	port    network.Port
	binding network.PortBinding
}

// parsePublish reads -p values the way docker does and returns the ports
// to expose and their host bindings. A port given several times gets one
// binding per -p.
func parsePublish(specs []string) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, spec := range specs {
		mappings, err := parsePortSpec(spec)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range mappings {
			exposed[m.port] = struct{}{}
			bindings[m.port] = append(bindings[m.port], m.binding)
		}
	}
	return exposed, bindings, nil
}

// parsePortSpec reads one -p value: [IP:][HOSTPORT:]CONTAINERPORT[/PROTO],
// where the ports may be ranges ("8000-8010:80-90") and an IPv6 address
// may be bracketed ("[::1]:80:80"), or the long form
// "published=8080,target=80[,protocol=udp]".
func parsePortSpec(spec string) ([]portMapping, error) {
	raw, err := longPortSyntax(spec)
	if err != nil {
		return nil, err
	}
	ip, hostPort, containerPort := splitPortSpec(raw)
	containerPort, proto, _ := strings.Cut(containerPort, "/")
	if containerPort == "" {
		return nil, fmt.Errorf("no port specified: %s<empty>", raw)
	}
	if proto == "" {
		proto = string(network.TCP)
	}
	proto = strings.ToLower(proto)
	if err := validateProto(proto); err != nil {
		return nil, err
	}

	hostIP, err := parseHostIP(ip)
	if err != nil {
		return nil, err
	}
	first, last, err := parsePortRange(containerPort)
	if err != nil {
		return nil, errors.New("invalid containerPort: " + containerPort)
	}
	var hostFirst, hostLast uint16
	if hostPort != "" {
		hostFirst, hostLast, err = parsePortRange(hostPort)
		if err != nil {
			return nil, errors.New("invalid hostPort: " + hostPort)
		}
		// A single container port may be published on any port of a
		// host range; otherwise both ranges must be the same size.
		if last-first != hostLast-hostFirst && last != first {
			return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", containerPort, hostPort)
		}
	}

	count := int(last-first) + 1
	mappings := make([]portMapping, 0, count)
	for i := range count {
		port, _ := network.PortFrom(first+uint16(i), network.IPProtocol(proto))
		binding := network.PortBinding{HostIP: hostIP}
		if hostPort != "" {
			binding.HostPort = strconv.Itoa(int(hostFirst) + i)
			if count == 1 && hostFirst != hostLast {
				binding.HostPort += "-" + strconv.Itoa(int(hostLast))
			}
		}
		mappings = append(mappings, portMapping{port: port, binding: binding})
	}
	return mappings, nil
}

// longPortSyntax turns "published=8080,target=80,protocol=udp" into
// "8080:80/udp"; a value without "=" is returned unchanged.
func longPortSyntax(spec string) (string, error) {
	if !strings.Contains(spec, "=") {
		return spec, nil
	}
	params := map[string]string{"protocol": string(network.TCP)}
	for _, param := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(param, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("invalid publish opts format (should be name=value but got '%s')", param)
		}
		params[k] = v
	}
	return params["published"] + ":" + params["target"] + "/" + params["protocol"], nil
}

// splitPortSpec splits IP:HOSTPORT:CONTAINERPORT at its last two colons,
// so that an unbracketed IPv6 address keeps its own.
func splitPortSpec(spec string) (ip, hostPort, containerPort string) {
	parts := strings.Split(spec, ":")
	n := len(parts)
	switch n {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	}
	return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
}

// parseHostIP reads the host address of a -p value, bracketed or not. An
// empty value means all addresses.
func parseHostIP(ip string) (netip.Addr, error) {
	if ip == "" {
		return netip.Addr{}, nil
	}
	if ip[0] == '[' {
		host, _, err := net.SplitHostPort(ip + ":")
		if err != nil {
			return netip.Addr{}, fmt.Errorf("invalid IP address %v: %w", ip, err)
		}
		ip = host
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, errors.New("invalid IP address: " + ip)
	}
	return addr, nil
}

// parsePortRange reads "80" or "8000-8010".
func parsePortRange(s string) (first, last uint16, err error) {
	if s == "" {
		return 0, 0, errors.New("empty string specified for ports")
	}
	start, end, isRange := strings.Cut(s, "-")
	if first, err = parsePortNumber(start); err != nil {
		return 0, 0, fmt.Errorf("invalid start port '%s': %w", start, err)
	}
	if !isRange || start == end {
		return first, first, nil
	}
	if last, err = parsePortNumber(end); err != nil {
		return 0, 0, fmt.Errorf("invalid end port '%s': %w", end, err)
	}
	if last < first {
		return 0, 0, errors.New("invalid port range: " + s)
	}
	return first, last, nil
}

func parsePortNumber(s string) (uint16, error) {
	if s == "" {
		return 0, errors.New("value is empty")
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) {
			err = numErr.Err
		}
		return 0, err
	}
	return uint16(n), nil
}

func validateProto(proto string) error {
	switch network.IPProtocol(proto) {
	case network.TCP, network.UDP, network.SCTP:
		return nil
	}
	return errors.New("invalid proto: " + proto)
}

// parseExpose adds the --expose values, ports or ranges with an optional
// protocol ("80", "8000-8010/udp"), to exposed.
func parseExpose(exposed network.PortSet, values []string) error {
	for _, e := range values {
		pr, err := network.ParsePortRange(e)
		if err == nil {
			err = validateProto(string(pr.Proto()))
		}
		if err != nil {
			return fmt.Errorf("invalid range format for --expose: %w", err)
		}
		for p := range pr.All() {
			exposed[p] = struct{}{}
		}
	}
	return nil
}
