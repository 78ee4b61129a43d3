package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/config"
)

type loginOptions struct {
	server        string
	user          string
	password      string
	passwordStdin bool
}

func newLoginCommand(deps *Deps) *cobra.Command {
	var opts loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Long:  "Log in to a registry.\nDefaults to Docker Hub if no server is specified.",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.server = args[0]
			}
			return runLogin(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.user, "username", "u", "", "Username")
	flags.StringVarP(&opts.password, "password", "p", "", "Password")
	flags.BoolVar(&opts.passwordStdin, "password-stdin", false, "Take the password from stdin")
	return cmd
}

// runLogin checks credentials with the daemon (POST /auth) and stores them
// in the config file. Without -u and -p it first tries the stored ones,
// then prompts, as docker does.
func runLogin(ctx context.Context, deps *Deps, opts *loginOptions) error {
	if err := readPasswordOptions(deps, opts); err != nil {
		return err
	}
	server := config.ServerKey(opts.server)
	cfg, err := config.Load(deps.ConfigDir)
	if err != nil {
		return err
	}

	defaultUser := ""
	if opts.user == "" && opts.password == "" {
		if stored, ok := cfg.Credentials(server); ok && stored.Username != "" && (stored.Password != "" || stored.IdentityToken != "") {
			defaultUser = stored.Username
			status, err := loginWithStoredCredentials(ctx, deps, stored)
			if err == nil {
				return saveAndReport(deps, cfg, stored, status)
			}
			if !cerrdefs.IsUnauthorized(err) {
				return err
			}
		}
	}

	auth, err := promptCredentials(deps, opts.user, opts.password, defaultUser, server)
	if err != nil {
		return err
	}
	res, err := deps.Client.RegistryLogin(ctx, client.RegistryLoginOptions{
		Username:      auth.Username,
		Password:      auth.Password,
		ServerAddress: auth.ServerAddress,
	})
	if err != nil {
		return err
	}
	if res.Auth.IdentityToken != "" {
		auth.IdentityToken = res.Auth.IdentityToken
	}
	return saveAndReport(deps, cfg, auth, res.Auth.Status)
}

// readPasswordOptions checks -p and --password-stdin and reads the
// password from stdin for the latter.
func readPasswordOptions(deps *Deps, opts *loginOptions) error {
	if opts.password != "" {
		fmt.Fprintln(deps.Err, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if opts.passwordStdin {
			return errors.New("--password and --password-stdin are mutually exclusive")
		}
	}
	if !opts.passwordStdin {
		return nil
	}
	if opts.user == "" {
		return errors.New("Must provide --username with --password-stdin")
	}
	b, err := io.ReadAll(deps.In)
	if err != nil {
		return err
	}
	opts.password = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return nil
}

// loginWithStoredCredentials checks the stored credentials again; when
// the registry rejects them the user is told before being prompted.
func loginWithStoredCredentials(ctx context.Context, deps *Deps, auth registry.AuthConfig) (string, error) {
	fmt.Fprintf(deps.Out, "Authenticating with existing credentials... [Username: %s]\n", auth.Username)
	fmt.Fprintf(deps.Out, "To login with a different account, run 'pouch logout' followed by 'pouch login'\n\n")
	res, err := deps.Client.RegistryLogin(ctx, client.RegistryLoginOptions{
		Username:      auth.Username,
		Password:      auth.Password,
		ServerAddress: auth.ServerAddress,
		IdentityToken: auth.IdentityToken,
	})
	if err != nil {
		if cerrdefs.IsUnauthorized(err) {
			fmt.Fprintln(deps.Err, "Stored credentials invalid or expired")
		}
		return "", err
	}
	return res.Auth.Status, nil
}

// promptCredentials completes the username and password from the
// terminal: the username on a line (empty keeps defaultUser), the password
// without echo.
func promptCredentials(deps *Deps, user, password, defaultUser, server string) (registry.AuthConfig, error) {
	readPassword := deps.passwordReader()
	if (user == "" || password == "") && readPassword == nil {
		return registry.AuthConfig{}, errors.New("Error: Cannot perform an interactive login from a non TTY device")
	}
	user = strings.TrimSpace(user)
	if user == "" {
		if defaultUser != "" {
			fmt.Fprintf(deps.Out, "Username (%s): ", defaultUser)
		} else {
			fmt.Fprint(deps.Out, "Username: ")
		}
		line, err := bufio.NewReader(deps.In).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			fmt.Fprintln(deps.Out)
			return registry.AuthConfig{}, errors.New("Error: Non-null Username Required")
		}
		user = strings.TrimSpace(line)
		if user == "" {
			user = defaultUser
		}
		if user == "" {
			return registry.AuthConfig{}, errors.New("Error: Non-null Username Required")
		}
	}
	if password == "" {
		fmt.Fprint(deps.Out, "Password: ")
		p, err := readPassword()
		fmt.Fprintln(deps.Out)
		if err != nil {
			return registry.AuthConfig{}, fmt.Errorf("reading password: %w", err)
		}
		if p == "" {
			return registry.AuthConfig{}, errors.New("Error: Password Required")
		}
		password = p
	}
	return registry.AuthConfig{Username: user, Password: password, ServerAddress: server}, nil
}

// saveAndReport stores the accepted credentials and prints the daemon's
// status ("Login Succeeded").
func saveAndReport(deps *Deps, cfg *config.File, auth registry.AuthConfig, status string) error {
	cfg.SetCredentials(auth)
	if err := cfg.Save(); err != nil {
		return fmt.Errorf("Error saving credentials: %w", err)
	}
	if status == "" {
		status = "Login Succeeded"
	}
	fmt.Fprintln(deps.Out, status)
	return nil
}
