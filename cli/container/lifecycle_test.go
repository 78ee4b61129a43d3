package container

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func TestStopPrintsNamesInOrderAndJoinsErrors(t *testing.T) {
	var mu sync.Mutex
	timeouts := map[string]*int{}
	fake := &fakeClient{stopFunc: func(id string, o client.ContainerStopOptions) (client.ContainerStopResult, error) {
		mu.Lock()
		defer mu.Unlock()
		timeouts[id] = o.Timeout
		if id == "ghost" {
			return client.ContainerStopResult{}, errorString("Error response from daemon: No such container: ghost")
		}
		return client.ContainerStopResult{}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newStopCommand(deps), "-t", "3", "a", "ghost", "b")
	assertEqual(t, "stdout", out.String(), "a\nb\n")
	if err == nil || err.Error() != "Error response from daemon: No such container: ghost" {
		t.Errorf("error: %v", err)
	}
	if timeouts["a"] == nil || *timeouts["a"] != 3 {
		t.Errorf("timeout not passed: %v", timeouts["a"])
	}

	deps, _, _ = testDeps(fake, "")
	if err := execute(t, newStopCommand(deps), "a"); err != nil {
		t.Fatal(err)
	}
	if timeouts["a"] != nil {
		t.Errorf("no -t must leave the daemon's default, got %d", *timeouts["a"])
	}
}

func TestSimpleLifecycleCommands(t *testing.T) {
	var got []string
	rec := func(s string) { got = append(got, s) }
	fake := &fakeClient{
		startFunc: func(id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
			rec("start " + id)
			return client.ContainerStartResult{}, nil
		},
		killFunc: func(id string, o client.ContainerKillOptions) (client.ContainerKillResult, error) {
			rec("kill " + id + " " + o.Signal)
			return client.ContainerKillResult{}, nil
		},
		restartFunc: func(id string, o client.ContainerRestartOptions) (client.ContainerRestartResult, error) {
			rec("restart " + id + " " + itoa(o.Timeout))
			return client.ContainerRestartResult{}, nil
		},
		removeFunc: func(id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			rec("rm " + id + " force=" + btoa(o.Force) + " volumes=" + btoa(o.RemoveVolumes))
			return client.ContainerRemoveResult{}, nil
		},
		pauseFunc:   func(id string) error { rec("pause " + id); return nil },
		unpauseFunc: func(id string) error { rec("unpause " + id); return nil },
		renameFunc: func(id string, o client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
			rec("rename " + id + " " + o.NewName)
			return client.ContainerRenameResult{}, nil
		},
	}
	tests := []struct {
		cmd     func(*Deps) *cobra.Command
		args    []string
		want    string
		wantOut string
	}{
		{newStartCommand, []string{"web"}, "start web", "web\n"},
		{newKillCommand, []string{"-s", "HUP", "web"}, "kill web HUP", "web\n"},
		{newRestartCommand, []string{"-t", "0", "web"}, "restart web 0", "web\n"},
		{newRmCommand, []string{"-f", "-v", "web"}, "rm web force=true volumes=true", "web\n"},
		{newPauseCommand, []string{"web"}, "pause web", "web\n"},
		{newUnpauseCommand, []string{"web"}, "unpause web", "web\n"},
		{newRenameCommand, []string{"web", "www"}, "rename web www", ""},
	}
	for _, tt := range tests {
		got = nil
		deps, out, _ := testDeps(fake, "")
		if err := execute(t, tt.cmd(deps), tt.args...); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		assertEqual(t, "call", strings.Join(got, ";"), tt.want)
		assertEqual(t, "stdout", out.String(), tt.wantOut)
	}
}

func TestWaitPrintsExitCodes(t *testing.T) {
	fake := &fakeClient{waitFunc: func(id string, o client.ContainerWaitOptions) client.ContainerWaitResult {
		res := make(chan container.WaitResponse, 1)
		errC := make(chan error, 1)
		switch id {
		case "ghost":
			errC <- errorString("Error response from daemon: No such container: ghost")
		case "a":
			res <- container.WaitResponse{StatusCode: 0}
		default:
			res <- container.WaitResponse{StatusCode: 137}
		}
		return client.ContainerWaitResult{Result: res, Error: errC}
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newWaitCommand(deps), "a", "ghost", "b")
	assertEqual(t, "stdout", out.String(), "0\n137\n")
	if err == nil || !strings.Contains(err.Error(), "No such container: ghost") {
		t.Errorf("error: %v", err)
	}
}

func TestPruneAsksFirst(t *testing.T) {
	pruned := false
	fake := &fakeClient{pruneFunc: func(client.ContainerPruneOptions) (client.ContainerPruneResult, error) {
		pruned = true
		return client.ContainerPruneResult{Report: container.PruneReport{ContainersDeleted: []string{"aaa", "bbb"}, SpaceReclaimed: 2048}}, nil
	}}
	deps, out, _ := testDeps(fake, "n\n")
	if err := execute(t, newPruneCommand(deps)); err != nil || pruned {
		t.Fatalf("pruned without consent (err %v)", err)
	}
	assertEqual(t, "prompt", out.String(), "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")

	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newPruneCommand(deps), "-f"); err != nil || !pruned {
		t.Fatalf("not pruned: %v", err)
	}
	assertEqual(t, "report", out.String(), "Deleted Containers:\naaa\nbbb\n\nTotal reclaimed space: 2.048kB\n")
}

func TestInspectOutput(t *testing.T) {
	fake := &fakeClient{inspectFunc: func(id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
		if id == "ghost" {
			return client.ContainerInspectResult{}, errorString("Error response from daemon: No such container: ghost")
		}
		raw := json.RawMessage(`{"Id":"` + id + `","State":{"Status":"running","Pid":12345678},"PouchOnly":true}`)
		return client.ContainerInspectResult{Raw: raw}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newInspectCommand(deps), "a", "b"); err != nil {
		t.Fatal(err)
	}
	want := `[
    {
        "Id": "a",
        "State": {
            "Status": "running",
            "Pid": 12345678
        },
        "PouchOnly": true
    },
    {
        "Id": "b",
        "State": {
            "Status": "running",
            "Pid": 12345678
        },
        "PouchOnly": true
    }
]
`
	assertEqual(t, "indented", out.String(), want)

	deps, out, _ = testDeps(fake, "")
	err := execute(t, newInspectCommand(deps), "-f", "{{.Id}} {{.State.Status}} {{.State.Pid}} {{json .State}}", "a", "ghost")
	assertEqual(t, "template", out.String(), "a running 12345678 {\"Pid\":12345678,\"Status\":\"running\"}\n")
	if err == nil || !strings.Contains(err.Error(), "No such container: ghost") {
		t.Errorf("error: %v", err)
	}
}

func itoa(p *int) string {
	if p == nil {
		return "nil"
	}
	return strconv.Itoa(*p)
}

func btoa(b bool) string { return strconv.FormatBool(b) }
