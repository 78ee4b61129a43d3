package dns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"golang.org/x/sys/unix"
)

// listenInNetns creates the UDP and TCP sockets on addr inside the network
// namespace at netnsPath. Only the socket creation happens there: a fresh
// goroutine locks its OS thread, enters the namespace, binds, and returns
// to the thread's original namespace before unlocking. If it cannot return,
// it exits with the thread still locked, so the Go runtime discards the
// thread instead of reusing it in the container's namespace.
func listenInNetns(netnsPath string, addr netip.AddrPort) (*net.UDPConn, *net.TCPListener, error) {
	target, err := unix.Open(netnsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open network namespace: %w", err)
	}
	defer unix.Close(target)

	type result struct {
		udp *net.UDPConn
		tcp *net.TCPListener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		udp, tcp, restored, err := listenOnThread(target, addr)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- result{udp, tcp, err}
	}()
	res := <-done
	return res.udp, res.tcp, res.err
}

// listenOnThread does listenInNetns's work on a locked thread. restored
// reports whether the thread is (still or again) in its original namespace.
func listenOnThread(target int, addr netip.AddrPort) (udp *net.UDPConn, tcp *net.TCPListener, restored bool, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, true, fmt.Errorf("open current network namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return nil, nil, true, fmt.Errorf("enter network namespace: %w", err)
	}

	udp, tcp, err = listen(addr)
	if err == nil && addr.Addr().IsLoopback() {
		// Binding works on a down loopback too, but nobody could reach us.
		if lerr := checkLoopbackUp(); lerr != nil {
			udp.Close()
			tcp.Close()
			udp, tcp, err = nil, nil, lerr
		}
	}

	if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
		if udp != nil {
			udp.Close()
		}
		if tcp != nil {
			tcp.Close()
		}
		return nil, nil, false, errors.Join(err, fmt.Errorf("return to the original network namespace: %w", rerr))
	}
	return udp, tcp, true, err
}

// listen binds the UDP and TCP sockets in the current thread's namespace.
func listen(addr netip.AddrPort) (*net.UDPConn, *net.TCPListener, error) {
	// "udp4"/"tcp4" with a literal address: no lookups, no address-family
	// probing, just socket, bind (and listen) on this thread.
	udpNet, tcpNet := "udp4", "tcp4"
	if !addr.Addr().Is4() {
		udpNet, tcpNet = "udp6", "tcp6"
	}
	udp, err := net.ListenUDP(udpNet, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, nil, err
	}
	tcp, err := net.ListenTCP(tcpNet, net.TCPAddrFromAddrPort(addr))
	if err != nil {
		udp.Close()
		return nil, nil, err
	}
	return udp, tcp, nil
}

// checkLoopbackUp fails unless lo is up in the current thread's namespace.
func checkLoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("check loopback interface: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("check loopback interface: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("check loopback interface: %w", err)
	}
	if ifr.Uint16()&unix.IFF_UP == 0 {
		return errors.New("loopback interface lo is down")
	}
	return nil
}
