package spec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestDefaultRlimits(t *testing.T) {
	got := DefaultRlimits()
	for _, tc := range []struct {
		name string
		res  int
	}{{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE}, {"RLIMIT_NPROC", unix.RLIMIT_NPROC}} {
		var l unix.Rlimit
		if err := unix.Getrlimit(tc.res, &l); err != nil {
			t.Fatal(err)
		}
		want := specs.POSIXRlimit{Type: tc.name, Soft: l.Cur, Hard: l.Max}
		if !slices.Contains(got, want) {
			t.Errorf("DefaultRlimits() = %+v, want it to contain the daemon's own %+v", got, want)
		}
	}
}

func TestRlimits(t *testing.T) {
	h := testHost()
	nofile := func(soft, hard uint64) specs.POSIXRlimit {
		return specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: soft, Hard: hard}
	}
	nproc := h.rlimits[1]
	for _, tc := range []struct {
		name       string
		ulimits    []*container.Ulimit
		canRaise   bool
		want       []specs.POSIXRlimit
		wantErrSub string
	}{
		{name: "defaults", want: h.rlimits},
		{name: "nofile overrides the default", ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
			want: []specs.POSIXRlimit{nofile(1024, 2048), nproc}},
		{name: "new limit appended", ulimits: []*container.Ulimit{{Name: "core", Soft: 0, Hard: -1}},
			want: append(slices.Clone(h.rlimits), specs.POSIXRlimit{Type: "RLIMIT_CORE", Soft: 0, Hard: unix.RLIM_INFINITY})},
		{name: "above the daemon's hard limit", ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1048576, Hard: 1048576}},
			wantErrSub: "RLIMIT_NOFILE"},
		{name: "above the hard limit with CAP_SYS_RESOURCE", canRaise: true,
			ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1048576, Hard: 1048576}},
			want:    []specs.POSIXRlimit{nofile(1048576, 1048576), nproc}},
		{name: "soft above hard", ulimits: []*container.Ulimit{{Name: "nofile", Soft: 2048, Hard: 1024}}, wantErrSub: "soft"},
		{name: "unknown name", ulimits: []*container.Ulimit{{Name: "bogus", Soft: 1, Hard: 1}}, wantErrSub: "bogus"},
		{name: "negative", ulimits: []*container.Ulimit{{Name: "nofile", Soft: -5, Hard: 10}}, wantErrSub: "nofile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hh := h
			hh.canRaiseRlimits = tc.canRaise
			got, err := rlimits(h.rlimits, tc.ulimits, hh)
			if tc.wantErrSub != "" {
				if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.wantErrSub) {
					t.Fatalf("err = %v, want invalid argument naming %s", err, tc.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("rlimits = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBuildRlimitsFromInput(t *testing.T) {
	in := testInput(t)
	in.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}}
	in.HostConfig.Ulimits = []*container.Ulimit{{Name: "nproc", Soft: 50, Hard: 60}}
	s := mustBuild(t, in)
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}, {Type: "RLIMIT_NPROC", Soft: 50, Hard: 60}}
	if !slices.Equal(s.Process.Rlimits, want) {
		t.Errorf("rlimits = %+v, want %+v", s.Process.Rlimits, want)
	}
}
