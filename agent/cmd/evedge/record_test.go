package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/detect"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/wallclock"
	"github.com/evedge/evedge/drivers/can"
)

// TestRecorderHoldsUntilSaneClock: a board without RTC boots in 1970; the
// frames and values it records before NTP sets the clock are held and,
// once the clock is sane, stored at their true wall times (placed by the
// monotonic clock), not at 1970.
func TestRecorderHoldsUntilSaneClock(t *testing.T) {
	db, _, err := sim.LoadDBC("../../../board/sim/sim-ev.dbc")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir(), CommitInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := newBootClocks(t)
	wall, synced, gate := &clk.wall, &clk.synced, clk.gate
	r := newStoreRecorder(st, db, false, gate)
	r.now = clk.now
	msg := db.Message("BMS_SOC")
	if msg == nil {
		t.Fatal("sim DBC has no BMS_SOC")
	}
	sig := msg.Signals[0]
	advance := clk.advance
	// Two frames 1 s apart before the clock is set, stamped at receipt.
	for i := range 2 {
		f := can.Frame{Time: wall.Load(), ID: msg.ID, Len: 8}
		r.AppendFrames([]can.Frame{f})
		r.RecordValues([]signals.Value{{Signal: sig, Value: float64(50 + i)}}, f.Time)
		advance(time.Second)
	}
	st.Flush()
	if n, _ := st.CountFrames(context.Background()); n != 0 {
		t.Fatalf("%d frames stored with an untrusted clock", n)
	}
	// NTP steps the clock to the real date one second later.
	advance(time.Second)
	real := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	wall.Store(real.UnixNano())
	synced.Store(true)
	if !gate.Check() {
		t.Fatal("clock not sane after the step")
	}
	f := can.Frame{Time: wall.Load(), ID: msg.ID, Len: 8}
	r.AppendFrames([]can.Frame{f})
	st.Flush()
	it := st.Frames(context.Background(), real.Add(-time.Hour), real.Add(time.Hour), -1)
	var got []time.Time
	for it.Next() {
		got = append(got, time.Unix(0, it.Frame().Time).UTC())
	}
	// The held frames were at mono 0 s and 1 s; the clock was found sane at
	// mono 3 s = real: so they belong at real-3 s and real-2 s.
	want := []time.Time{real.Add(-3 * time.Second), real.Add(-2 * time.Second), real}
	if len(got) != len(want) {
		t.Fatalf("stored frames at %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("frame %d at %v, want %v", i, got[i], want[i])
		}
	}
	name := sig.VSS()
	if name == "" {
		name = sig.FullName()
	}
	sit := st.Signals(context.Background(), name, real.Add(-time.Minute), real.Add(time.Minute), time.Second)
	n := 0
	for sit.Next() {
		if s := sit.Summary(); s.Time.Before(real.Add(-4*time.Second)) || s.Time.After(real) {
			t.Errorf("value summary at %v", s.Time)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d value summaries near the real time, want 2 (err %v)", n, sit.Err())
	}
}

// TestEventsHeldUntilSaneClock: GB/T alarms, model diagnoses (with their
// pin) and trouble-code events raised before the clock is sane wait with
// the frames and are stored, and sent, at the same true wall times as the
// frames of the same instants; nothing carries a 1970 date. The clock
// turns sane on a silent bus: releaseWhenSane stores everything without a
// further frame.
func TestEventsHeldUntilSaneClock(t *testing.T) {
	db, _, err := sim.LoadDBC("../../../board/sim/sim-ev.dbc")
	if err != nil {
		t.Fatal(err)
	}
	clk := newBootClocks(t)
	wall, synced, gate, wallNow := &clk.wall, &clk.synced, clk.gate, clk.now
	st, r := clk.recorder(t, db)
	up, err := uplink.New(uplink.Options{Broker: "tcp://127.0.0.1:1", Vehicle: "car-1", Store: st, Now: wallNow})
	if err != nil {
		t.Fatal(err)
	}
	up.SetClock(gate)
	log := slog.New(slog.DiscardHandler)
	l := &liveDiag{cfg: config.Diag{Pin: config.Duration{Duration: time.Minute}}, dtcs: &dtcTracker{}}
	l.attach(nil, st, up, r, log)
	advance := clk.advance

	// mono 0 s: a frame and an alarm at the same instant.
	t0 := wallNow()
	r.AppendFrames([]can.Frame{{Time: t0.UnixNano(), ID: 0x100, Len: 1}})
	l.alarm(t0, diag.Alarm{Name: "insulation", Level: 2, Value: 80, Since: t0.Add(-3 * time.Second)}, 1<<10, 2, st, up, log)
	advance(4 * time.Second)
	// mono 4 s: a detection with a 5 s window.
	t4 := wallNow()
	l.detection(&detect.Change{Time: t4, Raised: true, Fault: "cooling_loss", Window: make([]diag.Sample, 5)}, nil, st, up, log)
	advance(time.Second)
	// mono 5 s: a trouble code read.
	l.dtcs.record(wallNow(), []dtcEvent{{State: "set", Status: "stored", ECU: "7E8", Code: "P0A80"}}, st, up, r, log)
	st.Flush()
	if n := countEvents(t, st, time.Time{}, time.Time{}); n != 0 {
		t.Fatalf("%d events stored with an untrusted clock", n)
	}
	// NTP sets the clock at mono 10 s; no frame follows.
	advance(5 * time.Second)
	real := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	wall.Store(real.UnixNano())
	synced.Store(true)
	if !gate.Check() {
		t.Fatal("clock not sane after the step")
	}
	r.releaseWhenSane(context.Background()) // returns once released
	st.Flush()

	at := func(m time.Duration) time.Time { return real.Add(m - 10*time.Second) } // mono m on the true clock
	var frames []time.Time
	it := st.Frames(context.Background(), real.Add(-time.Hour), real.Add(time.Hour), -1)
	for it.Next() {
		f := it.Frame()
		frames = append(frames, f.Timestamp())
	}
	if len(frames) != 1 || !frames[0].Equal(at(0)) {
		t.Fatalf("frames at %v, want one at %v", frames, at(0))
	}
	want := []struct {
		kind string
		at   time.Time
	}{{"gbt32960", at(0)}, {"diagnosis", at(4 * time.Second)}, {"dtc", at(5 * time.Second)}}
	eit := st.Events(context.Background(), time.Time{}, time.Time{}, "")
	var i int
	for ; eit.Next(); i++ {
		ev := eit.Event()
		if i >= len(want) || ev.Kind != want[i].kind || !ev.Time.Equal(want[i].at) {
			t.Errorf("event %d: %s at %v, want %+v", i, ev.Kind, ev.Time.UTC(), want[min(i, len(want)-1)])
			continue
		}
		switch ev.Kind {
		case "gbt32960":
			var body alarmEvent
			json.Unmarshal(ev.Body, &body)
			if !body.Since.Equal(at(-3 * time.Second)) {
				t.Errorf("alarm since %v, want %v", body.Since, at(-3*time.Second))
			}
		case "diagnosis":
			var body detect.Diagnosis
			json.Unmarshal(ev.Body, &body)
			if body.Window == nil || !body.Time.Equal(at(4*time.Second)) || !body.Window.From.Equal(at(0)) || !body.Window.To.Equal(at(4*time.Second)) ||
				!body.Window.PinFrom.Equal(at(-time.Minute)) || !body.Window.PinTo.Equal(at(4*time.Second+time.Minute)) {
				t.Errorf("diagnosis times: %v window %+v", body.Time, body.Window)
			}
		}
	}
	if i != len(want) || eit.Err() != nil {
		t.Fatalf("%d events (%v), want %d", i, eit.Err(), len(want))
	}
	if pins := st.Pins(); len(pins) != 1 || !pins[0].From.Equal(at(-time.Minute)) || !pins[0].To.Equal(at(4*time.Second+time.Minute)) {
		t.Errorf("pins %+v, want one around the detection on the true clock", pins)
	}
	// The uplink got the same events, in order, with the same times.
	msgs, err := st.NextBatch(10)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range msgs {
		var e uplink.Event
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
		if strings.Contains(string(m.Payload), "1970-") {
			t.Errorf("uplink %s message carries a 1970 time: %s", e.Kind, m.Payload)
		}
		if e.Kind == "gbt32960" && !strings.Contains(string(e.Body), `"since":"`+at(-3*time.Second).Format(time.RFC3339)) {
			t.Errorf("uplink alarm body %s, want since %v", e.Body, at(-3*time.Second))
		}
	}
	if strings.Join(kinds, ",") != "gbt32960,diagnosis,dtc" {
		t.Errorf("uplink events %v", kinds)
	}
	// From now on events pass at once.
	l.dtcs.record(wallNow(), []dtcEvent{{State: "cleared", Status: "stored", ECU: "7E8", Code: "P0A80"}}, st, up, r, log)
	st.Flush()
	if n := countEvents(t, st, real, real.Add(time.Second)); n != 1 {
		t.Errorf("%d events at the sane time after the release, want 1", n)
	}
}

func countEvents(t *testing.T, st *store.Store, from, to time.Time) int {
	t.Helper()
	it := st.Events(context.Background(), from, to, "")
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// bootClocks are the clocks of a head unit without RTC, for the tests:
// the wall clock starts at 1970 + 100 s and is stepped to the real date
// by "NTP" (wall.Store, synced.Store); the monotonic clock runs steadily.
type bootClocks struct {
	mono, wall atomic.Int64
	synced     atomic.Bool
	gate       *wallclock.Gate
}

func newBootClocks(t *testing.T) *bootClocks {
	t.Helper()
	c := &bootClocks{}
	c.wall.Store(time.Unix(100, 0).UnixNano())
	c.gate = wallclock.New(wallclock.Options{Min: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RTC: false,
		Now: c.now, Mono: func() time.Duration { return time.Duration(c.mono.Load()) }, Synced: c.synced.Load})
	if c.gate.Sane() {
		t.Fatal("a 1970 clock is sane")
	}
	return c
}

// now is the wall clock.
func (c *bootClocks) now() time.Time { return time.Unix(0, c.wall.Load()) }

// advance moves both clocks by d.
func (c *bootClocks) advance(d time.Duration) { c.mono.Add(int64(d)); c.wall.Add(int64(d)) }

// recorder opens a store in a temporary folder on the wall clock (closed
// at the end of the test) and a recorder that holds what it gets until
// the clock is sane.
func (c *bootClocks) recorder(t *testing.T, db *signals.Database) (*store.Store, *storeRecorder) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir(), CommitInterval: -1, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := newStoreRecorder(st, db, false, c.gate)
	r.now = c.now
	return st, r
}
