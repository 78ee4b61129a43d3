package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pouchcontainer/pouch/cli/command"
)

type updateOptions struct {
	blkioWeight        uint16
	cpuPeriod          int64
	cpuQuota           int64
	cpuRealtimePeriod  int64
	cpuRealtimeRuntime int64
	cpuShares          int64
	cpus               string
	cpusetCPUs         string
	cpusetMems         string
	memory             string
	memoryReservation  string
	memorySwap         string
	pidsLimit          int64
	restart            string

	pidsLimitSet bool
	changed      int // how many flags were given
	containers   []string
}

func newUpdateCommand(deps *Deps) *cobra.Command {
	var opts updateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.pidsLimitSet = cmd.Flags().Changed("pids-limit")
			opts.changed = 0
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if f.Name != "help" {
					opts.changed++
				}
			})
			return runUpdate(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.Uint16Var(&opts.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)")
	flags.Int64Var(&opts.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	flags.Int64Var(&opts.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	flags.Int64Var(&opts.cpuRealtimePeriod, "cpu-rt-period", 0, "Limit the CPU real-time period in microseconds")
	flags.Int64Var(&opts.cpuRealtimeRuntime, "cpu-rt-runtime", 0, "Limit the CPU real-time runtime in microseconds")
	flags.Int64VarP(&opts.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	flags.StringVar(&opts.cpus, "cpus", "", "Number of CPUs")
	flags.StringVar(&opts.cpusetCPUs, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	flags.StringVar(&opts.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	flags.StringVarP(&opts.memory, "memory", "m", "", "Memory limit")
	flags.StringVar(&opts.memoryReservation, "memory-reservation", "", "Memory soft limit")
	flags.StringVar(&opts.memorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
	flags.Int64Var(&opts.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	flags.StringVar(&opts.restart, "restart", "", "Restart policy to apply when a container exits")
	return cmd
}

// updateConfig turns the flags into the API's request.
func (o *updateOptions) updateConfig() (container.UpdateConfig, error) {
	var u container.UpdateConfig
	r := &u.Resources
	var err error
	if r.Memory, err = parseBytes("--memory", o.memory); err != nil {
		return u, err
	}
	if r.MemoryReservation, err = parseBytes("--memory-reservation", o.memoryReservation); err != nil {
		return u, err
	}
	if o.memorySwap == "-1" {
		r.MemorySwap = -1
	} else if r.MemorySwap, err = parseBytes("--memory-swap", o.memorySwap); err != nil {
		return u, err
	}
	if r.NanoCPUs, err = parseCPUs(o.cpus); err != nil {
		return u, err
	}
	r.BlkioWeight = o.blkioWeight
	r.CPUPeriod, r.CPUQuota = o.cpuPeriod, o.cpuQuota
	r.CPURealtimePeriod, r.CPURealtimeRuntime = o.cpuRealtimePeriod, o.cpuRealtimeRuntime
	r.CPUShares = o.cpuShares
	r.CpusetCpus, r.CpusetMems = o.cpusetCPUs, o.cpusetMems
	if o.pidsLimitSet {
		limit := o.pidsLimit
		r.PidsLimit = &limit
	}
	if o.restart != "" {
		if u.RestartPolicy, err = parseRestartPolicy(o.restart); err != nil {
			return u, err
		}
	}
	return u, nil
}

func runUpdate(ctx context.Context, deps *Deps, opts *updateOptions) error {
	if opts.changed == 0 {
		return errors.New("you must provide one or more flags when using this command")
	}
	u, err := opts.updateConfig()
	if err != nil {
		// As docker, which refuses them while parsing its flags.
		return command.StatusError{Err: err, StatusCode: 125}
	}
	api := deps.Client
	var errs, warnings []string
	for _, name := range opts.containers {
		res, err := api.ContainerUpdate(ctx, name, client.ContainerUpdateOptions{Resources: &u.Resources, RestartPolicy: &u.RestartPolicy})
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(deps.Out, name)
		warnings = append(warnings, res.Warnings...)
	}
	if len(warnings) > 0 {
		fmt.Fprintln(deps.Out, strings.Join(warnings, "\n"))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}
