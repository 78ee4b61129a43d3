package image

import (
	"testing"
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
