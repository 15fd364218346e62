package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/wallclock"
	"github.com/evedge/evedge/drivers/can"
)

// storeRecorder adapts the store to agent.Recorder: every signal of the DBC
// is interned once, so recording a value is an index and a store call.
type storeRecorder struct {
	st  *store.Store
	ids []store.SignalID
	// wait applies backpressure: a replay waits for commits instead of
	// outrunning them (live buses never wait).
	wait bool

	// clock, when set and not yet sane (a board without RTC before NTP),
	// makes the recorder hold frames and values with monotonic stamps
	// instead of storing wall-clock stamps it cannot trust; once the
	// clock is sane they are stamped through clock.Wall and stored.
	//
	// Events and uplink messages go through the same hold (Stamped), so
	// that everything made before the clock was sane carries the same,
	// true, wall times: the diagnosis of a fault and the frames it points
	// at line up.
	clock   *wallclock.Gate
	log     *slog.Logger     // nil: discard
	now     func() time.Time // the wall clock the frames were stamped with
	live    atomic.Bool      // stamps trusted: pass through
	mu      sync.Mutex
	frames  []heldFrame
	vals    []heldValue
	later   []heldAction
	dropped uint64 // held items dropped at the bounds
}

// heldAction is work stamped with the untrusted wall clock (recording an
// event, publishing it) that waits for the clock.
type heldAction struct {
	t  int64 // the stamp it was given, unix ns on the untrusted clock
	m  wallclock.Mono
	do func(shift time.Duration)
}

type heldFrame struct {
	f can.Frame
	m wallclock.Mono
}

type heldValue struct {
	id store.SignalID
	m  wallclock.Mono
	v  float64
}

// Bounds of what the recorder holds while the clock is not sane: about
// 1.5 MB of frames and 6 MB of values; beyond them the oldest go.
const (
	maxHeldFrames = 1 << 16
	maxHeldValues = 1 << 18
	// maxHeldActions bounds the events waiting: alarms and detections
	// change a few times a drive, trouble codes at each read.
	maxHeldActions = 4096
)

// maxPendingReplay is how many frames a replay lets wait for a commit
// before it pauses: two early-commit batches (about 6 MB).
const maxPendingReplay = 1 << 18

func newStoreRecorder(st *store.Store, db *signals.Database, wait bool, clock *wallclock.Gate) *storeRecorder {
	r := &storeRecorder{st: st, ids: make([]store.SignalID, len(db.Signals)), wait: wait, clock: clock, now: time.Now}
	if clock == nil || clock.Sane() {
		r.live.Store(true)
	}
	for _, s := range db.Signals {
		name := s.VSS()
		if name == "" {
			name = s.FullName()
		}
		r.ids[s.Index] = st.Intern(name)
	}
	return r
}

// holding reports whether frames must be held now; the first call after
// the clock became sane stores what was held.
func (r *storeRecorder) holding() bool {
	if r.live.Load() {
		return false
	}
	if !r.clock.Sane() {
		return true
	}
	r.release()
	return false
}

// release stores what was held at its wall times and runs the held
// actions, oldest first, then lets everything pass. It runs under mu, so
// that nothing stamped later is stored or run before what was held.
func (r *storeRecorder) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live.Load() {
		return
	}
	frames := make([]can.Frame, 0, len(r.frames))
	for _, h := range r.frames {
		t, _ := r.clock.Wall(h.m)
		h.f.Time = t.UnixNano()
		frames = append(frames, h.f)
	}
	var err error
	if len(frames) > 0 {
		err = r.st.AppendFrames(frames)
	}
	for _, h := range r.vals {
		t, _ := r.clock.Wall(h.m)
		r.st.AddValueID(h.id, t.UnixNano(), h.v)
	}
	for _, a := range r.later {
		t, _ := r.clock.Wall(a.m)
		a.do(t.Sub(time.Unix(0, a.t)))
	}
	if r.log != nil {
		r.log.Info("clock sane: held data stored at its wall times", "frames", len(frames), "values", len(r.vals),
			"events", len(r.later), "dropped_while_held", r.dropped)
		if err != nil {
			r.log.Error("storing the frames held for the clock", "frames", len(frames), "err", err)
		}
	}
	r.frames, r.vals, r.later = nil, nil, nil
	r.live.Store(true)
}

