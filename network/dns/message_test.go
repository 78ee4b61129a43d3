package dns

import (
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// buildQuery builds a query for name and typ; edns adds an OPT record with
// that UDP payload size (0: none).
func buildQuery(t testing.TB, id uint16, name string, typ dnsmessage.Type, edns int) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	if edns > 0 {
		if err := b.StartAdditionals(); err != nil {
			t.Fatal(err)
		}
		var h dnsmessage.ResourceHeader
		if err := h.SetEDNS0(edns, dnsmessage.RCodeSuccess, false); err != nil {
			t.Fatal(err)
		}
		if err := b.OPTResource(h, dnsmessage.OPTResource{}); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestParsePTRName(t *testing.T) {
	for name, want := range map[string]string{
		"2.0.18.172.in-addr.arpa":      "172.18.0.2",
		"255.255.255.255.in-addr.arpa": "255.255.255.255",
		"0.0.18.172.in-addr.arpa":      "172.18.0.0",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": "2001:db8::1",
		"0.18.172.in-addr.arpa":     "",
		"1.2.0.18.172.in-addr.arpa": "",
		"256.0.18.172.in-addr.arpa": "",
		"02.0.18.172.in-addr.arpa":  "",
		"-1.0.18.172.in-addr.arpa":  "",
		"x.0.18.172.in-addr.arpa":   "",
		"..18.172.in-addr.arpa":     "",
		"in-addr.arpa":              "",
		"web":                       "",
		"1.0.0.ip6.arpa":            "",
		"g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": "",
	} {
		got, ok := parsePTRName(name)
		if want == "" {
			if ok {
				t.Errorf("parsePTRName(%q) = %v, want not a reverse name", name, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(want) {
			t.Errorf("parsePTRName(%q) = %v, %v; want %s", name, got, ok, want)
		}
	}
}

type tableResolver map[string][]netip.Addr

func (r tableResolver) Lookup(name string) ([]netip.Addr, bool) { a, ok := r[name]; return a, ok }
func (tableResolver) LookupAddr(netip.Addr) ([]string, bool)    { return nil, false }
func (tableResolver) Upstreams() []netip.AddrPort               { return nil }

func localAnswer(t *testing.T, s *Server, msg []byte) *dnsmessage.Message {
	t.Helper()
	req, ok := parseRequest(msg)
	if !ok {
		t.Fatal("query dropped")
	}
	resp := s.local(req)
	if resp == nil {
		return nil
	}
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		t.Fatal(err)
	}
	if m.Header.ID != req.hdr.ID || !m.Header.Response {
		t.Errorf("header %+v does not answer ID %d", m.Header, req.hdr.ID)
	}
	return &m
}

func TestLocal(t *testing.T) {
	s := &Server{r: tableResolver{"web": {netip.MustParseAddr("172.18.0.2"), netip.MustParseAddr("fd00::2")}}}
	q := func(name string, typ dnsmessage.Type) []byte {
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 42})
		b.StartQuestions()
		b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET})
		msg, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}

	if m := localAnswer(t, s, q("web.", dnsmessage.TypeA)); m == nil || len(m.Answers) != 1 {
		t.Errorf("A web: %v (IPv6 addresses must be left out)", m)
	}
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeAAAA, dnsmessage.TypeMX} {
		if m := localAnswer(t, s, q("WEB.", typ)); m == nil || m.Header.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
			t.Errorf("%v web: %v, want empty NOERROR", typ, m)
		}
	}
	if m := localAnswer(t, s, q("web.", dnsmessage.TypeALL)); m == nil || len(m.Answers) != 1 {
		t.Errorf("ANY web: %v, want the A record", m)
	}
	for _, c := range []struct {
		name string
		typ  dnsmessage.Type
	}{{"web.", dnsmessage.TypeTXT}, {"other.", dnsmessage.TypeA}, {"web.example.com.", dnsmessage.TypeA}, {".", dnsmessage.TypeNS}, {"2.0.18.172.in-addr.arpa.", dnsmessage.TypePTR}} {
		if m := localAnswer(t, s, q(c.name, c.typ)); m != nil {
			t.Errorf("%s %v answered locally (%v), want forwarded", c.name, c.typ, m)
		}
	}

	notQuery := q("web.", dnsmessage.TypeA)
	notQuery[2] |= 2 << 3 // opcode STATUS
	if m := localAnswer(t, s, notQuery); m == nil || m.Header.RCode != dnsmessage.RCodeNotImplemented {
		t.Errorf("opcode STATUS: %v, want NOTIMP", m)
	}

	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 43})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("web."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("db."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	two, _ := b.Finish()
	if m := localAnswer(t, s, two); m == nil || m.Header.RCode != dnsmessage.RCodeFormatError {
		t.Errorf("two questions: %v, want FORMERR", m)
	}
}

func TestFitUnparseable(t *testing.T) {
	req, ok := parseRequest(buildQuery(t, 5, "web.", dnsmessage.TypeA, 0))
	if !ok {
		t.Fatal("query dropped")
	}
	// A header claiming one answer, followed by junk.
	resp := []byte{0, 5, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}
	for range 600 {
		resp = append(resp, 0xff) // a name pointer far out of the message
	}
	out := fit(resp, req, 512)
	var m dnsmessage.Message
	if err := m.Unpack(out); err != nil {
		t.Fatal(err)
	}
	if !m.Header.Truncated || len(out) > 512 || len(m.Answers) != 0 || m.Header.ID != 5 {
		t.Errorf("fit = %+v (%d bytes)", m.Header, len(out))
	}
}

// FuzzHandle feeds arbitrary packets through parsing, local answers and
// truncation: nothing may panic.
func FuzzHandle(f *testing.F) {
	f.Add(buildQuery(f, 1, "web.", dnsmessage.TypeA, 0))
	f.Add(buildQuery(f, 2, "2.0.18.172.in-addr.arpa.", dnsmessage.TypePTR, 1232))
	f.Add(buildQuery(f, 3, "many.", dnsmessage.TypeA, 600))
	f.Add([]byte{0, 1, 2})
	many := make([]netip.Addr, 100)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
	}
	s := &Server{r: tableResolver{"web": many[:1], "many": many}}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, ok := parseRequest(b)
		if !ok {
			return
		}
		resp := s.local(req)
		out := fit(resp, req, req.udpSize)
		if resp != nil && len(out) > req.udpSize {
			t.Fatalf("fit returned %d bytes, limit %d", len(out), req.udpSize)
		}
		fit(b, req, 100) // as if b were an upstream answer
	})
}
