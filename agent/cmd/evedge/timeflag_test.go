package main

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-29T10:00:00Z":        time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
		"2026-11-29T11:00:00.5+01:00": time.Date(2026, 11, 29, 10, 0, 0, 5e8, time.UTC),
		"1700000000":                  time.Unix(1700000000, 0),
		"1700000000.25":               time.Unix(1700000000, 25e7),
		"-15m":                        now.Add(-15 * time.Minute),
		" 0 ":                         time.Unix(0, 0),
	} {
		got, err := parseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2026-13-01T00:00:00Z", "-1", "NaN", "1e20", "-5x"} {
		if _, err := parseTime(in, now); err == nil {
			t.Errorf("parseTime(%q) accepted", in)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-29T10:00:00Z", "1700000000.5", "-15m", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseTime(s, time.Unix(0, 0))
	})
}