// releaseWhenSane releases what is held as soon as the clock is found sane
// (Gate.Ready), not only at the next frame: a silent bus or an OBD-only
// car has no next frame. It returns then, or when ctx ends.
func (r *storeRecorder) releaseWhenSane(ctx context.Context) {
	if r.live.Load() {
		return
	}
	select {
	case <-ctx.Done():
	case <-r.clock.Ready():
		r.release()
	}
}

// trustedAt reports whether t, a stamp on the system's wall clock, is a
// true wall time: taken once the clock was sane (less the 10 s a stamp
// may wait, see mono). A nil recorder, or one whose clock was sane from
// the start, trusts every stamp.
func (r *storeRecorder) trustedAt(t time.Time) bool {
	if r == nil || r.clock == nil {
		return true
	}
	since, ok := r.clock.SaneSince()
	return ok && !t.Before(since.Add(-10*time.Second))
}

// Stamped runs do for something stamped t on the system's wall clock (an
// event at t): at once with shift 0 while wall time is trusted; while it
// is not (no RTC, before NTP), once it is, with shift the correction that
// puts t at its true wall time (t.Add(shift)), placed by the monotonic
// clock as the held frames are. Held work runs in order, after the held
// frames and values are stored; at most maxHeldActions wait, the oldest
// going first. do must not call back into the recorder. A nil recorder
// runs do at once.
func (r *storeRecorder) Stamped(t time.Time, do func(shift time.Duration)) {
	if r == nil || !r.holding() || !r.holdAction(t, do) {
		do(0)
	}
}

func (r *storeRecorder) holdAction(t time.Time, do func(time.Duration)) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live.Load() {
		return false // released since holding said otherwise
	}
	if len(r.later) >= maxHeldActions {
		r.later = r.later[1:]
		r.dropped++
	}
	r.later = append(r.later, heldAction{t.UnixNano(), r.mono(t.UnixNano()), do})
	return true
}

// mono places stamp t (unix ns on the untrusted wall clock) on the
// monotonic clock by its age now; ages are bounded to 0..10 s, so a clock
// step between stamping and recording cannot throw it far.
func (r *storeRecorder) mono(t int64) wallclock.Mono {
	age := max(0, min(r.now().UnixNano()-t, int64(10*time.Second)))
	return r.clock.Mono() - wallclock.Mono(age)
}

func (r *storeRecorder) AppendFrames(frames []can.Frame) error {
	if r.holding() && r.holdFrames(frames) {
		return nil
	}
	if err := r.st.AppendFrames(frames); err != nil {
		return err
	}
	for r.wait && r.st.Pending() > maxPendingReplay {
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// holdFrames keeps frames until the clock is sane; false when it became
// sane meanwhile (store them).
func (r *storeRecorder) holdFrames(frames []can.Frame) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live.Load() {
		return false
	}
	for _, f := range frames {
		if len(r.frames) >= maxHeldFrames {
			r.frames = r.frames[1:]
			r.dropped++
		}
		r.frames = append(r.frames, heldFrame{f, r.mono(f.Time)})
	}
	return true
}

func (r *storeRecorder) RecordValues(vals []signals.Value, t int64) {
	if r.holding() && r.holdValues(vals, t) {
		return
	}
	for i := range vals {
		r.st.AddValueID(r.ids[vals[i].Signal.Index], t, vals[i].Value)
	}
}

func (r *storeRecorder) holdValues(vals []signals.Value, t int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live.Load() {
		return false
	}
	m := r.mono(t)
	for i := range vals {
		if len(r.vals) >= maxHeldValues {
			r.vals = r.vals[1:]
			r.dropped++
		}
		r.vals = append(r.vals, heldValue{r.ids[vals[i].Signal.Index], m, vals[i].Value})
	}
	return true
}

func storeQuotas(q config.Quotas) store.Quotas {
	return store.Quotas{
		Frames:  int64(q.Frames),
		Signals: int64(q.Signals),
		Rollups: int64(q.Rollups),
		Events:  int64(q.Events),
		Outbox:  int64(q.Outbox),
	}
}
