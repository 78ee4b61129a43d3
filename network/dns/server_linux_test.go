package dns

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// upstreamHandler answers like a small internet:
//   - host.example. A: 192.0.2.1
//   - big.example. A: truncated over UDP; three addresses over TCP
//   - anything else: NXDOMAIN
func upstreamHandler(q dnsmessage.Message, overTCP bool) *dnsmessage.Message {
	question := q.Questions[0]
	name := strings.ToLower(question.Name.String())
	switch {
	case name == "host.example." && question.Type == dnsmessage.TypeA:
		return &dnsmessage.Message{Header: dnsmessage.Header{RecursionAvailable: true}, Answers: aAnswer(question.Name, "192.0.2.1")}
	case name == "big.example." && question.Type == dnsmessage.TypeA:
		if !overTCP {
			return &dnsmessage.Message{Header: dnsmessage.Header{Truncated: true}}
		}
		return &dnsmessage.Message{Answers: aAnswer(question.Name, "192.0.2.10", "192.0.2.11", "192.0.2.12")}
	}
	return &dnsmessage.Message{Header: dnsmessage.Header{RCode: dnsmessage.RCodeNameError}}
}

func TestServe(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t, true)
	up := newFakeUpstream(t, upstreamHandler)
	many := make([]netip.Addr, 200)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i%250 + 1)})
	}
	r := &fakeResolver{
		names: map[string][]netip.Addr{
			"web":          addrs("172.18.0.2"),
			"db":           addrs("172.18.0.3", "172.19.0.3"),
			"abcdef012345": addrs("172.18.0.2"),
			"many":         many,
		},
		ptrs:      map[netip.Addr][]string{netip.MustParseAddr("172.18.0.2"): {"web.mynet"}},
		upstreams: []netip.AddrPort{up.addr},
	}
	mustServe(t, ns, r)
	checkThreadsInHostNetns(t)

	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			c := mustDialIn(t, ns, network)

			t.Run("A", func(t *testing.T) {
				m, _ := ask(t, c, "web.", dnsmessage.TypeA)
				if m.Header.RCode != dnsmessage.RCodeSuccess || !m.Header.RecursionAvailable || !m.Header.RecursionDesired {
					t.Errorf("header = %+v", m.Header)
				}
				if got := aRecords(t, m); !slices.Equal(got, []string{"172.18.0.2"}) {
					t.Errorf("A web = %v", got)
				}
				if ttl := m.Answers[0].Header.TTL; ttl != 600 {
					t.Errorf("TTL = %d, want 600", ttl)
				}
			})
			t.Run("A mixed case", func(t *testing.T) {
				m, _ := ask(t, c, "DB.", dnsmessage.TypeA)
				got := aRecords(t, m)
				slices.Sort(got)
				if !slices.Equal(got, []string{"172.18.0.3", "172.19.0.3"}) {
					t.Errorf("A DB = %v", got)
				}
				if n := m.Answers[0].Header.Name.String(); n != "DB." {
					t.Errorf("answer name %q, want the question's case DB.", n)
				}
				m, _ = ask(t, c, "AbCdEf012345.", dnsmessage.TypeA)
				if got := aRecords(t, m); !slices.Equal(got, []string{"172.18.0.2"}) {
					t.Errorf("A short ID = %v", got)
				}
			})
			t.Run("AAAA known is empty NOERROR", func(t *testing.T) {
				m, _ := ask(t, c, "web.", dnsmessage.TypeAAAA)
				if m.Header.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
					t.Errorf("AAAA web = %v %v", m.Header.RCode, m.Answers)
				}
			})
			t.Run("PTR", func(t *testing.T) {
				m, _ := ask(t, c, "2.0.18.172.in-addr.arpa.", dnsmessage.TypePTR)
				if m.Header.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 1 {
					t.Fatalf("PTR = %v %v", m.Header.RCode, m.Answers)
				}
				if p := m.Answers[0].Body.(*dnsmessage.PTRResource).PTR.String(); p != "web.mynet." {
					t.Errorf("PTR = %q, want web.mynet.", p)
				}
			})
			t.Run("unknown name forwarded from the host netns", func(t *testing.T) {
				before := len(up.queries())
				m, _ := ask(t, c, "Host.Example.", dnsmessage.TypeA)
				if got := aRecords(t, m); !slices.Equal(got, []string{"192.0.2.1"}) {
					t.Errorf("A host.example = %v (%v)", got, m.Header.RCode)
				}
				if got := up.queries()[before:]; !slices.Equal(got, []string{network + " Host.Example. TypeA"}) {
					t.Errorf("upstream saw %v", got)
				}
			})
			t.Run("search-domain name forwarded", func(t *testing.T) {
				m, _ := ask(t, c, "web.corp.example.", dnsmessage.TypeA)
				if m.Header.RCode != dnsmessage.RCodeNameError {
					t.Errorf("web.corp.example: %v, want the upstream's NXDOMAIN", m.Header.RCode)
				}
			})
			t.Run("AAAA unknown forwarded", func(t *testing.T) {
				before := len(up.queries())
				m, _ := ask(t, c, "nothere.", dnsmessage.TypeAAAA)
				if m.Header.RCode != dnsmessage.RCodeNameError {
					t.Errorf("AAAA nothere: %v, want NXDOMAIN", m.Header.RCode)
				}
				if got := up.queries()[before:]; len(got) != 1 {
					t.Errorf("upstream saw %v", got)
				}
			})
			t.Run("PTR unknown forwarded", func(t *testing.T) {
				m, _ := ask(t, c, "9.9.9.9.in-addr.arpa.", dnsmessage.TypePTR)
				if m.Header.RCode != dnsmessage.RCodeNameError {
					t.Errorf("PTR 9.9.9.9: %v, want NXDOMAIN", m.Header.RCode)
				}
			})
			t.Run("large local answer", func(t *testing.T) {
				m, size := ask(t, c, "many.", dnsmessage.TypeA)
				if network == "udp" {
					if !m.Header.Truncated || size > 512 || len(m.Answers) == 0 {
						t.Errorf("over UDP: TC=%v, %d bytes, %d answers; want TC, <= 512 bytes, some answers", m.Header.Truncated, size, len(m.Answers))
					}
				} else if m.Header.Truncated || len(m.Answers) != 200 {
					t.Errorf("over TCP: TC=%v, %d answers; want all 200", m.Header.Truncated, len(m.Answers))
				}
			})
		})
	}

	t.Run("truncated upstream answer retried over TCP", func(t *testing.T) {
		c := mustDialIn(t, ns, "udp")
		before := len(up.queries())
		m, _ := ask(t, c, "big.example.", dnsmessage.TypeA)
		got := aRecords(t, m)
		if m.Header.Truncated || len(got) != 3 {
			t.Errorf("TC=%v answers %v, want the TCP answer's 3 records", m.Header.Truncated, got)
		}
		if got := up.queries()[before:]; !slices.Equal(got, []string{"udp big.example. TypeA", "tcp big.example. TypeA"}) {
			t.Errorf("upstream saw %v", got)
		}
	})

	t.Run("EDNS payload size honoured", func(t *testing.T) {
		c := mustDialIn(t, ns, "udp")
		if err := send(c, buildQuery(t, 7, "many.", dnsmessage.TypeA, 4096)); err != nil {
			t.Fatal(err)
		}
		raw, err := recv(c, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(raw); err != nil {
			t.Fatal(err)
		}
		if m.Header.Truncated || len(m.Answers) != 200 || len(m.Additionals) != 1 || m.Additionals[0].Header.Type != dnsmessage.TypeOPT {
			t.Errorf("TC=%v, %d answers, additionals %v; want 200 answers and an OPT", m.Header.Truncated, len(m.Answers), m.Additionals)
		}
	})

	t.Run("malformed packets dropped", func(t *testing.T) {
		c := mustDialIn(t, ns, "udp")
		valid := buildQuery(t, 9, "web.", dnsmessage.TypeA, 0)
		response := slices.Clone(valid)
		response[2] |= 0x80 // QR
		noQuestion := slices.Clone(valid[:12])
		noQuestion[5] = 0 // QDCOUNT 0
		junk := make([]byte, 600)
		for i := range junk {
			junk[i] = byte(i*7 + 3)
		}
		for _, p := range [][]byte{{1, 2, 3}, valid[:12], valid[:len(valid)-3], response, noQuestion, junk} {
			if err := send(c, p); err != nil {
				t.Fatal(err)
			}
		}
		if raw, err := recv(c, 200*time.Millisecond); err == nil {
			t.Errorf("got an answer to a malformed packet: %x", raw)
		}
		if got := aRecords(t, mustAsk(t, c, "web.")); !slices.Equal(got, []string{"172.18.0.2"}) {
			t.Errorf("after malformed packets: A web = %v", got)
		}

		tc := mustDialIn(t, ns, "tcp")
		for _, p := range [][]byte{{}, {1, 2, 3}, junk, response} {
			if err := writeTCPMsg(tc, p); err != nil {
				t.Fatal(err)
			}
		}
		if got := aRecords(t, mustAsk(t, tc, "web.")); !slices.Equal(got, []string{"172.18.0.2"}) {
			t.Errorf("TCP after malformed messages: A web = %v", got)
		}
	})

	checkThreadsInHostNetns(t)
}

