package volume

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
	createFunc  func(client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	listFunc    func(client.VolumeListOptions) (client.VolumeListResult, error)
	inspectFunc func(string) (client.VolumeInspectResult, error)
	removeFunc  func(string, client.VolumeRemoveOptions) error
	pruneFunc   func(client.VolumePruneOptions) (client.VolumePruneResult, error)
}

func (f *fakeClient) VolumeCreate(_ context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	if f.createFunc == nil {
		return client.VolumeCreateResult{}, errNotImplemented
	}
	return f.createFunc(o)
}

func (f *fakeClient) VolumeList(_ context.Context, o client.VolumeListOptions) (client.VolumeListResult, error) {
	if f.listFunc == nil {
		return client.VolumeListResult{}, errNotImplemented
	}
	return f.listFunc(o)
}

func (f *fakeClient) VolumeInspect(_ context.Context, name string, _ client.VolumeInspectOptions) (client.VolumeInspectResult, error) {
	if f.inspectFunc == nil {
		return client.VolumeInspectResult{}, errNotImplemented
	}
	return f.inspectFunc(name)
}

func (f *fakeClient) VolumeRemove(_ context.Context, name string, o client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	if f.removeFunc == nil {
		return client.VolumeRemoveResult{}, errNotImplemented
	}
	return client.VolumeRemoveResult{}, f.removeFunc(name, o)
}

func (f *fakeClient) VolumePrune(_ context.Context, o client.VolumePruneOptions) (client.VolumePruneResult, error) {
	if f.pruneFunc == nil {
		return client.VolumePruneResult{}, errNotImplemented
	}
	return f.pruneFunc(o)
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
