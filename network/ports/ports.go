// Package ports reserves the host ports a container publishes. The CNI
// portmap plugin only writes DNAT rules; it does not notice that another
// program listens on the port, nor that two containers publish the same
// one. Holding a bound socket for every published port makes both a clear
// error at start, and keeps other programs off the port while the
// container has it (as Docker's proxy does).
package ports

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Binding is one host port to reserve.
type Binding struct {
	Proto  string     // "tcp" or "udp"
	HostIP netip.Addr // unspecified or invalid: every address
	Port   uint16     // 0: any free port, chosen by the kernel
	End    uint16     // with Port: the first free port of Port-End
}

// Reservation holds the sockets of reserved ports until Release.
type Reservation struct {
	fds []int
}

// Reserve binds every binding, in order, and returns the ports it got
// (the chosen one where Port was 0). Either all are reserved or none.
func Reserve(bindings []Binding) (*Reservation, []uint16, error) {
	r := &Reservation{}
	got := make([]uint16, 0, len(bindings))
	for _, b := range bindings {
		fd, port, err := bindRange(b)
		if err != nil {
			r.Release()
			return nil, nil, err
		}
		r.fds = append(r.fds, fd)
		got = append(got, port)
	}
	return r, got, nil
}

// Release closes the sockets. It is safe to call more than once.
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	for _, fd := range r.fds {
		_ = unix.Close(fd)
	}
	r.fds = nil
}

// bindRange binds the first free port of the binding's range.
func bindRange(b Binding) (int, uint16, error) {
	if b.End <= b.Port || b.Port == 0 {
		return bind(b)
	}
	var first error
	for p := uint32(b.Port); p <= uint32(b.End); p++ {
		one := b
		one.Port = uint16(p)
		fd, port, err := bind(one)
		if err == nil {
			return fd, port, nil
		}
		if first == nil {
			first = err
		}
		if !errdefs.IsConflict(err) {
			return -1, 0, err
		}
	}
	return -1, 0, fmt.Errorf("no free port in %d-%d: %w", b.Port, b.End, first)
}

func bind(b Binding) (int, uint16, error) {
	typ := unix.SOCK_STREAM
	switch b.Proto {
	case "tcp", "":
	case "udp":
		typ = unix.SOCK_DGRAM
	default:
		return -1, 0, fmt.Errorf("unsupported protocol %q for a published port: %w", b.Proto, errdefs.ErrInvalidArgument)
	}
	ip := b.HostIP
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	ip = ip.Unmap()
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ip.Is4() {
		sa = &unix.SockaddrInet4{Port: int(b.Port), Addr: ip.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(b.Port), Addr: ip.As16()}
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, err
	}
	if family == unix.AF_INET6 {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	}
	if typ == unix.SOCK_STREAM {
		// Allow a port whose last connection is in TIME_WAIT, as servers
		// do. Not for UDP: there it lets a second socket share the port.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		addr := netip.AddrPortFrom(ip, b.Port).String()
		if errors.Is(err, unix.EADDRINUSE) {
			return -1, 0, fmt.Errorf("Bind for %s failed: port is already allocated: %w", addr, errdefs.ErrConflict)
		}
		if errors.Is(err, unix.EADDRNOTAVAIL) {
			return -1, 0, fmt.Errorf("cannot publish on %s: the address is not on this host: %w", addr, errdefs.ErrInvalidArgument)
		}
		return -1, 0, fmt.Errorf("bind %s/%s: %w", addr, b.Proto, err)
	}
	if typ == unix.SOCK_STREAM {
		// A bound TCP socket that does not listen still conflicts with a
		// listener of another program on the same port only once it
		// listens itself: listen, with no backlog. Connections never
		// reach it: the DNAT rules take them first.
		if err := unix.Listen(fd, 0); err != nil {
			unix.Close(fd)
			return -1, 0, fmt.Errorf("reserve %s/tcp: %w", netip.AddrPortFrom(ip, b.Port), err)
		}
	}
	local, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	port := b.Port
	switch a := local.(type) {
	case *unix.SockaddrInet4:
		port = uint16(a.Port)
	case *unix.SockaddrInet6:
		port = uint16(a.Port)
	}
	return fd, port, nil
}

// String renders a binding as Docker prints it.
func (b Binding) String() string {
	ip := "0.0.0.0"
	if b.HostIP.IsValid() {
		ip = b.HostIP.String()
	}
	return ip + ":" + strconv.Itoa(int(b.Port)) + "/" + b.Proto
}
