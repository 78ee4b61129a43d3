package httputil

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/pouchcontainer/pouch/pkg/jsonlog"
)

func TestBoolValue(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "no": false, "False": false, "none": false, "1": true, "true": true, "YES": true} {
		got, err := BoolValue(httptest.NewRequest("GET", "/x?k="+v, nil), "k")
		if err != nil || got != want {
			t.Errorf("%q: %v, %v", v, got, err)
		}
	}
	if _, err := BoolValue(httptest.NewRequest("GET", "/x?k=maybe", nil), "k"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("maybe: %v", err)
	}
}

func TestUnixTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"":                     {},
		"0":                    {},
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 5e8),
		"1700000000.000000001": time.Unix(1700000000, 1),
	} {
		got, err := UnixTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"x", "1.x", "2024-01-01"} {
		if _, err := UnixTime(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct{ A int }
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{"A": 1}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if err := DecodeJSON(req, &v); err != nil || v.A != 1 {
		t.Errorf("%v %v", v, err)
	}
	for body, ct := range map[string]string{`{"A":`: "", ``: "application/json", `{"A": "x"}`: "", `{"A": 1}`: "application/xml"} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if err := DecodeJSON(req, &v); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q (%s): %v", body, ct, err)
		}
	}
}

func TestStreamWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewStreamWriter(&b, true)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	_ = w.Write(jsonlog.Entry{Stream: "stdout", Log: "out\n", Time: ts}, false)
	_ = w.Write(jsonlog.Entry{Stream: "stderr", Log: "err\n", Time: ts}, true)
	want := "\x01\x00\x00\x00\x00\x00\x00\x04out\n" +
		"\x02\x00\x00\x00\x00\x00\x00\x232024-01-02T03:04:05.000000006Z err\n"
	if b.String() != want {
		t.Errorf("multiplexed: %q\nwant %q", b.String(), want)
	}
	b.Reset()
	w = NewStreamWriter(&b, false)
	_ = w.Write(jsonlog.Entry{Stream: "stderr", Log: "raw\n"}, false)
	if b.String() != "raw\n" {
		t.Errorf("raw: %q", b.String())
	}
}

func TestUntil(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 500000000),
		"2020-01-02T03:04:05Z": time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		"2020-01-02":           time.Date(2020, 1, 2, 0, 0, 0, 0, time.Local),
	} {
		got, err := Until(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("Until(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "12.x", "-"} {
		if _, err := Until(bad, now); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Until(%q) error %v, want invalid argument", bad, err)
		}
	}
}
