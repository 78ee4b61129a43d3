package container

import (
	"reflect"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParsePSOutput(t *testing.T) {
	out := `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         101       1  0 10:01 ?        00:00:00 sh -c sleep 1000 & wait
root         102     101  0 10:01 ?        00:00:00 sleep 1000
root         200       1  0 10:02 ?        00:00:00 /usr/bin/pouchd
`
	got, err := parsePSOutput([]byte(out), []uint32{101, 102})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}; !reflect.DeepEqual(got.Titles, want) {
		t.Errorf("titles %q", got.Titles)
	}
	want := [][]string{
		{"root", "101", "1", "0", "10:01", "?", "00:00:00", "sh -c sleep 1000 & wait"},
		{"root", "102", "101", "0", "10:01", "?", "00:00:00", "sleep 1000"},
	}
	if !reflect.DeepEqual(got.Processes, want) {
		t.Errorf("processes %q", got.Processes)
	}
}

func TestParsePSOutputThreadsAndColumns(t *testing.T) {
	// ps -o pid,comm m: thread rows ("-") follow their process.
	out := "    PID COMMAND\n    101 app\n      - -\n      - -\n    300 other\n      - -\n"
	got, err := parsePSOutput([]byte(out), []uint32{101})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"101", "app"}, {"-", "-"}, {"-", "-"}}
	if !reflect.DeepEqual(got.Processes, want) {
		t.Errorf("processes %q, want %q", got.Processes, want)
	}
	// The PID column need not come first.
	got, err = parsePSOutput([]byte("COMMAND PID\nsleep 7\ninit 1\n"), []uint32{7})
	if err != nil || !reflect.DeepEqual(got.Processes, [][]string{{"sleep", "7"}}) {
		t.Errorf("PID second: %q %v", got.Processes, err)
	}
	// No process of the container: no rows (null, as Docker).
	got, err = parsePSOutput([]byte("PID CMD\n1 init\n"), []uint32{7})
	if err != nil || got.Processes != nil {
		t.Errorf("no match: %q %v", got.Processes, err)
	}
}

func TestParsePSOutputErrors(t *testing.T) {
	if _, err := parsePSOutput([]byte("USER COMMAND\nroot init\n"), []uint32{1}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("no PID column: %v", err)
	}
	if _, err := parsePSOutput([]byte("PID CMD\nabc init\n"), []uint32{1}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a PID that is not a number: %v", err)
	}
}

func TestPSArgs(t *testing.T) {
	if got := psPidsArg([]uint32{1, 22, 333}); got != "-q1,22,333" {
		t.Errorf("psPidsArg: %q", got)
	}
	for args, ok := range map[string]bool{
		"-ef":                   true,
		"-o pid,comm":           true,
		"-o pid=PID,comm":       true,
		"-o comm=PID":           false,
		"aux -o user=PIDX":      false,
		"-o pid,args --no-head": true,
	} {
		if err := validatePSArgs(args); (err == nil) != ok {
			t.Errorf("validatePSArgs(%q) = %v", args, err)
		} else if err != nil && !errdefs.IsInvalidArgument(err) {
			t.Errorf("validatePSArgs(%q): %v is not an invalid argument", args, err)
		}
	}
	if got := fieldsASCII(" -o \tpid,comm\n"); !reflect.DeepEqual(got, []string{"-o", "pid,comm"}) {
		t.Errorf("fieldsASCII: %q", got)
	}
}
