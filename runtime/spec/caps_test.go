package spec

import (
	"errors"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
)

func TestDefaultCapabilitiesMask(t *testing.T) {
	if got := capabilityMask(DefaultCapabilities()); got != 0xa80425fb {
		t.Fatalf("CapEff of the default set = %016x, want 00000000a80425fb", got)
	}
}

func TestCapNamesComplete(t *testing.T) {
	for i, n := range capNames {
		if n == "" {
			t.Errorf("capability %d has no name", i)
		}
	}
}

func TestNormalizeCapability(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"NET_ADMIN", "CAP_NET_ADMIN", true},
		{"net_admin", "CAP_NET_ADMIN", true},
		{"CAP_NET_ADMIN", "CAP_NET_ADMIN", true},
		{"cap_Net_Admin", "CAP_NET_ADMIN", true},
		{"all", "ALL", true},
		{"ALL", "ALL", true},
		{"CAP_FLY", "", false},
		{"", "", false},
	} {
		got, err := NormalizeCapability(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("NormalizeCapability(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("NormalizeCapability(%q): error class %v", tc.in, err)
		}
	}
}

func TestCapabilities(t *testing.T) {
	all := capabilitiesUpTo(40)
	noSysResource := slices.DeleteFunc(slices.Clone(all), func(c string) bool { return c == "CAP_SYS_RESOURCE" })
	without := func(list []string, drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(c string) bool { return slices.Contains(drop, c) })
	}
	for _, tc := range []struct {
		name       string
		available  []string
		add, drop  []string
		privileged bool
		want       []string
		wantMask   uint64
		wantErr    bool
	}{
		{name: "default", available: all, want: DefaultCapabilities(), wantMask: 0xa80425fb},
		{name: "add without prefix, lower case", available: all, add: []string{"net_admin"},
			want: append(DefaultCapabilities(), "CAP_NET_ADMIN")},
		{name: "add with prefix", available: all, add: []string{"CAP_SYS_ADMIN"},
			want: append(DefaultCapabilities(), "CAP_SYS_ADMIN")},
		{name: "add a default again", available: all, add: []string{"chown"}, want: DefaultCapabilities()},
		{name: "drop", available: all, drop: []string{"NET_RAW", "cap_mknod"},
			want: without(DefaultCapabilities(), "CAP_NET_RAW", "CAP_MKNOD"), wantMask: 0xa80425fb &^ (1 << 13) &^ (1 << 27)},
		{name: "drop all add one", available: all, drop: []string{"ALL"}, add: []string{"chown"}, want: []string{"CAP_CHOWN"}},
		{name: "drop all", available: all, drop: []string{"all"}, want: nil},
		{name: "add all drop one", available: all, add: []string{"ALL"}, drop: []string{"SYS_ADMIN"},
			want: without(all, "CAP_SYS_ADMIN")},
		{name: "add all", available: all, add: []string{"all"}, want: all},
		{name: "unknown add", available: all, add: []string{"FLY"}, wantErr: true},
		{name: "unknown drop", available: all, drop: []string{"CAP_FLY"}, wantErr: true},
		{name: "add a capability the daemon lacks", available: noSysResource, add: []string{"SYS_RESOURCE"}, wantErr: true},
		{name: "privileged gets all available", available: noSysResource, privileged: true, want: noSysResource},
		{name: "privileged ignores add and drop", available: all, privileged: true, drop: []string{"ALL"}, want: all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := capabilities(tc.available, tc.add, tc.drop, tc.privileged)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("err = %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("caps = %v, want %v", got, tc.want)
			}
			if tc.wantMask != 0 && capabilityMask(got) != tc.wantMask {
				t.Errorf("mask = %016x, want %016x", capabilityMask(got), tc.wantMask)
			}
		})
	}
}

func TestWithCapabilitiesSets(t *testing.T) {
	s := defaultSpec()
	if err := withCapabilities(DefaultCapabilities())(s); err != nil {
		t.Fatal(err)
	}
	c := s.Process.Capabilities
	for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		if capabilityMask(set) != 0xa80425fb {
			t.Errorf("%s = %016x", name, capabilityMask(set))
		}
	}
	if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
		t.Errorf("inheritable %v ambient %v, want none", c.Inheritable, c.Ambient)
	}
}

func TestCapabilitiesInMask(t *testing.T) {
	known := capabilitiesUpTo(40)
	got := capabilitiesInMask(0xa80425fb, known)
	want := slices.Clone(DefaultCapabilities())
	slices.SortFunc(want, func(a, b string) int { return slices.Index(known, a) - slices.Index(known, b) })
	if !slices.Equal(got, want) {
		t.Errorf("capabilitiesInMask = %v, want %v", got, want)
	}
	if got := capabilitiesUpTo(100); len(got) != len(capNames) {
		t.Errorf("a newer kernel's unknown capabilities must be skipped, got %d", len(got))
	}
}
