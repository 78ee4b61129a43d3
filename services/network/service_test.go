package network

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/pouchcontainer/pouch/network/cni"
)

// testService is a Service with the given networks and nothing plumbed:
// no bridge, no namespace, and a CNI cache of its own, so that Release
// of an endpoint that was never plugged has nothing to undo.
func testService(t *testing.T, cfg Config, nets ...*Network) *Service {
	t.Helper()
	dir := t.TempDir()
	cfg.Root, cfg.StateDir = dir, dir
	s := &Service{
		cfg:       cfg,
		cni:       cni.New([]string{filepath.Join(dir, "no-plugins")}, filepath.Join(dir, "cni")),
		st:        store{path: filepath.Join(dir, "networks.json")},
		networks:  map[string]*Network{},
		endpoints: map[string]map[string]*Endpoint{},
		used:      map[string]map[netip.Addr]bool{},
		next:      map[string]netip.Addr{},
		dns:       map[string]*sandboxDNS{},
		changed:   make(chan struct{}),
	}
	for _, n := range nets {
		s.add(n)
	}
	return s
}

// id makes a 64-character ID starting with prefix.
func id(prefix string) string { return prefix + strings.Repeat("0", 64-len(prefix)) }

// userNet is a user-defined bridge network.
func userNet(name, subnet string) *Network {
	p := netip.MustParsePrefix(subnet)
	return &Network{ID: id("1" + name), Name: name, Driver: DriverBridge, Subnet: p, Gateway: firstHost(p), Bridge: "br-" + name}
}

// defaultBridge is the predefined bridge network.
func defaultBridge() *Network {
	p := netip.MustParsePrefix("172.17.0.0/16")
	return &Network{ID: id("2b"), Name: NameBridge, Driver: DriverBridge, Subnet: p, Gateway: firstHost(p), Bridge: "docker0"}
}

func TestGet(t *testing.T) {
	a := &Network{ID: "abc1" + strings.Repeat("1", 60), Name: "front", Driver: DriverBridge}
	b := &Network{ID: "abc2" + strings.Repeat("2", 60), Name: "back", Driver: DriverBridge}
	c := &Network{ID: "def" + strings.Repeat("3", 61), Name: "abc2", Driver: DriverBridge}
	s := testService(t, Config{}, a, b, c)
	for _, tc := range []struct {
		ref   string
		want  *Network
		class func(error) bool
	}{
		{a.ID, a, nil},
		{"front", a, nil},
		{"back", b, nil},
		{"abc1", a, nil},
		{"abc2", c, nil}, // a name wins over an ID prefix, as in Docker
		{"de", c, nil},
		{"abc", nil, errdefs.IsInvalidArgument}, // ambiguous prefix
		{"zzz", nil, errdefs.IsNotFound},
		{"FRONT", nil, errdefs.IsNotFound}, // names are case-sensitive
		{"", nil, errdefs.IsInvalidArgument},
	} {
		got, err := s.Get(tc.ref)
		if tc.class != nil {
			if !tc.class(err) {
				t.Errorf("Get(%q) = %v, %v; want an error of the expected class", tc.ref, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Get(%q) = %v, %v; want %s", tc.ref, got, err, tc.want.Name)
		}
	}
}
