//go:build !linux

package dns

import (
	"errors"
	"net"
	"net/netip"
)

func listenInNetns(string, netip.AddrPort) (*net.UDPConn, *net.TCPListener, error) {
	return nil, nil, errors.New("network namespaces are only supported on Linux")
}
