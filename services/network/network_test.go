package network

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestParseOptionsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  CreateOptions
		class func(error) bool
	}{
		{"empty name", CreateOptions{}, errdefs.IsInvalidArgument},
		{"name starting with a dash", CreateOptions{Name: "-net"}, errdefs.IsInvalidArgument},
		{"name with a space", CreateOptions{Name: "my net"}, errdefs.IsInvalidArgument},
		{"name with a slash", CreateOptions{Name: "my/net"}, errdefs.IsInvalidArgument},
		{"predefined bridge", CreateOptions{Name: NameBridge}, errdefs.IsPermissionDenied},
		{"predefined host", CreateOptions{Name: NameHost}, errdefs.IsPermissionDenied},
		{"predefined none", CreateOptions{Name: NameNone}, errdefs.IsPermissionDenied},
		{"other driver", CreateOptions{Name: "n", Driver: "overlay"}, errdefs.IsInvalidArgument},
		{"host driver", CreateOptions{Name: "n", Driver: DriverHost}, errdefs.IsInvalidArgument},
		{"subnet not a CIDR", CreateOptions{Name: "n", Subnet: "10.1.0.0"}, errdefs.IsInvalidArgument},
		{"subnet garbage", CreateOptions{Name: "n", Subnet: "nonsense"}, errdefs.IsInvalidArgument},
		{"IPv6 subnet", CreateOptions{Name: "n", Subnet: "fd00:1::/64"}, errdefs.IsInvalidArgument},
		{"/31 subnet", CreateOptions{Name: "n", Subnet: "10.1.0.0/31"}, errdefs.IsInvalidArgument},
		{"/32 subnet", CreateOptions{Name: "n", Subnet: "10.1.0.0/32"}, errdefs.IsInvalidArgument},
		{"gateway without subnet", CreateOptions{Name: "n", Gateway: "10.1.0.1"}, errdefs.IsInvalidArgument},
		{"gateway garbage", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", Gateway: "x"}, errdefs.IsInvalidArgument},
		{"gateway outside subnet", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", Gateway: "10.2.0.1"}, errdefs.IsInvalidArgument},
		{"gateway is the network address", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", Gateway: "10.1.0.0"}, errdefs.IsInvalidArgument},
		{"gateway is the broadcast address", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", Gateway: "10.1.0.255"}, errdefs.IsInvalidArgument},
		{"IPv6 gateway", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", Gateway: "fd00::1"}, errdefs.IsInvalidArgument},
		{"ip-range without subnet", CreateOptions{Name: "n", IPRange: "10.1.0.0/25"}, errdefs.IsInvalidArgument},
		{"ip-range garbage", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", IPRange: "x"}, errdefs.IsInvalidArgument},
		{"ip-range outside subnet", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", IPRange: "10.2.0.0/25"}, errdefs.IsInvalidArgument},
		{"ip-range larger than subnet", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", IPRange: "10.1.0.0/16"}, errdefs.IsInvalidArgument},
		{"IPv6 ip-range", CreateOptions{Name: "n", Subnet: "10.1.0.0/24", IPRange: "fd00::/64"}, errdefs.IsInvalidArgument},
		{"MTU not a number", CreateOptions{Name: "n", Options: map[string]string{OptMTU: "big"}}, errdefs.IsInvalidArgument},
		{"MTU with trailing garbage", CreateOptions{Name: "n", Options: map[string]string{OptMTU: "1500abc"}}, errdefs.IsInvalidArgument},
		{"MTU too small", CreateOptions{Name: "n", Options: map[string]string{OptMTU: "67"}}, errdefs.IsInvalidArgument},
		{"MTU too large", CreateOptions{Name: "n", Options: map[string]string{OptMTU: "65536"}}, errdefs.IsInvalidArgument},
		{"bridge name of 16 characters", CreateOptions{Name: "n", Options: map[string]string{OptBridgeName: "abcdefghijklmnop"}}, errdefs.IsInvalidArgument},
		{"bridge name with a slash", CreateOptions{Name: "n", Options: map[string]string{OptBridgeName: "br/0"}}, errdefs.IsInvalidArgument},
		{"bridge name with a space", CreateOptions{Name: "n", Options: map[string]string{OptBridgeName: "br 0"}}, errdefs.IsInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parseOptions(tc.opts)
			if !tc.class(err) {
				t.Fatalf("got %+v, %v; want an error of the expected class", n, err)
			}
		})
	}
}

func TestParseOptionsAccepts(t *testing.T) {
	in := CreateOptions{
		Name: "my.net_1-x", Subnet: "10.1.0.7/24", Gateway: "10.1.0.254", IPRange: "10.1.0.130/25",
		Internal: true, Attachable: true,
		Options: map[string]string{OptMTU: "9000", OptBridgeName: "abcdefghijklmno"},
		Labels:  map[string]string{"team": "a"},
	}
	n, err := parseOptions(in)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "my.net_1-x" || n.Driver != DriverBridge || !n.Internal || !n.Attachable {
		t.Errorf("record: %+v", n)
	}
	if n.Subnet != netip.MustParsePrefix("10.1.0.0/24") {
		t.Errorf("subnet %s, want it masked to 10.1.0.0/24", n.Subnet)
	}
	if n.Gateway != netip.MustParseAddr("10.1.0.254") {
		t.Errorf("gateway %s", n.Gateway)
	}
	if n.IPRange != netip.MustParsePrefix("10.1.0.128/25") {
		t.Errorf("ip-range %s, want it masked to 10.1.0.128/25", n.IPRange)
	}
	if n.MTU != 9000 {
		t.Errorf("MTU %d", n.MTU)
	}
	if n.Bridge != "abcdefghijklmno" {
		t.Errorf("bridge %q, want the 15-character name asked for", n.Bridge)
	}
	if len(n.ID) != 64 {
		t.Errorf("ID %q", n.ID)
	}
	// The record owns its maps: the caller's are not shared.
	in.Options["x"], in.Labels["x"] = "1", "1"
	if n.Options["x"] != "" || n.Labels["x"] != "" || n.Labels["team"] != "a" {
		t.Errorf("options %v labels %v", n.Options, n.Labels)
	}
}

func TestParseOptionsDefaults(t *testing.T) {
	n, err := parseOptions(CreateOptions{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Driver != DriverBridge {
		t.Errorf("driver %q, want bridge", n.Driver)
	}
	if n.Subnet.IsValid() || n.Gateway.IsValid() || n.IPRange.IsValid() {
		t.Errorf("no subnet asked, got %s %s %s", n.Subnet, n.Gateway, n.IPRange)
	}
	if n.Bridge != "pn-"+n.ID[:12] || len(n.Bridge) > 15 {
		t.Errorf("bridge %q, want pn-<ID prefix> of at most 15 characters", n.Bridge)
	}
	if n.MTU != 0 {
		t.Errorf("MTU %d", n.MTU)
	}
	// A /30 is the smallest subnet: a gateway and one container.
	if _, err := parseOptions(CreateOptions{Name: "n", Subnet: "10.1.0.0/30", Driver: DriverBridge}); err != nil {
		t.Errorf("/30: %v", err)
	}
	other, _ := parseOptions(CreateOptions{Name: "n"})
	if other.ID == n.ID || other.Bridge == n.Bridge {
		t.Errorf("two networks share ID or bridge: %s %s", n.ID, n.Bridge)
	}
}

func TestUsableAndBroadcast(t *testing.T) {
	p24 := netip.MustParsePrefix("10.1.0.0/24")
	for _, tc := range []struct {
		p    netip.Prefix
		a    string
		want bool
	}{
		{p24, "10.1.0.1", true},
		{p24, "10.1.0.254", true},
		{p24, "10.1.0.0", false},   // network
		{p24, "10.1.0.255", false}, // broadcast
		{p24, "10.1.1.1", false},   // outside
		{p24, "::ffff:10.1.0.5", false},
		{netip.MustParsePrefix("10.1.2.3/16"), "10.1.255.255", false}, // unmasked prefix
		{netip.MustParsePrefix("10.1.2.3/16"), "10.1.0.0", false},
		{netip.MustParsePrefix("10.1.2.3/16"), "10.1.2.0", true},
		{netip.MustParsePrefix("192.168.0.4/30"), "192.168.0.5", true},
		{netip.MustParsePrefix("192.168.0.4/30"), "192.168.0.6", true},
		{netip.MustParsePrefix("192.168.0.4/30"), "192.168.0.7", false},
	} {
		if got := usable(tc.p, netip.MustParseAddr(tc.a)); got != tc.want {
			t.Errorf("usable(%s, %s) = %v, want %v", tc.p, tc.a, got, tc.want)
		}
	}
	for p, want := range map[string]string{
		"10.1.0.0/24":     "10.1.0.255",
		"10.1.2.3/16":     "10.1.255.255",
		"172.17.0.0/16":   "172.17.255.255",
		"192.168.0.4/30":  "192.168.0.7",
		"192.168.16.0/20": "192.168.31.255",
		"0.0.0.0/0":       "255.255.255.255",
	} {
		if got := broadcast(netip.MustParsePrefix(p)); got.String() != want {
			t.Errorf("broadcast(%s) = %s, want %s", p, got, want)
		}
	}
	if got := firstHost(netip.MustParsePrefix("10.1.0.9/24")); got.String() != "10.1.0.1" {
		t.Errorf("firstHost = %s", got)
	}
}

func TestDefaultPoolsOrder(t *testing.T) {
	var want []string
	for i := 17; i <= 31; i++ {
		want = append(want, "172."+strconv.Itoa(i)+".0.0/16")
	}
	for i := 0; i < 256; i += 16 {
		want = append(want, "192.168."+strconv.Itoa(i)+".0/20")
	}
	var got []string
	for _, p := range defaultPools() {
		got = append(got, p.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pools\n got %v\nwant %v", got, want)
	}
	// No two pools overlap, so each new network gets a subnet of its own.
	ps := defaultPools()
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if overlaps(ps[i], ps[j]) {
				t.Errorf("%s overlaps %s", ps[i], ps[j])
			}
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	st := store{path: filepath.Join(t.TempDir(), "networks.json")}
	if got, err := st.load(); err != nil || got != nil {
		t.Fatalf("load of a missing file: %v, %v; want nothing and no error", got, err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	user := &Network{
		ID: "bbbb" + strings.Repeat("1", 60), Name: "web", Driver: DriverBridge, Created: created,
		Subnet: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.1"),
		IPRange: netip.MustParsePrefix("10.1.0.128/25"), Internal: true, Attachable: true,
		Options: map[string]string{OptMTU: "1400"}, Labels: map[string]string{"a": "b"},
		Bridge: "br-web", MTU: 1400,
	}
	host := &Network{ID: "aaaa" + strings.Repeat("2", 60), Name: NameHost, Driver: DriverHost, Created: created,
		Options: map[string]string{}, Labels: map[string]string{}}
	if err := st.save(map[string]*Network{user.ID: user, host.ID: host}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	got, err := st.load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("loaded %d records, want 2", len(got))
	}
	// Saved in ID order.
	if !reflect.DeepEqual(got[0], host) || !reflect.DeepEqual(got[1], user) {
		t.Errorf("round trip:\n got %+v\n     %+v\nwant %+v\n     %+v", got[0], got[1], host, user)
	}
	if got[0].Subnet.IsValid() || got[0].Gateway.IsValid() {
		t.Errorf("host network got an address: %+v", got[0])
	}

	if err := os.WriteFile(st.path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.load(); err == nil {
		t.Error("a corrupt record file loaded without error")
	}
}
