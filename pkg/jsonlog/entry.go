// Package jsonlog writes and reads container logs in Docker's json-file
// format: one JSON object per line,
//
//	{"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
//
// The Writer is what pouch-logger runs for each container; Read serves
// `logs` (tail, since, until, follow) from the file it leaves.
package jsonlog

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Stream names, as Docker writes them.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Entry is one line of a json-file log.
type Entry struct {
	// Log is the text, with its trailing "\n" unless the line was split
	// because it was too long or was the stream's last, unterminated line.
	Log string
	// Stream is "stdout" or "stderr".
	Stream string
	// Time is when the logger read the line.
	Time time.Time
}

// AppendJSON appends e to dst exactly as Docker's json-file driver writes
// it (without the trailing newline): fields in the order log, stream, time;
// empty log and stream left out; HTML characters, control characters and
// U+2028/U+2029 escaped; invalid UTF-8 replaced by U+FFFD; time in UTC,
// RFC 3339 with nanoseconds.
func (e Entry) AppendJSON(dst []byte) []byte {
	return appendEntry(dst, e.Log, e.Stream, e.Time)
}

// MarshalJSON encodes e as AppendJSON does.
func (e Entry) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}

// UnmarshalJSON decodes one json-file line; other fields (Docker's "attrs")
// are ignored.
func (e *Entry) UnmarshalJSON(b []byte) error {
	d, err := decodeEntry(b)
	if err != nil {
		return err
	}
	*e = d
	return nil
}

func decodeEntry(b []byte) (Entry, error) {
	var v struct {
		Log    string    `json:"log"`
		Stream string    `json:"stream"`
		Time   time.Time `json:"time"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Entry{}, err
	}
	return Entry{Log: v.Log, Stream: v.Stream, Time: v.Time.UTC()}, nil
}

func appendEntry[T string | []byte](dst []byte, log T, stream string, t time.Time) []byte {
	dst = append(dst, '{')
	if len(log) > 0 {
		dst = append(dst, `"log":`...)
		dst = appendString(dst, log)
		dst = append(dst, ',')
	}
	if stream != "" {
		dst = append(dst, `"stream":`...)
		dst = appendString(dst, stream)
		dst = append(dst, ',')
	}
	dst = append(dst, `"time":"`...)
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

// appendString appends s as a JSON string, escaping as Docker's json-file
// driver does.
func appendString[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		// At most utf8.UTFMax bytes: the conversion stays on the stack.
		c, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
