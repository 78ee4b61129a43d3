package spec

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseDeviceCgroupRule(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		rule    string
		want    specs.LinuxDeviceCgroup
		wantErr bool
	}{
		{rule: "c 1:3 rwm", want: specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(1), Minor: i(3), Access: "rwm"}},
		{rule: "b 8:* r", want: specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i(8), Access: "r"}},
		{rule: "a *:* m", want: specs.LinuxDeviceCgroup{Allow: true, Type: "a", Access: "m"}},
		{rule: "c 1:3", wantErr: true},
		{rule: "x 1:3 rwm", wantErr: true},
		{rule: "c 1:3 rwx", wantErr: true},
	} {
		got, err := ParseDeviceCgroupRule(tc.rule)
		if tc.wantErr {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("%q: err = %v, want invalid argument", tc.rule, err)
			}
			continue
		}
		if err != nil || got.Allow != tc.want.Allow || got.Type != tc.want.Type || got.Access != tc.want.Access ||
			!eqPtr(got.Major, tc.want.Major) || !eqPtr(got.Minor, tc.want.Minor) {
			t.Errorf("%q = %+v, %v; want %+v", tc.rule, got, err, tc.want)
		}
	}
}

func eqPtr(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func TestBuildDeviceMapping(t *testing.T) {
	in := testInput(t)
	in.HostConfig.Devices = []container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rw"}}
	in.HostConfig.DeviceCgroupRules = []string{"c 10:229 rwm"}
	s := mustBuild(t, in)
	var found bool
	for _, d := range s.Linux.Devices {
		if d.Path == "/dev/mynull" && d.Type == "c" && d.Major == 1 && d.Minor == 3 {
			found = true
		}
	}
	if !found {
		t.Errorf("devices = %+v, want /dev/mynull", s.Linux.Devices)
	}
	rules := s.Linux.Resources.Devices
	last2 := rules[len(rules)-2:]
	if *last2[0].Major != 10 || *last2[0].Minor != 229 || *last2[1].Major != 1 || *last2[1].Minor != 3 || last2[1].Access != "rw" {
		t.Errorf("rules = %+v", rules)
	}

	for _, bad := range []container.DeviceMapping{
		{PathOnHost: "/nonexistent/device"},
		{PathOnHost: "/dev/null", CgroupPermissions: "rwx"},
		{PathOnHost: "dev/null"},
		{PathOnHost: "/etc/hostname"},
	} {
		in := testInput(t)
		in.HostConfig.Devices = []container.DeviceMapping{bad}
		if _, err := build(t.Context(), in, testHost()); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("device %+v: err = %v, want invalid argument", bad, err)
		}
	}
}

func TestHostDevices(t *testing.T) {
	devs, err := HostDevices()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range devs {
		seen[d.Path] = true
		if d.Path == "/dev/console" || d.Path == "/dev/pts/ptmx" {
			t.Errorf("%s must be left to the runtime", d.Path)
		}
	}
	if !seen["/dev/null"] {
		t.Errorf("host devices %v lack /dev/null", devs)
	}
}
