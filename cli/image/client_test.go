package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

var errNotImplemented = errors.New("not implemented by the fake client")

// fakeClient implements APIClient with one function field per call.
type fakeClient struct {
	// APIClient is nil: methods a test does not fake panic when called.
	APIClient
	listFunc    func(client.ImageListOptions) (client.ImageListResult, error)
	removeFunc  func(string, client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	pruneFunc   func(client.ImagePruneOptions) (client.ImagePruneResult, error)
	tagFunc     func(client.ImageTagOptions) (client.ImageTagResult, error)
	historyFunc func(string) (client.ImageHistoryResult, error)
	loadFunc    func(io.Reader, []client.ImageLoadOption) (client.ImageLoadResult, error)
	saveFunc    func([]string) (client.ImageSaveResult, error)
	pullFunc    func(string, client.ImagePullOptions) (client.ImagePullResponse, error)
	pushFunc    func(string, client.ImagePushOptions) (client.ImagePushResponse, error)
}

func (f *fakeClient) ImageList(_ context.Context, o client.ImageListOptions) (client.ImageListResult, error) {
	if f.listFunc == nil {
		return client.ImageListResult{}, errNotImplemented
	}
	return f.listFunc(o)
}

// ImageInspect cannot fill the raw-response buffer the commands ask for
// (the option is opaque), so inspect is tested against a fake HTTP daemon.
func (f *fakeClient) ImageInspect(context.Context, string, ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return client.ImageInspectResult{}, errNotImplemented
}

func (f *fakeClient) ImageRemove(_ context.Context, name string, o client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	if f.removeFunc == nil {
		return client.ImageRemoveResult{}, errNotImplemented
	}
	return f.removeFunc(name, o)
}

func (f *fakeClient) ImagePrune(_ context.Context, o client.ImagePruneOptions) (client.ImagePruneResult, error) {
	if f.pruneFunc == nil {
		return client.ImagePruneResult{}, errNotImplemented
	}
	return f.pruneFunc(o)
}

func (f *fakeClient) ImageTag(_ context.Context, o client.ImageTagOptions) (client.ImageTagResult, error) {
	if f.tagFunc == nil {
		return client.ImageTagResult{}, errNotImplemented
	}
	return f.tagFunc(o)
}

func (f *fakeClient) ImageHistory(_ context.Context, name string, _ ...client.ImageHistoryOption) (client.ImageHistoryResult, error) {
	if f.historyFunc == nil {
		return client.ImageHistoryResult{}, errNotImplemented
	}
	return f.historyFunc(name)
}

func (f *fakeClient) ImageLoad(_ context.Context, in io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	if f.loadFunc == nil {
		return nil, errNotImplemented
	}
	return f.loadFunc(in, opts)
}

func (f *fakeClient) ImageSave(_ context.Context, names []string, _ ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	if f.saveFunc == nil {
		return nil, errNotImplemented
	}
	return f.saveFunc(names)
}

func (f *fakeClient) ImagePull(_ context.Context, ref string, o client.ImagePullOptions) (client.ImagePullResponse, error) {
	if f.pullFunc == nil {
		return nil, errNotImplemented
	}
	return f.pullFunc(ref, o)
}

func (f *fakeClient) ImagePush(_ context.Context, ref string, o client.ImagePushOptions) (client.ImagePushResponse, error) {
	if f.pushFunc == nil {
		return nil, errNotImplemented
	}
	return f.pushFunc(ref, o)
}

// messageStream is a canned pull or push response: the daemon's JSON
// messages, one a line.
type messageStream struct {
	io.Reader
	closed bool
}

func newMessageStream(lines ...string) *messageStream {
	return &messageStream{Reader: strings.NewReader(strings.Join(lines, "\n") + "\n")}
}

func (s *messageStream) Close() error { s.closed = true; return nil }

func (s *messageStream) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(yield func(jsonstream.Message, error) bool) {
		dec := json.NewDecoder(s)
		for {
			var m jsonstream.Message
			if err := dec.Decode(&m); err == io.EOF {
				return
			} else if !yield(m, err) || err != nil {
				return
			}
		}
	}
}

func (s *messageStream) Wait(ctx context.Context) error {
	for m, err := range s.JSONMessages(ctx) {
		if err != nil {
			return err
		}
		if m.Error != nil {
			return m.Error
		}
	}
	return nil
}

func testDeps(c APIClient, stdin string) (*Deps, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Deps{
		Streams:   command.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut},
		Client:    c,
		ConfigDir: "/nonexistent/pouch-config",
	}, &out, &errOut
}

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

type errorString string

func (e errorString) Error() string { return string(e) }
