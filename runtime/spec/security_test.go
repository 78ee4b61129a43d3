package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSecurityOpts(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		opts    []string
		want    SecurityOptions
		wantErr bool
	}{
		{opts: nil, want: SecurityOptions{}},
		{opts: []string{"no-new-privileges"}, want: SecurityOptions{NoNewPrivileges: true}},
		{opts: []string{"no-new-privileges=true"}, want: SecurityOptions{NoNewPrivileges: true}},
		{opts: []string{"no-new-privileges:true"}, want: SecurityOptions{NoNewPrivileges: true}},
		{opts: []string{"no-new-privileges", "no-new-privileges=false"}, want: SecurityOptions{}},
		{opts: []string{"seccomp=unconfined"}, want: SecurityOptions{Seccomp: "unconfined"}},
		{opts: []string{"seccomp:unconfined"}, want: SecurityOptions{Seccomp: "unconfined"}},
		{opts: []string{"seccomp=/etc/p.json"}, want: SecurityOptions{Seccomp: "/etc/p.json"}},
		{opts: []string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW","x":"a=b"}`},
			want: SecurityOptions{Seccomp: `{"defaultAction":"SCMP_ACT_ALLOW","x":"a=b"}`}},
		{opts: []string{`seccomp:{"defaultAction":"SCMP_ACT_ALLOW","x":"a=b"}`},
			want: SecurityOptions{Seccomp: `{"defaultAction":"SCMP_ACT_ALLOW","x":"a=b"}`}},
		{opts: []string{"apparmor=unconfined"}, want: SecurityOptions{AppArmor: "unconfined"}},
		{opts: []string{"label=disable", "label:type:svirt_t", "disable"}, want: SecurityOptions{}},
		{opts: []string{"systempaths=unconfined"}, want: SecurityOptions{UnconfinedSystemPaths: true}},
		{opts: []string{"writable-cgroups=true"}, want: SecurityOptions{WritableCgroups: &yes}},
		{opts: []string{"writable-cgroups=false"}, want: SecurityOptions{WritableCgroups: &no}},
		{opts: []string{"no-new-privileges=maybe"}, wantErr: true},
		{opts: []string{"seccomp="}, wantErr: true},
		{opts: []string{"seccomp"}, wantErr: true},
		{opts: []string{"systempaths=confined"}, wantErr: true},
		{opts: []string{"foo=bar"}, wantErr: true},
		{opts: []string{"=bar"}, wantErr: true},
		{opts: []string{"bogus"}, wantErr: true},
	} {
		got, err := ParseSecurityOpts(tc.opts)
		if tc.wantErr {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("ParseSecurityOpts(%q) err = %v, want invalid argument", tc.opts, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSecurityOpts(%q): %v", tc.opts, err)
			continue
		}
		if got.NoNewPrivileges != tc.want.NoNewPrivileges || got.Seccomp != tc.want.Seccomp ||
			got.AppArmor != tc.want.AppArmor || got.UnconfinedSystemPaths != tc.want.UnconfinedSystemPaths ||
			(got.WritableCgroups == nil) != (tc.want.WritableCgroups == nil) ||
			(got.WritableCgroups != nil && *got.WritableCgroups != *tc.want.WritableCgroups) {
			t.Errorf("ParseSecurityOpts(%q) = %+v, want %+v", tc.opts, got, tc.want)
		}
	}
}

const customProfile = `{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]
}`

