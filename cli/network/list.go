package network

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/stringid"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

const defaultNetworkFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

type listOptions struct {
	quiet   bool
	noTrunc bool
	format  string
	filter  command.FilterOpt
}

func newListCommand(deps *Deps) *cobra.Command {
	opts := listOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display network IDs")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate the output")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	flags.VarP(&opts.filter, "filter", "f", "Provide filter values (e.g. \"driver=bridge\")")
	return cmd
}

// runList prints the networks sorted by name, as docker does.
func runList(ctx context.Context, deps *Deps, opts *listOptions) error {
	res, err := deps.Client.NetworkList(ctx, client.NetworkListOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	nets := slices.Clone(res.Items)
	slices.SortFunc(nets, func(a, b network.Summary) int { return formatter.NaturalCompare(a.Name, b.Name) })
	rows := make([]*networkRow, len(nets))
	for i, n := range nets {
		rows[i] = &networkRow{n: n, trunc: !opts.noTrunc}
	}
	return formatter.Write(deps.Out, formatter.ListFormat(opts.format, opts.quiet, defaultNetworkFormat, "{{.ID}}"), networkHeader, rows)
}

var networkHeader = formatter.Header{
	"ID":        "NETWORK ID",
	"Name":      "NAME",
	"Driver":    "DRIVER",
	"Scope":     "SCOPE",
	"IPv4":      "IPV4",
	"IPv6":      "IPV6",
	"Internal":  "INTERNAL",
	"Labels":    "LABELS",
	"CreatedAt": "CREATED AT",
}

// networkRow is what ls templates see: {{.ID}}, {{.Name}} and so on.
type networkRow struct {
	n     network.Summary
	trunc bool
}

// ID is the network ID, 12 characters unless --no-trunc.
func (r *networkRow) ID() string {
	if r.trunc {
		return stringid.TruncateID(r.n.ID)
	}
	return r.n.ID
}

// Name is the network name.
func (r *networkRow) Name() string { return r.n.Name }

// Driver is the network driver, e.g. "bridge".
func (r *networkRow) Driver() string { return r.n.Driver }

// Scope is "local", "global" or "swarm".
func (r *networkRow) Scope() string { return r.n.Scope }

// IPv4 says whether IPv4 addresses are assigned.
func (r *networkRow) IPv4() string { return strconv.FormatBool(r.n.EnableIPv4) }

// IPv6 says whether IPv6 addresses are assigned.
func (r *networkRow) IPv6() string { return strconv.FormatBool(r.n.EnableIPv6) }

// Internal says whether the network has no outside access.
func (r *networkRow) Internal() string { return strconv.FormatBool(r.n.Internal) }

// Labels lists the labels as sorted key=value pairs.
func (r *networkRow) Labels() string {
	labels := make([]string, 0, len(r.n.Labels))
	for k, v := range r.n.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return strings.Join(labels, ",")
}

// Label returns the value of one label.
func (r *networkRow) Label(name string) string { return r.n.Labels[name] }

// CreatedAt is the creation time.
func (r *networkRow) CreatedAt() string { return r.n.Created.String() }

// MarshalJSON renders the row for --format json, with docker's fields.
func (r *networkRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"CreatedAt": r.CreatedAt(),
		"Driver":    r.Driver(),
		"ID":        r.ID(),
		"IPv4":      r.IPv4(),
		"IPv6":      r.IPv6(),
		"Internal":  r.Internal(),
		"Labels":    r.Labels(),
		"Name":      r.Name(),
		"Scope":     r.Scope(),
	})
}
