package jsonlog

import (
	"encoding/json"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

func TestEntryJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      Entry
		want    string
		decoded string // Log read back, if not in.Log
	}{
		{
			name: "plain",
			in:   Entry{Log: "hello\n", Stream: Stdout, Time: t0},
			want: `{"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}`,
		},
		{
			name: "time in another zone, trailing zeros trimmed",
			in:   Entry{Log: "x", Stream: Stderr, Time: time.Date(2026, 1, 2, 4, 4, 5, 500000000, time.FixedZone("CET", 3600))},
			want: `{"log":"x","stream":"stderr","time":"2026-01-02T03:04:05.5Z"}`,
		},
		{
			name: "escapes",
			in:   Entry{Log: "a\"b\\c<d>&e\tf\rg\x01\x7f\n", Stream: Stdout, Time: t0},
			want: `{"log":"a\"b\\c\u003cd\u003e\u0026e\u0009f\rg\u0001` + "\x7f" + `\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}`,
		},
		{
			name:    "unicode kept, invalid UTF-8 replaced, line separators escaped",
			in:      Entry{Log: "é世\xff\u2028\u2029🙂", Stream: Stdout, Time: t0},
			want:    `{"log":"é世\ufffd\u2028\u2029🙂","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}`,
			decoded: "é世\ufffd\u2028\u2029🙂",
		},
		{
			name:    "truncated UTF-8 at the end",
			in:      Entry{Log: "ab\xe4\xb8", Time: t0},
			want:    `{"log":"ab\ufffd\ufffd","time":"2026-01-02T03:04:05.123456789Z"}`,
			decoded: "ab\ufffd\ufffd",
		},
		{
			name: "empty fields left out",
			in:   Entry{Time: t0},
			want: `{"time":"2026-01-02T03:04:05.123456789Z"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.in.AppendJSON(nil))
			if got != tc.want {
				t.Fatalf("AppendJSON:\n got %s\nwant %s", got, tc.want)
			}
			b, err := json.Marshal(tc.in)
			if err != nil || string(b) != tc.want {
				t.Fatalf("json.Marshal = %s, %v", b, err)
			}
			// The output is valid JSON that decodes back.
			var back Entry
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !back.Time.Equal(tc.in.Time) || back.Stream != tc.in.Stream {
				t.Fatalf("decoded %+v from %s", back, b)
			}
			wantLog := tc.in.Log
			if tc.decoded != "" {
				wantLog = tc.decoded
			}
			if back.Log != wantLog {
				t.Fatalf("decoded log %q, want %q", back.Log, wantLog)
			}
		})
	}
}

func TestDecodeDockerLine(t *testing.T) {
	// A line written by Docker, with attrs.
	line := `{"log":"hi\n","stream":"stderr","attrs":{"tag":"x"},"time":"2026-01-02T03:04:05.1Z"}`
	e, err := decodeEntry([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{Log: "hi\n", Stream: Stderr, Time: time.Date(2026, 1, 2, 3, 4, 5, 100000000, time.UTC)}
	if e != want {
		t.Fatalf("got %+v, want %+v", e, want)
	}
	if _, err := decodeEntry([]byte(`{"log":"hi`)); err == nil {
		t.Fatal("torn line decoded")
	}
}
