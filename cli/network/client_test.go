package network

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

var errNotImplemented = errors.New("not implemented by the fake client")

// fakeClient implements APIClient with one function field per call; a
// call whose field is nil fails the way an unexpected request would.
type fakeClient struct {
	createFunc     func(string, client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	listFunc       func(client.NetworkListOptions) (client.NetworkListResult, error)
	inspectFunc    func(string, client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	removeFunc     func(string) error
	pruneFunc      func(client.NetworkPruneOptions) (client.NetworkPruneResult, error)
	connectFunc    func(string, client.NetworkConnectOptions) error
	disconnectFunc func(string, client.NetworkDisconnectOptions) error
}

func (f *fakeClient) NetworkCreate(_ context.Context, name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	if f.createFunc == nil {
		return client.NetworkCreateResult{}, errNotImplemented
	}
	return f.createFunc(name, o)
}

func (f *fakeClient) NetworkList(_ context.Context, o client.NetworkListOptions) (client.NetworkListResult, error) {
	if f.listFunc == nil {
		return client.NetworkListResult{}, errNotImplemented
	}
	return f.listFunc(o)
}

func (f *fakeClient) NetworkInspect(_ context.Context, name string, o client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
	if f.inspectFunc == nil {
		return client.NetworkInspectResult{}, errNotImplemented
	}
	return f.inspectFunc(name, o)
}

func (f *fakeClient) NetworkRemove(_ context.Context, name string, _ client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	if f.removeFunc == nil {
		return client.NetworkRemoveResult{}, errNotImplemented
	}
	return client.NetworkRemoveResult{}, f.removeFunc(name)
}

func (f *fakeClient) NetworkPrune(_ context.Context, o client.NetworkPruneOptions) (client.NetworkPruneResult, error) {
	if f.pruneFunc == nil {
		return client.NetworkPruneResult{}, errNotImplemented
	}
	return f.pruneFunc(o)
}

func (f *fakeClient) NetworkConnect(_ context.Context, name string, o client.NetworkConnectOptions) (client.NetworkConnectResult, error) {
	if f.connectFunc == nil {
		return client.NetworkConnectResult{}, errNotImplemented
	}
	return client.NetworkConnectResult{}, f.connectFunc(name, o)
}

func (f *fakeClient) NetworkDisconnect(_ context.Context, name string, o client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error) {
	if f.disconnectFunc == nil {
		return client.NetworkDisconnectResult{}, errNotImplemented
	}
	return client.NetworkDisconnectResult{}, f.disconnectFunc(name, o)
}

// testDeps returns deps around c whose output the test can read.
func testDeps(c APIClient, stdin string) (*Deps, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Deps{
		Streams: command.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut},
		Client:  c,
	}, &out, &errOut
}

// execute runs cmd with args, as cobra would.
func execute(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetErr(new(bytes.Buffer))
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	return cmd.ExecuteContext(context.Background())
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %#v\nwant: %#v", what, got, want)
	}
}
