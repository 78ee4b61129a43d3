package filters

import (
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseBothForms(t *testing.T) {
	for _, raw := range []string{`{"status":{"running":true}}`, `{"status":["running"]}`} {
		a, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Values("status"); len(got) != 1 || got[0] != "running" {
			t.Errorf("%s: got %v", raw, got)
		}
	}
	if _, err := Parse(`{bad`); !errdefs.IsInvalidArgument(err) {
		t.Errorf("want invalid argument, got %v", err)
	}
	a, _ := Parse(`{"nope":["x"]}`)
	if err := a.Validate("status"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("unknown filter accepted: %v", err)
	}
}

func TestMatchLabels(t *testing.T) {
	a := Args{}
	a.Add("label", "app=web")
	a.Add("label", "tier")
	if !a.MatchLabels("label", map[string]string{"app": "web", "tier": "1"}) {
		t.Error("should match")
	}
	if a.MatchLabels("label", map[string]string{"app": "db", "tier": "1"}) {
		t.Error("wrong value matched")
	}
	if a.MatchLabels("label", map[string]string{"app": "web"}) {
		t.Error("missing key matched")
	}
	if !a.Match("name", func(string) bool { return false }) {
		t.Error("absent key must match")
	}
}
