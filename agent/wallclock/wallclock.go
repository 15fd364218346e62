// Package wallclock decides when the system's wall clock can be trusted.
//
// A head unit without a battery-backed real-time clock boots with the
// time it saved at shutdown (systemd-timesyncd's clock file) or with 1970,
// and NTP or GNSS set it later, possibly minutes into the drive. Until
// then, wall time stamps are wrong. A Gate tells when the clock is sane:
// not before a minimum (the agent's build time, or a board's
// clock.min_time), and, on boards without an RTC, synchronised (the
// kernel's NTP status; systemd-timesyncd and chrony set it). Meanwhile the
// agent measures time with the monotonic clock, and Gate.Wall converts a
// monotonic instant taken before the clock was sane into wall time once it
// is (gokrazy waits for a sane clock the same way).
package wallclock

import (
	"context"
	"sync"
	"time"
)

// BuildTime is the agent's build time (RFC 3339), set by the Makefile with
// -ldflags "-X github.com/evedge/evedge/agent/wallclock.BuildTime=...".
var BuildTime string

// Floor is the minimum used when neither BuildTime nor a board sets one:
// a date before any evedge release.
var Floor = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Minimum returns the latest of Floor, BuildTime (when set and valid) and
// configured: a wall clock before it is certainly wrong.
func Minimum(configured time.Time) time.Time {
	m := Floor
	if bt, err := time.Parse(time.RFC3339, BuildTime); err == nil && bt.After(m) {
		m = bt
	}
	if configured.After(m) {
		m = configured
	}
	return m
}

// Options configure a Gate.
type Options struct {
	// Min is the earliest sane wall time (see Minimum).
	Min time.Time
	// RTC: the board keeps time across power cuts, so a clock past Min is
	// trusted without waiting for synchronisation.
	RTC bool
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// Mono is the monotonic clock: time elapsed since some fixed origin
	// (default: since New, from Go's monotonic clock reading).
	Mono func() time.Duration
	// Synced reports whether the clock is synchronised (default
	// KernelSynced: the kernel's NTP status on Linux, true elsewhere).
	Synced func() bool
	// Poll is how often Wait looks again (default 1 s).
	Poll time.Duration
}

// Gate tracks whether wall time is trustworthy.
type Gate struct {
	o Options

	mu       sync.Mutex
	sane     bool
	saneWall time.Time     // wall time when found sane
	saneMono time.Duration // monotonic offset from start then
	ready    chan struct{}
}

// New returns a Gate; it checks the clock once.
func New(o Options) *Gate {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Synced == nil {
		o.Synced = KernelSynced
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Mono == nil {
		start := time.Now()
		o.Mono = func() time.Duration { return time.Since(start) }
	}
	g := &Gate{o: o, ready: make(chan struct{})}
	g.Check()
	return g
}

// Mono is a monotonic instant (Options.Mono).
type Mono time.Duration

// Mono returns the monotonic instant now; it is valid whether or not the
// wall clock is sane.
func (g *Gate) Mono() Mono { return Mono(g.o.Mono()) }

// Check looks at the clock now and reports whether it is sane; once sane,
// the Gate stays sane.
func (g *Gate) Check() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sane {
		return true
	}
	mono, now := g.o.Mono(), g.o.Now()
	if now.Before(g.o.Min) || (!g.o.RTC && !g.o.Synced()) {
		return false
	}
	g.sane, g.saneWall, g.saneMono = true, now, mono
	close(g.ready)
	return true
}

// Sane reports whether the clock was found sane (it does not look again:
// see Check).
func (g *Gate) Sane() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sane
}

// Ready is closed once the clock is found sane.
func (g *Gate) Ready() <-chan struct{} { return g.ready }

// Wait checks the clock every Poll until it is sane or ctx ends.
func (g *Gate) Wait(ctx context.Context) error {
	if g.Check() {
		return nil
	}
	t := time.NewTicker(g.o.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if g.Check() {
				return nil
			}
		}
	}
}

// Wall converts monotonic instant m to wall time. ok is false while the
// clock is not sane: keep m and convert it later. Instants from before the
// clock was set are placed by their monotonic distance to the moment it
// was found sane, so a clock step (NTP setting the time) does not show.
func (g *Gate) Wall(m Mono) (t time.Time, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.sane {
		return time.Time{}, false
	}
	return g.saneWall.Add(time.Duration(m) - g.saneMono), true
}

// Now returns the wall time now when the clock is sane (checking it), and
// ok false otherwise.
func (g *Gate) Now() (time.Time, bool) {
	if !g.Check() {
		return time.Time{}, false
	}
	return g.Wall(g.Mono())
}

// SaneSince returns the wall time at which the clock was found sane, and
// ok false while it is not: stamps taken before it are not true times.
func (g *Gate) SaneSince() (t time.Time, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.saneWall, g.sane
}

// Min is the minimum the Gate checks against.
func (g *Gate) Min() time.Time { return g.o.Min }
