package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestDNSOptions checks --dns, --dns-search, --dns-option, --add-host and
// --hostname on the default bridge and on a user network.
func TestDNSOptions(t *testing.T) {
	t.Parallel()
	usernet := mustNetwork(t)
	dnsFlags := []string{"--dns", "192.0.2.53", "--dns-search", "example.com", "--dns-option", "ndots:2"}
	t.Run("default-bridge-resolv.conf", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, dnsFlags, "cat /etc/resolv.conf")
		var ns []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "nameserver" {
				ns = append(ns, f[1])
			}
		}
		if !slices.Equal(ns, []string{"192.0.2.53"}) || !strings.Contains(out, "search example.com") || !strings.Contains(out, "options ndots:2") {
			t.Errorf("resolv.conf with --dns/--dns-search/--dns-option on the default bridge:\n%s", out)
		}
	})
	t.Run("user-network-resolv.conf", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, append([]string{"--network", usernet}, dnsFlags...), "cat /etc/resolv.conf")
		var ns []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "nameserver" {
				ns = append(ns, f[1])
			}
		}
		if !slices.Equal(ns, []string{"127.0.0.11"}) || !strings.Contains(out, "search example.com") || !strings.Contains(out, "ndots:2") {
			t.Errorf("resolv.conf with --dns... on a user network, want only the embedded server:\n%s", out)
		}
	})
	for _, net := range []string{"bridge", usernet} {
		t.Run("hosts-"+net, func(t *testing.T) {
			t.Parallel()
			out := d.Sh(t, []string{"--network", net, "--add-host", "foo.example:10.1.2.3", "--add-host", "bar:10.1.2.4", "--hostname", "myhost"}, `
				cat /etc/hosts; echo "hostname: $(hostname)"
				ping -c 1 -W 1 foo.example 2>&1 | head -1
				ip=$(ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1); echo "ip: $ip"`)
			var ip string
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(l, "ip: "); ok {
					ip = v
				}
			}
			if !hostsHas(out, "10.1.2.3", "foo.example") || !hostsHas(out, "10.1.2.4", "bar") {
				t.Errorf("--add-host entries missing from /etc/hosts:\n%s", out)
			}
			if ip == "" || !hostsHas(out, ip, "myhost") {
				t.Errorf("/etc/hosts does not map the container's address %q to myhost:\n%s", ip, out)
			}
			if !strings.Contains(out, "hostname: myhost") {
				t.Errorf("hostname:\n%s", out)
			}
			if !strings.Contains(out, "PING foo.example (10.1.2.3)") {
				t.Errorf("foo.example does not resolve to 10.1.2.3:\n%s", out)
			}
		})
	}
	t.Run("host-gateway", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--add-host", "host.docker.internal:host-gateway"}, "cat /etc/hosts")
		if !hostsHas(out, d.BridgeGateway().String(), "host.docker.internal") {
			t.Errorf("--add-host host.docker.internal:host-gateway, want %s:\n%s", d.BridgeGateway(), out)
		}
	})
}

// hostsHas reports whether an /etc/hosts text maps ip to name.
func hostsHas(hosts, ip, name string) bool {
	for _, l := range strings.Split(hosts, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == ip && slices.Contains(f[1:], name) {
			return true
		}
	}
	return false
}

// TestEmbeddedDNSForwards checks that the embedded DNS of a user network
// answers container names itself and forwards other names to the --dns
// servers.
func TestEmbeddedDNSForwards(t *testing.T) {
	t.Parallel()
	name, _, subnet := createNetwork(t)
	gw := host(subnet, 1)
	srv, err := startFakeDNS(netip.AddrPortFrom(gw, 53), netip.MustParseAddr("198.51.100.7"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, peer := d.Sleeper(t, "--network", name)
	out := d.Sh(t, []string{"--network", name, "--dns", gw.String()}, fmt.Sprintf(`
		nslookup -type=a some.external.test 2>&1
		ping -c 1 -W 1 other.external.test 2>&1 | head -1
		ping -c 1 -W 2 %s >/dev/null && echo "peer ok"`, peer))
	if !strings.Contains(out, "198.51.100.7") || !strings.Contains(out, "PING other.external.test (198.51.100.7)") {
		t.Errorf("external names are not answered through the --dns server %s:\n%s", gw, out)
	}
	if !strings.Contains(out, "peer ok") {
		t.Errorf("container name %s does not resolve with --dns set:\n%s", peer, out)
	}
	asked := srv.Asked()
	if !slices.Contains(asked, "some.external.test.") {
		t.Errorf("the upstream was asked %v", asked)
	}
	for _, q := range asked {
		if strings.HasPrefix(q, peer+".") {
			t.Errorf("the container name %s was forwarded upstream", peer)
		}
	}
}

// fakeDNS answers every A question with one address and every other
// question with no answer.
type fakeDNS struct {
	conn   *net.UDPConn
	answer [4]byte
	mu     sync.Mutex
	asked  []string
}

func startFakeDNS(addr netip.AddrPort, answer netip.Addr) (*fakeDNS, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	s := &fakeDNS{conn: conn, answer: answer.As4()}
	go s.serve()
	return s, nil
}

func (s *fakeDNS) Close() { s.conn.Close() }

func (s *fakeDNS) Asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

func (s *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if resp := s.reply(buf[:n]); resp != nil {
			_, _ = s.conn.WriteToUDPAddrPort(resp, from)
		}
	}
}

// reply builds the answer to one query with one question.
func (s *fakeDNS) reply(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	// The question: labels, then type and class.
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	s.mu.Lock()
	s.asked = append(s.asked, strings.Join(labels, ".")+".")
	s.mu.Unlock()

	resp := make([]byte, 12, 512)
	copy(resp, q[:2])
	binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, recursion desired+available, NOERROR
	binary.BigEndian.PutUint16(resp[4:], 1)
	resp = append(resp, question...)
	if qtype == 1 {
		binary.BigEndian.PutUint16(resp[6:], 1)
		resp = append(resp, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, s.answer[:]...)
	}
	return resp
}
