package command

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

func TestFilterOpt(t *testing.T) {
	f := NewFilterOpt()
	for _, v := range []string{"status=exited", "Label = a=b", "status=created", "name="} {
		if err := f.Set(v); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
	}
	want := client.Filters{}.Add("status", "exited", "created").Add("label", "a=b").Add("name", "")
	if !reflect.DeepEqual(f.Value(), want) {
		t.Errorf("got %v, want %v", f.Value(), want)
	}
	for _, bad := range []string{"nonsense", "=value", " =x"} {
		if err := f.Set(bad); err == nil || err.Error() != "bad format of filter (expected name=value)" {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}

func TestForEachKeepsOrder(t *testing.T) {
	var out bytes.Buffer
	err := ForEach(context.Background(), &out, []string{"a", "bad", "c", "worse"}, func(_ context.Context, name string) error {
		if strings.HasPrefix(name, "b") || strings.HasPrefix(name, "w") {
			return errors.New("failed: " + name)
		}
		return nil
	})
	if out.String() != "a\nc\n" {
		t.Errorf("stdout: %q", out.String())
	}
	if err == nil || err.Error() != "failed: bad\nfailed: worse" {
		t.Errorf("error: %v", err)
	}
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "": false, "maybe\n": false} {
		var out bytes.Buffer
		if got := Confirm(strings.NewReader(in), &out, "Sure?"); got != want {
			t.Errorf("%q: got %v", in, got)
		}
		if out.String() != "Sure? [y/N] " {
			t.Errorf("prompt: %q", out.String())
		}
	}
}

func TestReportedError(t *testing.T) {
	cause := errors.New("Error response from daemon: boom.")
	err := ReportedError{Err: cause, HelpPath: "pouch run"}
	if err.Error() != "pouch: Error response from daemon: boom.\nSee 'pouch run --help'." {
		t.Errorf("got %q", err.Error())
	}
	if !errors.Is(StatusError{Err: err, StatusCode: 125}, cause) {
		t.Error("the cause must stay reachable")
	}
}
