package container

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"

	svc "github.com/pouchcontainer/pouch/services/container"
)

func TestCreatedBetween(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := svc.View{ID: "a", Created: t0}
	b := svc.View{ID: "b", Created: t0} // same time: ID breaks the tie
	c := svc.View{ID: "c", Created: t0.Add(time.Second)}
	for _, tc := range []struct {
		v             svc.View
		since, before *svc.View
		want          bool
	}{
		{a, nil, nil, true},
		{b, &a, nil, true},
		{a, &a, nil, false},
		{a, &b, nil, false},
		{a, nil, &b, true},
		{c, nil, &b, false},
		{b, &a, &c, true},
		{c, &a, &c, false},
	} {
		if got := createdBetween(tc.v, tc.since, tc.before); got != tc.want {
			t.Errorf("createdBetween(%s, since %v, before %v) = %v", tc.v.ID, tc.since, tc.before, got)
		}
	}
}

func TestMatchesAnyLabel(t *testing.T) {
	labels := map[string]string{"a": "1", "b": ""}
	for _, tc := range []struct {
		sel  []string
		want bool
	}{
		{nil, false},
		{[]string{"a"}, true},
		{[]string{"a=1"}, true},
		{[]string{"a=2"}, false},
		{[]string{"c", "b"}, true},
		{[]string{"b="}, true},
	} {
		if got := matchesAnyLabel(tc.sel, labels); got != tc.want {
			t.Errorf("matchesAnyLabel(%v) = %v", tc.sel, got)
		}
	}
}

func TestHasPort(t *testing.T) {
	ports := network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("53/udp"): {}}
	for filter, want := range map[string]bool{
		"80": true, "80/tcp": true, "80/udp": false, "53/udp": true, "53": false,
		"70-90": true, "81-90/tcp": false, "50-60/udp": true, "bogus": false,
	} {
		if got := hasPort(filter, ports); got != want {
			t.Errorf("hasPort(%q) = %v, want %v", filter, got, want)
		}
	}
}
