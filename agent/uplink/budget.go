package uplink

import (
	"time"
)

// Budget adapts the health report interval and detail to a monthly data
// allowance. Everything the uplink sends is counted with its MQTT, TLS and
// TCP/IP overhead (wire.go) in the store, per calendar month (UTC).
type Budget struct {
	// Monthly is the allowance in bytes (0: no limit).
	Monthly int64
	// Interval is the health report interval when the budget allows it;
	// MaxInterval the longest it may stretch to (defaults 5 min and 1 h).
	Interval, MaxInterval time.Duration
	// Share is the fraction of the allowance health reports may plan for;
	// the rest is kept for events, answers and keepalives (default 0.7).
	Share float64
}

// Detail levels of a health report.
const (
	DetailFull    = "full"
	DetailCompact = "compact"
)

// Plan decides the next health interval and detail: at now, used bytes
// have been spent this month and reports cost fullCost or compactCost
// bytes on the link each. fixedPerHour is what keepalives and reconnects
// cost per hour.
func (b *Budget) Plan(now time.Time, used int64, fullCost, compactCost, fixedPerHour int) (time.Duration, string) {
	base, maxI := b.Interval, b.MaxInterval
	if base == 0 {
		base = 5 * time.Minute
	}
	if maxI < base {
		maxI = max(base, time.Hour)
	}
	if b.Monthly <= 0 {
		return base, DetailFull
	}
	share := b.Share
	if share <= 0 || share > 1 {
		share = 0.7
	}
	t := now.UTC()
	end := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	left := end.Sub(t).Hours()
	if left < 1 {
		left = 1
	}
	remaining := float64(b.Monthly - used)
	perHour := remaining*share/left - float64(fixedPerHour)
	if perHour <= 0 {
		return maxI, DetailCompact
	}
	need := func(cost int) time.Duration {
		return time.Duration(float64(cost) / perHour * float64(time.Hour))
	}
	if d := need(fullCost); d <= base {
		return base, DetailFull
	}
	d := need(compactCost)
	return min(max(d, base), maxI), DetailCompact
}
