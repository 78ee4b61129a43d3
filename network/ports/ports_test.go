package ports

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

var lo = netip.MustParseAddr("127.0.0.1")

// reserve reserves bindings and fails the test on an error; the
// reservation is released at the end of the test.
func reserve(t *testing.T, bs ...Binding) []uint16 {
	t.Helper()
	r, got, err := Reserve(bs)
	if err != nil {
		t.Fatalf("Reserve(%v): %v", bs, err)
	}
	t.Cleanup(r.Release)
	return got
}

// free reports whether another program could take the port now.
func free(t *testing.T, proto string, port uint16) bool {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// freePort is a port nothing holds right now.
func freePort(t *testing.T) uint16 {
	t.Helper()
	r, got, err := Reserve([]Binding{{Proto: "tcp", HostIP: lo}})
	if err != nil {
		t.Fatal(err)
	}
	r.Release()
	return got[0]
}

func TestReserveAnyPortPicksAndHoldsOne(t *testing.T) {
	for _, proto := range []string{"tcp", "udp", ""} {
		got := reserve(t, Binding{Proto: proto, HostIP: lo})
		if len(got) != 1 || got[0] == 0 {
			t.Fatalf("%q: got ports %v, want one chosen port", proto, got)
		}
		p := proto
		if p == "" {
			p = "tcp"
		}
		if free(t, p, got[0]) {
			t.Errorf("%q: chosen port %d is not held", proto, got[0])
		}
	}
}

func TestReserveGivenPortKeepsIt(t *testing.T) {
	want := freePort(t)
	got := reserve(t, Binding{Proto: "tcp", HostIP: lo, Port: want})
	if got[0] != want {
		t.Errorf("got port %d, want %d", got[0], want)
	}
}

func TestReservePortHeldByAnotherProgram(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	r, got, err := Reserve([]Binding{{Proto: "tcp", HostIP: lo, Port: port}})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "port is already allocated") {
		t.Fatalf("got %v, %v; want a conflict saying the port is already allocated", got, err)
	}
	if r != nil || got != nil {
		t.Errorf("a failed reservation returned %v, %v", r, got)
	}

	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	uport := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	if _, _, err := Reserve([]Binding{{Proto: "udp", HostIP: lo, Port: uport}}); !errdefs.IsConflict(err) {
		t.Fatalf("UDP port held by another program: %v; want a conflict", err)
	}
}

func TestReserveSamePortTwice(t *testing.T) {
	// Two containers publishing the same host port: the second is refused,
	// for UDP as for TCP.
	for _, proto := range []string{"tcp", "udp"} {
		port := reserve(t, Binding{Proto: proto, HostIP: lo})[0]
		r, _, err := Reserve([]Binding{{Proto: proto, HostIP: lo, Port: port}})
		if !errdefs.IsConflict(err) {
			r.Release()
			t.Errorf("%s port %d reserved twice: %v; want a conflict", proto, port, err)
		}
	}
}

func TestReserveAllOrNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := uint16(l.Addr().(*net.TCPAddr).Port)
	first := freePort(t)
	_, _, err = Reserve([]Binding{
		{Proto: "tcp", HostIP: lo, Port: first},
		{Proto: "tcp", HostIP: lo, Port: held},
	})
	if !errdefs.IsConflict(err) {
		t.Fatalf("second binding on a held port: %v; want a conflict", err)
	}
	if !free(t, "tcp", first) {
		t.Errorf("port %d of the failed reservation is still held", first)
	}
	// And a bad protocol late in the list releases the earlier ones too.
	_, _, err = Reserve([]Binding{{Proto: "tcp", HostIP: lo, Port: first}, {Proto: "sctp", HostIP: lo}})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("sctp: %v", err)
	}
	if !free(t, "tcp", first) {
		t.Errorf("port %d still held after a refused protocol", first)
	}
}

func TestReserveTCPAndUDPOnSamePort(t *testing.T) {
	port := freePort(t)
	got := reserve(t, Binding{Proto: "tcp", HostIP: lo, Port: port}, Binding{Proto: "udp", HostIP: lo, Port: port})
	if got[0] != port || got[1] != port {
		t.Errorf("got %v, want %d twice", got, port)
	}
	if free(t, "tcp", port) || free(t, "udp", port) {
		t.Errorf("port %d not held for both protocols", port)
	}
}

func TestReleaseTwiceIsSafe(t *testing.T) {
	r, got, err := Reserve([]Binding{{Proto: "tcp", HostIP: lo}, {Proto: "udp", HostIP: lo}})
	if err != nil {
		t.Fatal(err)
	}
	r.Release()
	if !free(t, "tcp", got[0]) || !free(t, "udp", got[1]) {
		t.Fatalf("ports %v still held after Release", got)
	}
	// A second Release must not close descriptors it no longer owns (by
	// then they may be another socket's): hold one and check it survives.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r.Release()
	var nilRes *Reservation
	nilRes.Release()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("a listener opened after the first Release was closed by the second: %v", err)
	}
	conn.Close()
}

func TestReserveBadProtocol(t *testing.T) {
	for _, proto := range []string{"sctp", "TCP ", "icmp"} {
		if _, _, err := Reserve([]Binding{{Proto: proto, HostIP: lo}}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v; want an invalid-argument error", proto, err)
		}
	}
}

func TestReserveAddressNotOnHost(t *testing.T) {
	// 192.0.2.0/24 is for documentation: no host has it.
	_, _, err := Reserve([]Binding{{Proto: "tcp", HostIP: netip.MustParseAddr("192.0.2.1")}})
	if !errdefs.IsInvalidArgument(err) {
		t.Errorf("address not on this host: %v; want an invalid-argument error", err)
	}
}

func TestBindingString(t *testing.T) {
	for b, want := range map[Binding]string{
		{Proto: "tcp", Port: 8080}:           "0.0.0.0:8080/tcp",
		{Proto: "udp", HostIP: lo, Port: 53}: "127.0.0.1:53/udp",
	} {
		if got := b.String(); got != want {
			t.Errorf("%+v: %q, want %q", b, got, want)
		}
	}
}
