package system

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"text/tabwriter"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

const defaultVersionTemplate = `Client:
 Version:	{{.Client.Version}}
 API version:	{{.Client.APIVersion}}{{if ne .Client.APIVersion .Client.DefaultAPIVersion}} (downgraded from {{.Client.DefaultAPIVersion}}){{end}}
 Go version:	{{.Client.GoVersion}}
 Git commit:	{{.Client.GitCommit}}
 Built:	{{.Client.BuildTime}}
 OS/Arch:	{{.Client.Os}}/{{.Client.Arch}}
{{- if .Server}}

Server:{{if .Server.Platform.Name}} {{.Server.Platform.Name}}{{end}}
{{- range $c := .Server.Components}}
 {{$c.Name}}:
  Version:	{{$c.Version}}
  {{- if eq $c.Name "Engine"}}
  API version:	{{index $c.Details "ApiVersion"}} (minimum version {{index $c.Details "MinAPIVersion"}})
  Go version:	{{index $c.Details "GoVersion"}}
  Git commit:	{{index $c.Details "GitCommit"}}
  Built:	{{index $c.Details "BuildTime"}}
  OS/Arch:	{{index $c.Details "Os"}}/{{index $c.Details "Arch"}}
  Experimental:	{{index $c.Details "Experimental"}}
  {{- else}}
  {{- range $k, $v := $c.Details}}
  {{$k}}:	{{$v}}
  {{- end}}
  {{- end}}
{{- end}}
{{- end}}
`

type versionOptions struct {
	format string
}

// clientVersion describes the pouch binary for `pouch version`.
type clientVersion struct {
	Version           string
	APIVersion        string
	DefaultAPIVersion string
	GoVersion         string
	GitCommit         string
	BuildTime         string
	Os                string
	Arch              string
}

// versionInfo is what `pouch version --format` templates see.
type versionInfo struct {
	Client clientVersion
	Server *client.ServerVersionResult
}

func newVersionCommand(deps *Deps) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the Pouch version information",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	return cmd
}

// runVersion prints the client's version and the daemon's (GET /version).
// The client part is printed even when the daemon cannot be reached.
func runVersion(ctx context.Context, deps *Deps, opts *versionOptions) error {
	tmpl, err := formatter.ParseTemplate(defaultVersionTemplate)
	if opts.format != "" {
		tmpl, err = formatter.ParseTemplate(opts.format)
	}
	if err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}

	sv, serverErr := deps.Client.ServerVersion(ctx, client.ServerVersionOptions{})
	info := versionInfo{Client: clientVersion{
		Version:           deps.Build.Version,
		APIVersion:        deps.Client.ClientVersion(),
		DefaultAPIVersion: client.MaxAPIVersion,
		GoVersion:         runtime.Version(),
		GitCommit:         deps.Build.GitCommit,
		BuildTime:         deps.Build.BuildTime,
		Os:                runtime.GOOS,
		Arch:              runtime.GOARCH,
	}}
	if serverErr == nil {
		info.Server = &sv
		addEngineComponent(info.Server)
	}

	tw := tabwriter.NewWriter(deps.Out, 20, 1, 1, ' ', 0)
	if err := tmpl.Execute(tw, info); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	if opts.format != "" {
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return serverErr
}

// addEngineComponent describes the engine from the top-level fields when
// the daemon listed no "Engine" component.
func addEngineComponent(sv *client.ServerVersionResult) {
	for _, c := range sv.Components {
		if c.Name == "Engine" {
			return
		}
	}
	sv.Components = append([]system.ComponentVersion{{
		Name:    "Engine",
		Version: sv.Version,
		Details: map[string]string{
			"ApiVersion":    sv.APIVersion,
			"MinAPIVersion": sv.MinAPIVersion,
			"Os":            sv.Os,
			"Arch":          sv.Arch,
			"Experimental":  strconv.FormatBool(sv.Experimental),
		},
	}}, sv.Components...)
}