func mustAsk(t *testing.T, c net.Conn, name string) dnsmessage.Message {
	t.Helper()
	m, _ := ask(t, c, name, dnsmessage.TypeA)
	return m
}

func TestServeNoUpstreams(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t, true)
	mustServe(t, ns, &fakeResolver{names: map[string][]netip.Addr{"web": addrs("172.18.0.2")}})
	for _, network := range []string{"udp", "tcp"} {
		c := mustDialIn(t, ns, network)
		m, _ := ask(t, c, "example.com.", dnsmessage.TypeA)
		if m.Header.RCode != dnsmessage.RCodeServerFailure {
			t.Errorf("%s: no upstreams: %v, want SERVFAIL", network, m.Header.RCode)
		}
		if got := aRecords(t, mustAsk(t, c, "web.")); !slices.Equal(got, []string{"172.18.0.2"}) {
			t.Errorf("%s: A web = %v", network, got)
		}
	}
}

func TestServeUpstreamFallback(t *testing.T) {
	requireRoot(t)
	old := upstreamTimeout
	upstreamTimeout = 300 * time.Millisecond
	t.Cleanup(func() { upstreamTimeout = old })

	// A closed port (refused at once), a black hole (times out), one that
	// answers SERVFAIL, then a good one.
	closed := newFakeUpstream(t, nil)
	closedAddr := closed.addr
	closed.udp.Close()
	closed.tcp.Close()
	silent := newFakeUpstream(t, func(dnsmessage.Message, bool) *dnsmessage.Message { return nil })
	failing := newFakeUpstream(t, func(dnsmessage.Message, bool) *dnsmessage.Message {
		return &dnsmessage.Message{Header: dnsmessage.Header{RCode: dnsmessage.RCodeServerFailure}}
	})
	good := newFakeUpstream(t, upstreamHandler)

	ns := newNetns(t, true)
	r := &fakeResolver{upstreams: []netip.AddrPort{closedAddr, silent.addr, failing.addr, good.addr}}
	s := mustServe(t, ns, r)
	for _, network := range []string{"udp", "tcp"} {
		c := mustDialIn(t, ns, network)
		m, _ := ask(t, c, "host.example.", dnsmessage.TypeA)
		if got := aRecords(t, m); !slices.Equal(got, []string{"192.0.2.1"}) {
			t.Errorf("%s: A host.example = %v (%v)", network, got, m.Header.RCode)
		}
		for _, u := range []*fakeUpstream{silent, failing, good} {
			if q := u.queries(); len(q) == 0 || q[len(q)-1] != network+" host.example. TypeA" {
				t.Errorf("%s: upstream %s saw %v", network, u.addr, q)
			}
		}
	}

	// All failing: SERVFAIL.
	r.setUpstreams(closedAddr, silent.addr, failing.addr)
	c := mustDialIn(t, ns, "udp")
	m, _ := ask(t, c, "host.example.", dnsmessage.TypeA)
	if m.Header.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("all upstreams failing: %v, want SERVFAIL", m.Header.RCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t)
}

