package formatter

import (
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
)

// Ellipsis shortens s to at most max runes, ending it with "…" when cut.
func Ellipsis(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// Since renders the time elapsed since a Unix timestamp the way docker's
// CREATED columns do, e.g. "About a minute ago".
func Since(unix int64, now time.Time) string {
	return units.HumanDuration(now.UTC().Sub(time.Unix(unix, 0))) + " ago"
}

// Size renders a byte count with three significant digits, e.g. "4.26MB".
func Size(n int64) string {
	return units.HumanSizeWithPrecision(float64(n), 3)
}
