package container

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

var errNotImplemented = errors.New("not implemented by the fake client")

// fakeClient implements APIClient with one function field per call; a
// call whose field is nil fails the way an unexpected request would.
type fakeClient struct {
	// APIClient is nil: methods a test does not fake panic when called,
	// and new methods of the interface need no stub here.
	APIClient
	createFunc  func(client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	attachFunc  func(string, client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	startFunc   func(string, client.ContainerStartOptions) (client.ContainerStartResult, error)
	waitFunc    func(string, client.ContainerWaitOptions) client.ContainerWaitResult
	killFunc    func(string, client.ContainerKillOptions) (client.ContainerKillResult, error)
	stopFunc    func(string, client.ContainerStopOptions) (client.ContainerStopResult, error)
	restartFunc func(string, client.ContainerRestartOptions) (client.ContainerRestartResult, error)
	removeFunc  func(string, client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	pauseFunc   func(string) error
	unpauseFunc func(string) error
	renameFunc  func(string, client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	listFunc    func(client.ContainerListOptions) (client.ContainerListResult, error)
	inspectFunc func(string, client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	logsFunc    func(string, client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	pruneFunc   func(client.ContainerPruneOptions) (client.ContainerPruneResult, error)
	pullFunc    func(string, client.ImagePullOptions) (client.ImagePullResponse, error)
}

func (f *fakeClient) ContainerCreate(_ context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	if f.createFunc == nil {
		return client.ContainerCreateResult{}, errNotImplemented
	}
	return f.createFunc(o)
}

func (f *fakeClient) ContainerAttach(_ context.Context, id string, o client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	if f.attachFunc == nil {
		return client.ContainerAttachResult{}, errNotImplemented
	}
	return f.attachFunc(id, o)
}

func (f *fakeClient) ContainerStart(_ context.Context, id string, o client.ContainerStartOptions) (client.ContainerStartResult, error) {
	if f.startFunc == nil {
		return client.ContainerStartResult{}, errNotImplemented
	}
	return f.startFunc(id, o)
}

func (f *fakeClient) ContainerWait(_ context.Context, id string, o client.ContainerWaitOptions) client.ContainerWaitResult {
	if f.waitFunc == nil {
		errC := make(chan error, 1)
		errC <- errNotImplemented
		return client.ContainerWaitResult{Error: errC}
	}
	return f.waitFunc(id, o)
}

func (f *fakeClient) ContainerKill(_ context.Context, id string, o client.ContainerKillOptions) (client.ContainerKillResult, error) {
	if f.killFunc == nil {
		return client.ContainerKillResult{}, errNotImplemented
	}
	return f.killFunc(id, o)
}

func (f *fakeClient) ContainerStop(_ context.Context, id string, o client.ContainerStopOptions) (client.ContainerStopResult, error) {
	if f.stopFunc == nil {
		return client.ContainerStopResult{}, errNotImplemented
	}
	return f.stopFunc(id, o)
}

func (f *fakeClient) ContainerRestart(_ context.Context, id string, o client.ContainerRestartOptions) (client.ContainerRestartResult, error) {
	if f.restartFunc == nil {
		return client.ContainerRestartResult{}, errNotImplemented
	}
	return f.restartFunc(id, o)
}

func (f *fakeClient) ContainerRemove(_ context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	if f.removeFunc == nil {
		return client.ContainerRemoveResult{}, errNotImplemented
	}
	return f.removeFunc(id, o)
}

func (f *fakeClient) ContainerPause(_ context.Context, id string, _ client.ContainerPauseOptions) (client.ContainerPauseResult, error) {
	if f.pauseFunc == nil {
		return client.ContainerPauseResult{}, errNotImplemented
	}
	return client.ContainerPauseResult{}, f.pauseFunc(id)
}

func (f *fakeClient) ContainerUnpause(_ context.Context, id string, _ client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error) {
	if f.unpauseFunc == nil {
		return client.ContainerUnpauseResult{}, errNotImplemented
	}
	return client.ContainerUnpauseResult{}, f.unpauseFunc(id)
}

func (f *fakeClient) ContainerRename(_ context.Context, id string, o client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	if f.renameFunc == nil {
		return client.ContainerRenameResult{}, errNotImplemented
	}
	return f.renameFunc(id, o)
}

func (f *fakeClient) ContainerList(_ context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	if f.listFunc == nil {
		return client.ContainerListResult{}, errNotImplemented
	}
	return f.listFunc(o)
}

func (f *fakeClient) ContainerInspect(_ context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	if f.inspectFunc == nil {
		return client.ContainerInspectResult{}, errNotImplemented
	}
	return f.inspectFunc(id, o)
}

func (f *fakeClient) ContainerLogs(_ context.Context, id string, o client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	if f.logsFunc == nil {
		return nil, errNotImplemented
	}
	return f.logsFunc(id, o)
}

func (f *fakeClient) ContainerPrune(_ context.Context, o client.ContainerPruneOptions) (client.ContainerPruneResult, error) {
	if f.pruneFunc == nil {
		return client.ContainerPruneResult{}, errNotImplemented
	}
	return f.pruneFunc(o)
}

func (f *fakeClient) ImagePull(_ context.Context, ref string, o client.ImagePullOptions) (client.ImagePullResponse, error) {
	if f.pullFunc == nil {
		return nil, errNotImplemented
	}
	return f.pullFunc(ref, o)
}

// messageStream is a canned pull response: the daemon's JSON messages.
type messageStream struct{ io.Reader }

func newMessageStream(lines ...string) messageStream {
	return messageStream{strings.NewReader(strings.Join(lines, "\n") + "\n")}
}

func (messageStream) Close() error { return nil }

func (messageStream) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	panic("the commands draw the stream themselves")
}

func (messageStream) Wait(context.Context) error {
	panic("the commands draw the stream themselves")
}

// testDeps returns deps around c whose output the test can read.
func testDeps(c APIClient, stdin string) (*Deps, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Deps{
		Streams:   command.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut},
		Client:    c,
		ConfigDir: "/nonexistent/pouch-config",
	}, &out, &errOut
}

// execute runs a command built by newCmd with args, as cobra would.
func execute(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetErr(new(bytes.Buffer))
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	return cmd.ExecuteContext(context.Background())
}

// exitCode returns the exit code err asks for: a StatusError's code, or 1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var se command.StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 1
}
