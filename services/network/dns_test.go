package network

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// dnsFixture puts containers on networks:
//
//	web (c1): front (alias www), default bridge
//	db  (c2): front, back
//	api (c3): back
//	old (c4): default bridge only
//	iso (c5): internal only
//	mix (c6): internal and front
type dnsFixture struct {
	s                             *Service
	front, back, internal, bridge *Network
	ip                            map[string]map[string]netip.Addr // container name -> network name -> address
}

func newDNSFixture(t *testing.T) *dnsFixture {
	t.Helper()
	f := &dnsFixture{
		front: userNet("front", "10.1.0.0/24"), back: userNet("back", "10.2.0.0/24"),
		internal: userNet("internal", "10.3.0.0/24"), bridge: defaultBridge(),
		ip: map[string]map[string]netip.Addr{},
	}
	f.internal.Internal = true
	f.s = testService(t, Config{}, f.front, f.back, f.internal, f.bridge)
	join := func(cid, name, network string, aliases ...string) {
		t.Helper()
		ep, err := f.s.Reserve(JoinRequest{ContainerID: id(cid), Name: name, Network: network, IfName: "eth0", Aliases: aliases})
		if err != nil {
			t.Fatalf("%s on %s: %v", name, network, err)
		}
		if f.ip[name] == nil {
			f.ip[name] = map[string]netip.Addr{}
		}
		f.ip[name][network] = ep.IP
	}
	join("c1", "web", "front", "www")
	join("c1", "web", NameBridge)
	join("c2", "db", "front")
	join("c2", "db", "back")
	join("c3", "api", "back")
	join("c4", "old", NameBridge)
	join("c5", "iso", "internal")
	join("c6", "mix", "internal")
	join("c6", "mix", "front")
	return f
}

func (f *dnsFixture) resolver(cid string) *resolver {
	return &resolver{s: f.s, id: id(cid), upstreams: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.53:53")}}
}

func sorted(a []netip.Addr) []netip.Addr {
	out := slices.Clone(a)
	slices.SortFunc(out, func(x, y netip.Addr) int { return x.Compare(y) })
	return out
}

func TestResolverLookup(t *testing.T) {
	f := newDNSFixture(t)
	for _, tc := range []struct {
		from, name string
		want       []netip.Addr // nil: no answer
	}{
		{"c1", "db", []netip.Addr{f.ip["db"]["front"]}},
		{"c1", "DB", []netip.Addr{f.ip["db"]["front"]}}, // case-insensitive
		{"c2", "www", []netip.Addr{f.ip["web"]["front"]}},
		{"c2", "WWW", []netip.Addr{f.ip["web"]["front"]}},
		{"c2", "web", []netip.Addr{f.ip["web"]["front"]}},                   // not its default bridge address
		{"c1", id("c2")[:12], []netip.Addr{f.ip["db"]["front"]}},            // short ID
		{"c3", "db", []netip.Addr{f.ip["db"]["back"]}},                      // through back
		{"c2", "db", []netip.Addr{f.ip["db"]["front"], f.ip["db"]["back"]}}, // itself, on both networks
		{"c1", "api", nil}, // api is on back, web is not
		{"c3", "web", nil}, // nor the other way round
		{"c3", "www", nil}, // aliases are per network
		{"c1", "old", nil}, // the default bridge resolves no names
		{"c4", "web", nil}, // nor does a container only on it
		{"c1", "nosuch", nil},
		{"c1", id("c2"), nil}, // the full ID is not a name
		{"c5", "mix", []netip.Addr{f.ip["mix"]["internal"]}},
		{"nobody", "web", nil}, // a container on no network
	} {
		got, ok := f.resolver(tc.from).Lookup(tc.name)
		if ok != (tc.want != nil) || !reflect.DeepEqual(sorted(got), sorted(tc.want)) {
			t.Errorf("%s asks %q: got %v, %v; want %v", tc.from, tc.name, got, ok, tc.want)
		}
	}
}

func TestResolverLookupAddr(t *testing.T) {
	f := newDNSFixture(t)
	for _, tc := range []struct {
		from string
		ip   netip.Addr
		want []string
	}{
		{"c1", f.ip["db"]["front"], []string{"db.front"}},
		{"c3", f.ip["db"]["back"], []string{"db.back"}},
		{"c1", f.ip["api"]["back"], nil},     // not on back
		{"c1", f.ip["old"][NameBridge], nil}, // default bridge
		{"c4", f.ip["web"][NameBridge], nil},
		{"c1", netip.MustParseAddr("10.9.9.9"), nil},
	} {
		got, ok := f.resolver(tc.from).LookupAddr(tc.ip)
		if ok != (tc.want != nil) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s asks %s: got %v, %v; want %v", tc.from, tc.ip, got, ok, tc.want)
		}
	}
}

func TestResolverUpstreams(t *testing.T) {
	f := newDNSFixture(t)
	for cid, external := range map[string]bool{
		"c1": true,  // front
		"c3": true,  // back
		"c5": false, // internal only: no way out, for names either
		"c6": true,  // internal and front
	} {
		got := f.resolver(cid).Upstreams()
		if external && len(got) != 1 {
			t.Errorf("%s: upstreams %v, want the configured one", cid, got)
		}
		if !external && len(got) != 0 {
			t.Errorf("%s: upstreams %v, want none", cid, got)
		}
	}
}

func TestRenameChangesLookup(t *testing.T) {
	f := newDNSFixture(t)
	f.s.Rename(id("c2"), "database")
	r := f.resolver("c1")
	if got, ok := r.Lookup("db"); ok {
		t.Errorf("old name still answers: %v", got)
	}
	if got, ok := r.Lookup("database"); !ok || !reflect.DeepEqual(got, []netip.Addr{f.ip["db"]["front"]}) {
		t.Errorf("new name: %v, %v", got, ok)
	}
	if got, ok := f.resolver("c3").LookupAddr(f.ip["db"]["back"]); !ok || !reflect.DeepEqual(got, []string{"database.back"}) {
		t.Errorf("reverse lookup after rename: %v, %v", got, ok)
	}
	// The short ID still answers.
	if _, ok := r.Lookup(id("c2")[:12]); !ok {
		t.Error("short ID lost after rename")
	}
}
