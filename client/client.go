// Package client connects Pouch's tools to pouchd. It is a thin layer over
// the Docker Engine API client (github.com/moby/moby/client): pouchd
// serves that API, so every call, option and result type is moby's. This
// package only knows where pouchd listens and how to explain a failure to
// reach it.
package client

import (
	"errors"
	"fmt"
	"net"
	"os"

	mobyclient "github.com/moby/moby/client"
)

const (
	// DefaultHost is where pouchd listens unless told otherwise.
	DefaultHost = "unix:///var/run/pouchd.sock"
	// EnvHost names the environment variable that overrides DefaultHost.
	EnvHost = "POUCH_HOST"
)

// Options configure New.
type Options struct {
	// Host is the daemon address (unix:///path or tcp://host:port). Empty
	// means $POUCH_HOST, then DefaultHost.
	Host string
	// UserAgent is sent with every request; empty keeps moby's default.
	UserAgent string
}

// Client is a Docker Engine API client bound to pouchd. All API calls are
// moby's; see github.com/moby/moby/client.
type Client struct {
	*mobyclient.Client
}

// New returns a client for pouchd. It does not connect: the first request
// does, negotiating the API version down to what the daemon advertises.
func New(opts Options) (*Client, error) {
	host := ResolveHost(opts.Host)
	mobyOpts := []mobyclient.Opt{
		mobyclient.WithHost(host),
		mobyclient.WithAPIVersionNegotiation(),
	}
	if opts.UserAgent != "" {
		mobyOpts = append(mobyOpts, mobyclient.WithUserAgent(opts.UserAgent))
	}
	c, err := mobyclient.New(mobyOpts...)
	if err != nil {
		return nil, fmt.Errorf("invalid pouchd host %q: %w", host, err)
	}
	return &Client{Client: c}, nil
}

// ResolveHost picks the daemon address: the given one, else $POUCH_HOST,
// else DefaultHost.
func ResolveHost(host string) string {
	if host != "" {
		return host
	}
	if env := os.Getenv(EnvHost); env != "" {
		return env
	}
	return DefaultHost
}

// ConnectError says pouchd could not be reached at Host.
type ConnectError struct {
	Host string
	Err  error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect to pouchd at %s: is it running?", e.Host)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// ExplainError turns a failure to reach the daemon into a *ConnectError
// naming this client's host; other errors are returned unchanged.
func (c *Client) ExplainError(err error) error {
	if err == nil {
		return nil
	}
	var already *ConnectError
	if errors.As(err, &already) {
		return err
	}
	var opErr *net.OpError
	if mobyclient.IsErrConnectionFailed(err) || (errors.As(err, &opErr) && opErr.Op == "dial") {
		return &ConnectError{Host: c.DaemonHost(), Err: err}
	}
	return err
}
