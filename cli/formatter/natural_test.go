package formatter

import (
	"slices"
	"testing"
)

func TestNaturalCompare(t *testing.T) {
	got := []string{"web10", "web2", "Web", "web", "web02", "a1b10", "a1b9", "443/tcp -> x", "80/tcp -> [::]:80", "80/tcp -> 0.0.0.0:80", "9/udp", "", "1", "01"}
	slices.SortFunc(got, NaturalCompare)
	want := []string{"", "1", "01", "9/udp", "80/tcp -> 0.0.0.0:80", "80/tcp -> [::]:80", "443/tcp -> x", "Web", "a1b9", "a1b10", "web", "web2", "web02", "web10"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, s := range want {
		if NaturalCompare(s, s) != 0 {
			t.Errorf("%q must equal itself", s)
		}
	}
}
