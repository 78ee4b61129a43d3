// Package registry implements the registry commands: login and logout.
// Credentials are checked by the daemon (POST /auth) and stored in the
// command line's config file (package config).
package registry

import (
	"context"

	"github.com/moby/moby/client"
	"golang.org/x/term"

	"github.com/pouchcontainer/pouch/cli/command"
)

// APIClient is the part of the Engine API the registry commands use.
type APIClient interface {
	RegistryLogin(ctx context.Context, options client.RegistryLoginOptions) (client.RegistryLoginResult, error)
}

// Deps is what the registry commands need from their caller: the streams,
// an API client and the directory of the config file. The root command
// fills Client and ConfigDir in once the global flags are parsed.
type Deps struct {
	command.Streams
	Client    APIClient
	ConfigDir string

	// readPassword replaces reading a password from a terminal In, for
	// tests; nil uses the terminal when In is one.
	readPassword func() (string, error)
}

// passwordReader returns how to read a password without echoing it, or
// nil when In is not a terminal (no prompt is possible).
func (d *Deps) passwordReader() func() (string, error) {
	if d.readPassword != nil {
		return d.readPassword
	}
	f, ok := d.In.(interface{ Fd() uintptr })
	if !ok || !command.IsTerminal(d.In) {
		return nil
	}
	return func() (string, error) {
		b, err := term.ReadPassword(int(f.Fd()))
		return string(b), err
	}
}
