package image

import (
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestMatchReference(t *testing.T) {
	tags := []string{"busybox:latest", "busybox:1.36", "localhost:5000/app/web:v1", "quay.io/x/y:latest"}
	for _, c := range []struct {
		patterns []string
		want     []string
	}{
		{[]string{"busybox"}, []string{"busybox:latest", "busybox:1.36"}},
		{[]string{"busybox:1.36"}, []string{"busybox:1.36"}},
		{[]string{"busy*"}, []string{"busybox:latest", "busybox:1.36"}},
		{[]string{"*:latest"}, []string{"busybox:latest"}},
		{[]string{"localhost:5000/app/web"}, []string{"localhost:5000/app/web:v1"}},
		{[]string{"localhost:5000/*/*"}, []string{"localhost:5000/app/web:v1"}},
		{[]string{"*/*/*:latest"}, []string{"quay.io/x/y:latest"}},
		{[]string{"quay.io/x/*:latest", "busybox:1.36"}, []string{"busybox:1.36", "quay.io/x/y:latest"}},
		{[]string{"nomatch"}, nil},
	} {
		got := matchReference(tags, c.patterns)
		if len(got) != len(c.want) {
			t.Errorf("matchReference(%q) = %q, want %q", c.patterns, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("matchReference(%q) = %q, want %q", c.patterns, got, c.want)
			}
		}
	}
}

func TestParseUntil(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 500000000),
		"2020-01-02T03:04:05Z": time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		"2020-01-02":           time.Date(2020, 1, 2, 0, 0, 0, 0, time.Local),
	} {
		got, err := parseUntil(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseUntil(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "12.x", "-"} {
		if _, err := parseUntil(bad, now); !errdefs.IsInvalidArgument(err) {
			t.Errorf("parseUntil(%q) error %v, want invalid argument", bad, err)
		}
	}
}

func TestMatchAnyLabel(t *testing.T) {
	labels := map[string]string{"a": "1", "b": ""}
	for _, c := range []struct {
		filters []string
		want    bool
	}{
		{[]string{"a"}, true},
		{[]string{"a=1"}, true},
		{[]string{"a=2"}, false},
		{[]string{"c", "b"}, true},
		{[]string{"b="}, true},
		{nil, false},
	} {
		if got := matchAnyLabel(c.filters, labels); got != c.want {
			t.Errorf("matchAnyLabel(%q) = %v, want %v", c.filters, got, c.want)
		}
	}
}
