package wallclock

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a board's clocks: a wall clock that NTP may step and a
// monotonic one that only advances.
type fakeClock struct {
	mu     sync.Mutex
	wall   time.Time
	mono   time.Duration
	synced bool
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.wall, c.mono = c.wall.Add(d), c.mono+d
	c.mu.Unlock()
}

func (c *fakeClock) set(w time.Time, synced bool) {
	c.mu.Lock()
	c.wall, c.synced = w, synced
	c.mu.Unlock()
}

func (c *fakeClock) opts(min time.Time, rtc bool) Options {
	return Options{Min: min, RTC: rtc, Poll: time.Millisecond,
		Now:    func() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.wall },
		Mono:   func() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.mono },
		Synced: func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.synced }}
}

var min2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// A board without RTC boots in 1970; frames stamped then get their wall
// time from their monotonic distance to the moment NTP set the clock.
func TestGateNoRTC(t *testing.T) {
	c := &fakeClock{wall: time.Unix(10, 0)}
	g := New(c.opts(min2025, false))
	if g.Sane() {
		t.Fatal("1970 taken as sane")
	}
	c.advance(20 * time.Second)
	early := g.Mono() // a frame 20 s after start
	if _, ok := g.Wall(early); ok {
		t.Fatal("wall time given before the clock is sane")
	}
	if _, ok := g.Now(); ok {
		t.Fatal("Now ok before sane")
	}
	c.advance(10 * time.Second)
	// NTP steps the clock at mono 30 s.
	ntp := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c.set(ntp, true)
	if !g.Check() || !g.Sane() {
		t.Fatal("not sane after NTP")
	}
	select {
	case <-g.Ready():
	default:
		t.Fatal("Ready not closed")
	}
	w, ok := g.Wall(early)
	if !ok || !w.Equal(ntp.Add(-10*time.Second)) {
		t.Fatalf("early frame at %v, want %v", w, ntp.Add(-10*time.Second))
	}
	c.advance(5 * time.Second)
	if now, ok := g.Now(); !ok || !now.Equal(ntp.Add(5*time.Second)) {
		t.Fatalf("Now %v %v", now, ok)
	}
	// Once sane, a later step back (a bad NTP answer) does not unset it.
	c.set(time.Unix(0, 0), false)
	if !g.Check() {
		t.Error("sane state lost")
	}
}

// Without RTC a saved clock file puts the time past the minimum at boot,
// yet stale: the gate waits for synchronisation too.
func TestGateWaitsForSync(t *testing.T) {
	c := &fakeClock{wall: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)}
	g := New(c.opts(min2025, false))
	if g.Sane() {
		t.Fatal("unsynchronised clock without RTC taken as sane")
	}
	done := make(chan error, 1)
	go func() { done <- g.Wait(context.Background()) }()
	time.Sleep(5 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Wait returned early: %v", err)
	default:
	}
	c.set(time.Date(2026, 1, 9, 8, 0, 0, 0, time.UTC), true)
	if err := <-done; err != nil || !g.Sane() {
		t.Fatal(err)
	}
	// Wait ends with its context.
	c2 := &fakeClock{wall: time.Unix(0, 0)}
	g2 := New(c2.opts(min2025, true))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := g2.Wait(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Wait: %v", err)
	}
}

// With an RTC, a clock past the minimum is trusted at once; before it,
// not even an RTC helps (flat coin cell).
func TestGateRTC(t *testing.T) {
	c := &fakeClock{wall: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)}
	if g := New(c.opts(min2025, true)); !g.Sane() {
		t.Fatal("RTC clock past the minimum not sane")
	}
	c.set(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true)
	if g := New(c.opts(min2025, true)); g.Sane() {
		t.Fatal("clock before the minimum taken as sane")
	}
}

func TestMinimum(t *testing.T) {
	defer func(b string) { BuildTime = b }(BuildTime)
	BuildTime = ""
	if m := Minimum(time.Time{}); !m.Equal(Floor) {
		t.Errorf("no build time: %v", m)
	}
	BuildTime = "2026-02-03T04:05:06Z"
	if m := Minimum(time.Time{}); !m.Equal(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("build time: %v", m)
	}
	later := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if m := Minimum(later); !m.Equal(later) {
		t.Errorf("configured: %v", m)
	}
	BuildTime = "yesterday"
	if m := Minimum(min2025.Add(-time.Hour)); !m.Equal(Floor) {
		t.Errorf("bad build time: %v", m)
	}
}

// The real clock of this machine: with the defaults (kernel sync status,
// time.Now) a Gate with an RTC is sane here; the kernel status is logged.
func TestGateRealClock(t *testing.T) {
	g := New(Options{Min: Minimum(time.Time{}), RTC: true})
	if !g.Sane() {
		t.Fatalf("this machine's clock %v is before %v", time.Now(), g.Min())
	}
	w, ok := g.Wall(g.Mono())
	if !ok || time.Since(w).Abs() > time.Second {
		t.Fatalf("Wall(now) = %v", w)
	}
	t.Logf("kernel clock synchronised: %v", KernelSynced())
}
