package container

import (
	"testing"
	"time"

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

func TestUntilTime(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"1h":                   now.Add(-time.Hour),
		"2024-04-30T10:00:00Z": time.Date(2024, 4, 30, 10, 0, 0, 0, time.UTC),
		"2024-04-30":           time.Date(2024, 4, 30, 0, 0, 0, 0, time.UTC),
		"1714564800":           time.Unix(1714564800, 0),
		"1714564800.5":         time.Unix(1714564800, 5e8),
	} {
		got, err := untilTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("untilTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := untilTime("yesterday", now); err == nil {
		t.Error("untilTime(yesterday) succeeded")
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
