package command

import (
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// FilterOpt is a repeatable `--filter name=value` flag collecting API
// filters.
type FilterOpt struct {
	filters client.Filters
}

// NewFilterOpt returns an empty filter flag value.
func NewFilterOpt() FilterOpt {
	return FilterOpt{filters: client.Filters{}}
}

// Set adds one name=value pair. Names are case-insensitive.
func (o *FilterOpt) Set(value string) error {
	name, val, ok := strings.Cut(value, "=")
	name = strings.ToLower(strings.TrimSpace(name))
	if !ok || name == "" {
		return fmt.Errorf("bad format of filter (expected name=value)")
	}
	o.filters.Add(name, strings.TrimSpace(val))
	return nil
}

// String renders the filters for help output.
func (o *FilterOpt) String() string {
	var parts []string
	for name, values := range o.filters {
		for v := range values {
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// Type names the flag value in help output.
func (o *FilterOpt) Type() string { return "filter" }

// Value returns the collected filters.
func (o *FilterOpt) Value() client.Filters { return o.filters }
