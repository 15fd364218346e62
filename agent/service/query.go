package service

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// MaxRange is the longest time window one request may ask for.
const MaxRange = 7 * 24 * time.Hour

// Window is a parsed time window with an optional bus, format and
// language.
type Window struct {
	From, To time.Time
	Bus      int // -1: all
	Format   can.Format
	FormatS  string
	Lang     string
	Kind     string // events: kind filter ("" all)
}

// queryError is a bad parameter: the server answers 400 with its text.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func qerr(format string, args ...any) error { return &queryError{fmt.Sprintf(format, args...)} }

// ParseTime reads a time parameter: RFC 3339 (2026-06-01T08:00:00Z),
// unix seconds (1780300800 or 1780300800.5), or a duration before now
// ("-15m", "-2h").
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty")
	}
	if len(s) > 64 {
		return time.Time{}, fmt.Errorf("%d characters, too long", len(s))
	}
	if strings.HasPrefix(s, "-") && strings.IndexFunc(s[1:], func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: want RFC 3339, unix seconds or a duration like -15m", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339, unix seconds or a duration like -15m", s)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// Languages of the report.
var Languages = []string{"en", "zh", "de", "es", "fr"}

// ParseWindow reads from, to (default: the last hour, to now), bus,
// format and lang from q. Unknown parameters are refused so that typos do
// not silently widen a query.
func ParseWindow(q url.Values, now time.Time, allowed ...string) (Window, error) {
	w := Window{Bus: -1, Lang: "en", Format: can.FormatCandump, FormatS: "candump"}
	ok := map[string]bool{"from": true, "to": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for k, v := range q {
		if !ok[k] {
			return w, qerr("unknown parameter %q", k)
		}
		if len(v) != 1 {
			return w, qerr("parameter %q given %d times", k, len(v))
		}
	}
	var err error
	w.To = now
	if s := q.Get("to"); s != "" {
		if w.To, err = ParseTime(s, now); err != nil {
			return w, qerr("to: %v", err)
		}
	}
	w.From = w.To.Add(-time.Hour)
	if s := q.Get("from"); s != "" {
		if w.From, err = ParseTime(s, now); err != nil {
			return w, qerr("from: %v", err)
		}
	}
	if w.To.Before(w.From) {
		return w, qerr("to (%s) is before from (%s)", w.To.Format(time.RFC3339), w.From.Format(time.RFC3339))
	}
	if w.To.Sub(w.From) > MaxRange {
		return w, qerr("window of %v is longer than the limit of %v", w.To.Sub(w.From).Round(time.Second), MaxRange)
	}
	if s := q.Get("bus"); s != "" {
		b, err := strconv.Atoi(s)
		if err != nil || b < 0 || b > 255 {
			return w, qerr("bus %q: want 0..255", s)
		}
		w.Bus = b
	}
	if s := q.Get("format"); s != "" {
		switch s {
		case "candump", "gvret", "asc", "csv":
		default:
			return w, qerr("format %q: want candump, gvret, asc or csv", s)
		}
		if s == "csv" {
			s = "gvret" // GVRET/SavvyCAN CSV
		}
		f, err := can.ParseFormat(s)
		if err != nil {
			return w, qerr("format %q: %v", s, err)
		}
		w.Format, w.FormatS = f, q.Get("format")
	}
	if s := q.Get("lang"); s != "" {
		l := strings.ToLower(s)
		if i := strings.IndexAny(l, "-_"); i > 0 {
			l = l[:i]
		}
		found := false
		for _, x := range Languages {
			found = found || x == l
		}
		if !found {
			return w, qerr("lang %q: want en, zh, de, es or fr", s)
		}
		w.Lang = l
	}
	if s := q.Get("kind"); s != "" {
		if len(s) > 32 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
			return w, qerr("kind %q: want a lowercase word", s)
		}
		w.Kind = s
	}
	return w, nil
}