func TestBuildSeccomp(t *testing.T) {
	profileFile := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(profileFile, []byte(customProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	isCustom := func(sc *specs.LinuxSeccomp) bool {
		return sc != nil && sc.DefaultAction == specs.ActAllow && len(sc.Syscalls) == 1 &&
			slices.Equal(sc.Syscalls[0].Names, []string{"chmod", "fchmodat"})
	}
	isDefault := func(sc *specs.LinuxSeccomp) bool {
		return sc != nil && sc.DefaultAction == specs.ActErrno && len(sc.Syscalls) > 10
	}
	for _, tc := range []struct {
		name       string
		opts       []string
		privileged bool
		check      func(*specs.LinuxSeccomp) bool
		wantErr    bool
	}{
		{name: "default", check: isDefault},
		{name: "builtin", opts: []string{"seccomp=builtin"}, check: isDefault},
		{name: "unconfined", opts: []string{"seccomp=unconfined"}, check: func(sc *specs.LinuxSeccomp) bool { return sc == nil }},
		{name: "privileged", privileged: true, check: func(sc *specs.LinuxSeccomp) bool { return sc == nil }},
		{name: "custom JSON as the docker CLI sends it", opts: []string{"seccomp=" + customProfile}, check: isCustom},
		{name: "custom file", opts: []string{"seccomp=" + profileFile}, check: isCustom},
		{name: "missing file", opts: []string{"seccomp=/nonexistent/profile.json"}, wantErr: true},
		{name: "relative path", opts: []string{"seccomp=profile.json"}, wantErr: true},
		{name: "broken JSON", opts: []string{"seccomp={not json"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(t)
			in.HostConfig.SecurityOpt = tc.opts
			in.HostConfig.Privileged = tc.privileged
			s, err := build(context.Background(), in, testHost())
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("err = %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s.Linux.Seccomp) {
				t.Errorf("unexpected seccomp profile: %+v", s.Linux.Seccomp)
			}
		})
	}
}

// TestDefaultSeccompFollowsCapabilities: the default profile allows some syscalls only with
// the matching capability, so it must be computed after capabilities.
func TestDefaultSeccompFollowsCapabilities(t *testing.T) {
	allows := func(s *specs.Spec, name string) bool {
		for _, sc := range s.Linux.Seccomp.Syscalls {
			if sc.Action == specs.ActAllow && slices.Contains(sc.Names, name) {
				return true
			}
		}
		return false
	}
	in := testInput(t)
	if s := mustBuild(t, in); allows(s, "mount") {
		t.Error("mount allowed without CAP_SYS_ADMIN")
	}
	in.HostConfig.CapAdd = []string{"SYS_ADMIN"}
	if s := mustBuild(t, in); !allows(s, "mount") {
		t.Error("mount not allowed with CAP_SYS_ADMIN")
	}
}

func TestBuildNoNewPrivilegesAndAppArmor(t *testing.T) {
	for _, tc := range []struct {
		opts       []string
		privileged bool
		nnp        bool
		apparmor   string
	}{
		{opts: nil},
		{opts: []string{"no-new-privileges"}, nnp: true},
		{opts: []string{"no-new-privileges:true"}, nnp: true},
		{opts: []string{"no-new-privileges=false"}},
		{opts: []string{"apparmor=unconfined"}},
		{opts: []string{"apparmor=my-profile"}, apparmor: "my-profile"},
		{opts: []string{"apparmor=my-profile", "no-new-privileges"}, privileged: true, nnp: true},
	} {
		in := testInput(t)
		in.HostConfig.SecurityOpt = tc.opts
		in.HostConfig.Privileged = tc.privileged
		s := mustBuild(t, in)
		if s.Process.NoNewPrivileges != tc.nnp || s.Process.ApparmorProfile != tc.apparmor {
			t.Errorf("%q: NoNewPrivileges %v apparmor %q", tc.opts, s.Process.NoNewPrivileges, s.Process.ApparmorProfile)
		}
	}
}

func TestBuildMaskedPaths(t *testing.T) {
	for _, tc := range []struct {
		name             string
		opts             []string
		masked, readonly []string
		wantM, wantR     []string
	}{
		{name: "defaults", wantM: defaultMaskedPaths(), wantR: defaultReadonlyPaths()},
		{name: "systempaths unconfined", opts: []string{"systempaths=unconfined"}},
		{name: "HostConfig overrides", masked: []string{"/proc/kcore"}, readonly: []string{}, wantM: []string{"/proc/kcore"}},
	} {
		in := testInput(t)
		in.HostConfig.SecurityOpt = tc.opts
		in.HostConfig.MaskedPaths, in.HostConfig.ReadonlyPaths = tc.masked, tc.readonly
		s := mustBuild(t, in)
		if !slices.Equal(s.Linux.MaskedPaths, tc.wantM) || !slices.Equal(s.Linux.ReadonlyPaths, tc.wantR) {
			t.Errorf("%s: masked %v readonly %v", tc.name, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
		}
	}
}
