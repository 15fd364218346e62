package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseTime reads a time given on the command line: RFC 3339
// ("2026-11-29T10:00:00Z", with or without fractional seconds), unix
// seconds ("1700000000" or "1700000000.25"), or a duration before now
// ("-15m", "-2h").
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time: expected RFC 3339 (2026-11-29T10:00:00Z), unix seconds or -DURATION")
	}
	if strings.HasPrefix(s, "-") {
		if d, err := time.ParseDuration(s[1:]); err == nil {
			return now.Add(-d), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 && f < 1<<33 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
	}
	return time.Time{}, fmt.Errorf("time %q: expected RFC 3339 (2026-11-29T10:00:00Z), unix seconds (1700000000.5) or -DURATION (-15m)", s)
}
