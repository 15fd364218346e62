package uplink_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/wallclock"
)

// boardClock is a head unit without RTC: the wall clock starts in 1970 and
// "NTP" steps it; the monotonic clock only runs.
type boardClock struct{ wall, mono atomic.Int64 }

func newBoardClock() *boardClock {
	c := &boardClock{}
	c.wall.Store(time.Unix(100, 0).UnixNano())
	return c
}

func (c *boardClock) now() time.Time { return time.Unix(0, c.wall.Load()) }

func (c *boardClock) advance(d time.Duration) { c.wall.Add(int64(d)); c.mono.Add(int64(d)) }

func (c *boardClock) gate(synced *atomic.Bool) *wallclock.Gate {
	return wallclock.New(wallclock.Options{Min: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RTC: false,
		Now: c.now, Mono: func() time.Duration { return time.Duration(c.mono.Load()) }, Synced: synced.Load, Poll: time.Millisecond})
}

// ntp steps the wall clock to real and marks it synchronised; the gate is
// found sane.
func (c *boardClock) ntp(t *testing.T, g *wallclock.Gate, synced *atomic.Bool, real time.Time) {
	t.Helper()
	c.wall.Store(real.UnixNano())
	synced.Store(true)
	if !g.Check() {
		t.Fatal("clock not sane after the NTP step")
	}
}

func clockUplink(t *testing.T, c *boardClock, g *wallclock.Gate) (*uplink.Uplink, *store.Store) {
	st, err := store.Open(store.Options{Dir: t.TempDir(), CommitInterval: -1, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Port 1 on loopback refuses at once: a connection attempt shows as a
	// connect error in the counters.
	u, err := uplink.New(uplink.Options{Broker: "tcp://127.0.0.1:1", Vehicle: "car-1", Store: st, Now: c.now, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	u.SetClock(g)
	return u, st
}

type outEvent struct {
	uplink.Envelope
	Body struct{ Code string } `json:"body"`
}

func outbox(t *testing.T, st *store.Store) []outEvent {
	t.Helper()
	msgs, err := st.NextBatch(100)
	if err != nil {
		t.Fatal(err)
	}
	var out []outEvent
	for _, m := range msgs {
		var e outEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatalf("%s: %v", m.Payload, err)
		}
		out = append(out, e)
	}
	return out
}

// Messages published before the clock is sane wait, and then leave in
// order, numbered in that order, stamped with the true times they were
// made at: not 1970, and not the time the clock became sane.
func TestPublishHeldUntilSaneClock(t *testing.T) {
	c := newBoardClock()
	var synced atomic.Bool
	g := c.gate(&synced)
	u, st := clockUplink(t, c, g)

	env1, err := u.PublishEvent("dtc", 1, "obd", map[string]string{"code": "P0A80"})
	if err != nil {
		t.Fatal(err)
	}
	if env1.ID == "" || env1.Seq != 0 || env1.Time != "" {
		t.Errorf("held message's envelope %+v: want an id, no seq, no time", env1)
	}
	c.advance(2 * time.Second)
	if _, err := u.PublishEvent("dtc", 1, "obd", map[string]string{"code": "P0AA6"}); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, st); len(got) != 0 {
		t.Fatalf("%d messages queued with an untrusted clock: %+v", len(got), got)
	}
	c.advance(3 * time.Second)
	real := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	c.ntp(t, g, &synced, real) // found sane at mono 5 s = real
	env3, err := u.PublishEvent("dtc", 0, "obd", map[string]string{"code": "P0A80"})
	if err != nil {
		t.Fatal(err)
	}
	got := outbox(t, st)
	// Made at mono 0 s, 2 s and 5 s: real-5 s, real-3 s, real.
	want := []struct {
		code string
		at   time.Time
	}{{"P0A80", real.Add(-5 * time.Second)}, {"P0AA6", real.Add(-3 * time.Second)}, {"P0A80", real}}
	if len(got) != len(want) {
		t.Fatalf("%d messages queued, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Body.Code != w.code || got[i].Time != uplink.Stamp(w.at) || got[i].Seq != int64(i+1) {
			t.Errorf("message %d: %s at %s seq %d, want %s at %s seq %d", i, got[i].Body.Code, got[i].Time, got[i].Seq, w.code, uplink.Stamp(w.at), i+1)
		}
	}
	if got[0].ID != env1.ID || got[2].ID != env3.ID || env3.Seq != 3 {
		t.Errorf("ids: held %s queued %s; live %s/%d queued %s", env1.ID, got[0].ID, env3.ID, env3.Seq, got[2].ID)
	}
}

// Run does not connect before the clock is sane; once it is, it queues
// what was held (no other publish needed) and connects.
func TestRunWaitsForSaneClock(t *testing.T) {
	c := newBoardClock()
	var synced atomic.Bool
	g := c.gate(&synced)
	u, st := clockUplink(t, c, g)
	if _, err := u.PublishEvent("gbt32960", 2, "rules", map[string]string{"code": "insulation"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	time.Sleep(300 * time.Millisecond)
	if s := u.Stats(); s.Connects+s.ConnectErrors != 0 {
		t.Fatalf("connected before the clock was sane: %+v", s)
	}
	c.advance(time.Second)
	real := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	c.ntp(t, g, &synced, real)
	deadline := time.Now().Add(10 * time.Second)
	for u.Stats().ConnectErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no connection attempt 10 s after the clock became sane")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := outbox(t, st)
	if len(got) != 1 || got[0].Time != uplink.Stamp(real.Add(-time.Second)) || got[0].Seq != 1 {
		t.Fatalf("queued %+v, want the held event at %s", got, uplink.Stamp(real.Add(-time.Second)))
	}
}

// The health reporter samples while the clock is not sane but reports
// only once it is, its first window starting when sampling really began.
func TestReporterWaitsForSaneClock(t *testing.T) {
	c := newBoardClock()
	var synced atomic.Bool
	g := c.gate(&synced)
	u, st := clockUplink(t, c, g)
	soc := 80.0
	rep := uplink.NewReporter(u, uplink.ReporterOptions{
		Read: func(p string) (float64, time.Time, bool) {
			if p == "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current" {
				return soc, c.now(), true
			}
			return 0, time.Time{}, false
		},
		Clock:  c.now, // the data clock: frames stamped by the same system clock
		Budget: uplink.Budget{Interval: time.Minute},
	})
	for range 20 { // 20 s before NTP
		rep.Tick()
		soc -= 0.5
		c.advance(time.Second)
	}
	real := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	c.ntp(t, g, &synced, real)
	for range 45 { // the window started 20 s before real: due at real+40 s
		rep.Tick()
		soc -= 0.5
		c.advance(time.Second)
	}
	msgs, err := st.NextBatch(100)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d reports, want 1", len(msgs))
	}
	var h uplink.Health
	if err := json.Unmarshal(msgs[0].Payload, &h); err != nil {
		t.Fatal(err)
	}
	if want := uplink.Stamp(real.Add(-20 * time.Second)); h.From != want {
		t.Errorf("window from %s, want %s (when sampling began, on the true clock)", h.From, want)
	}
	if want := uplink.Stamp(real.Add(40 * time.Second)); h.To != want || h.Time != want {
		t.Errorf("window to %s, time %s; want %s", h.To, h.Time, want)
	}
	if h.Samples != 61 || h.Battery.SOC == nil || *h.Battery.SOC != 80-0.5*60 {
		t.Errorf("samples %d soc %v; want 61 samples, the last SOC %v", h.Samples, h.Battery.SOC, 80-0.5*60)
	}
}
