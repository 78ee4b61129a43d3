package volume

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

const defaultVolumeFormat = "table {{.Driver}}\t{{.Name}}"

type listOptions struct {
	quiet  bool
	format string
	filter command.FilterOpt
}

func newListCommand(deps *Deps) *cobra.Command {
	opts := listOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display volume names")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	flags.VarP(&opts.filter, "filter", "f", "Provide filter values (e.g. \"dangling=true\")")
	return cmd
}

// runList prints the volumes sorted by name, as docker does.
func runList(ctx context.Context, deps *Deps, opts *listOptions) error {
	res, err := deps.Client.VolumeList(ctx, client.VolumeListOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	vols := slices.Clone(res.Items)
	slices.SortFunc(vols, func(a, b volume.Volume) int { return formatter.NaturalCompare(a.Name, b.Name) })
	rows := make([]*volumeRow, len(vols))
	for i := range vols {
		rows[i] = &volumeRow{v: vols[i]}
	}
	return formatter.Write(deps.Out, formatter.ListFormat(opts.format, opts.quiet, defaultVolumeFormat, "{{.Name}}"), volumeHeader, rows)
}

var volumeHeader = formatter.Header{
	"Name":         "VOLUME NAME",
	"Group":        "GROUP",
	"Driver":       "DRIVER",
	"Scope":        "SCOPE",
	"Availability": "AVAILABILITY",
	"Mountpoint":   "MOUNTPOINT",
	"Labels":       "LABELS",
	"Links":        "LINKS",
	"Size":         "SIZE",
	"Status":       "STATUS",
}

// volumeRow is what ls templates see: {{.Name}}, {{.Driver}} and so on.
type volumeRow struct {
	v volume.Volume
}

// Name is the volume name.
func (r *volumeRow) Name() string { return r.v.Name }

// Driver is the volume driver, "local".
func (r *volumeRow) Driver() string { return r.v.Driver }

// Scope is "local".
func (r *volumeRow) Scope() string { return r.v.Scope }

// Mountpoint is where the volume's data is on the host.
func (r *volumeRow) Mountpoint() string { return r.v.Mountpoint }

// Labels lists the labels as sorted key=value pairs.
func (r *volumeRow) Labels() string {
	labels := make([]string, 0, len(r.v.Labels))
	for k, v := range r.v.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return strings.Join(labels, ",")
}

// Label returns the value of one label.
func (r *volumeRow) Label(name string) string { return r.v.Labels[name] }

// Links is the number of containers using the volume, when the daemon
// tells (system df), else N/A.
func (r *volumeRow) Links() string {
	if r.v.UsageData == nil {
		return "N/A"
	}
	return strconv.FormatInt(r.v.UsageData.RefCount, 10)
}

// Size is the disk space the volume takes, when the daemon tells, else N/A.
func (r *volumeRow) Size() string {
	if r.v.UsageData == nil {
		return "N/A"
	}
	return units.HumanSize(float64(r.v.UsageData.Size))
}

// Group is of cluster volumes, which Pouch has not: N/A.
func (r *volumeRow) Group() string { return "N/A" }

// Availability is of cluster volumes: N/A.
func (r *volumeRow) Availability() string { return "N/A" }

// Status is of cluster volumes: N/A.
func (r *volumeRow) Status() string { return "N/A" }

// MarshalJSON renders the row for --format json, with docker's fields.
func (r *volumeRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Availability": r.Availability(),
		"Driver":       r.Driver(),
		"Group":        r.Group(),
		"Labels":       r.Labels(),
		"Links":        r.Links(),
		"Mountpoint":   r.Mountpoint(),
		"Name":         r.Name(),
		"Scope":        r.Scope(),
		"Size":         r.Size(),
		"Status":       r.Status(),
	})
}
