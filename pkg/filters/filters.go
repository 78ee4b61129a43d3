// Package filters parses the `filters` query parameter of the Docker API.
package filters

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/containerd/errdefs"
)

// Args maps a filter name to its set of values.
type Args map[string]map[string]bool

// Parse reads both wire forms Docker clients send:
// {"status":{"running":true}} and the older {"status":["running"]}.
func Parse(raw string) (Args, error) {
	args := Args{}
	if raw == "" {
		return args, nil
	}
	if err := json.Unmarshal([]byte(raw), (*map[string]map[string]bool)(&args)); err == nil {
		return args, nil
	}
	var old map[string][]string
	if err := json.Unmarshal([]byte(raw), &old); err != nil {
		return nil, fmt.Errorf("invalid filters %q: %w", raw, errdefs.ErrInvalidArgument)
	}
	for k, vs := range old {
		for _, v := range vs {
			args.Add(k, v)
		}
	}
	return args, nil
}

// Add adds a value.
func (a Args) Add(key, value string) {
	if a[key] == nil {
		a[key] = map[string]bool{}
	}
	a[key][value] = true
}

// Values returns the values of key, sorted.
func (a Args) Values(key string) []string {
	var out []string
	for v := range a[key] {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Has reports whether key was given.
func (a Args) Has(key string) bool { return len(a[key]) > 0 }

// Validate refuses filter names outside accepted.
func (a Args) Validate(accepted ...string) error {
	ok := map[string]bool{}
	for _, k := range accepted {
		ok[k] = true
	}
	for k := range a {
		if !ok[k] {
			return fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// Match reports whether any value of key satisfies fn; true when key is absent.
func (a Args) Match(key string, fn func(value string) bool) bool {
	if !a.Has(key) {
		return true
	}
	for v := range a[key] {
		if fn(v) {
			return true
		}
	}
	return false
}

// MatchLabels reports whether labels satisfy every "label" value
// ("key" or "key=value").
func (a Args) MatchLabels(key string, labels map[string]string) bool {
	for v := range a[key] {
		k, want, hasValue := cut(v)
		got, ok := labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