func TestServeForwardLimit(t *testing.T) {
	requireRoot(t)
	// An upstream that never answers keeps forwards in flight.
	silent := newFakeUpstream(t, func(dnsmessage.Message, bool) *dnsmessage.Message { return nil })
	ns := newNetns(t, true)
	s := mustServe(t, ns, &fakeResolver{upstreams: []netip.AddrPort{silent.addr}})
	c := mustDialIn(t, ns, "udp")
	const n = maxForwards + 20
	for i := range n {
		if err := send(c, buildQuery(t, uint16(i), "slow.example.", dnsmessage.TypeA, 0)); err != nil {
			t.Fatal(err)
		}
	}
	refusedAnswers := 0
	for refusedAnswers < n-maxForwards {
		raw, err := recv(c, 2*time.Second)
		if err != nil {
			t.Fatalf("got %d REFUSED answers, want %d: %v", refusedAnswers, n-maxForwards, err)
		}
		var p dnsmessage.Parser
		h, err := p.Start(raw)
		if err != nil || h.RCode != dnsmessage.RCodeRefused {
			t.Fatalf("answer %+v (%v), want REFUSED", h, err)
		}
		refusedAnswers++
	}
	// Close cancels the forwards in flight instead of waiting them out.
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with forwards in flight", d)
	}
	checkNoLeak(t)
}

func TestServeCloseReleasesSockets(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t, true)
	r := &fakeResolver{names: map[string][]netip.Addr{"web": addrs("172.18.0.2")}}
	for i := range 2 {
		s, err := Serve(ns, r)
		if err != nil {
			t.Fatalf("Serve #%d: %v", i+1, err)
		}
		c, err := dialIn(ns, "tcp")
		if err != nil {
			t.Fatal(err)
		}
		// An idle client connection must not hold Close up.
		idle, err := dialIn(ns, "tcp")
		if err != nil {
			t.Fatal(err)
		}
		if got := aRecords(t, mustAsk(t, c, "web.")); !slices.Equal(got, []string{"172.18.0.2"}) {
			t.Errorf("A web = %v", got)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		c.Close()
		idle.Close()
		checkNoLeak(t)
		if _, err := dialIn(ns, "tcp"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial after Close: %v, want connection refused", err)
		}
	}
	checkThreadsInHostNetns(t)
}

func TestServeErrors(t *testing.T) {
	requireRoot(t)
	file := filepath.Join(t.TempDir(), "not-a-netns")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	loDown := newNetns(t, false)
	for name, path := range map[string]string{
		"missing":     filepath.Join(t.TempDir(), "missing"),
		"not a netns": file,
		"lo down":     loDown,
	} {
		if s, err := Serve(path, &fakeResolver{}); err == nil {
			s.Close()
			t.Errorf("%s: Serve succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	checkThreadsInHostNetns(t)
	checkNoLeak(t)
}
