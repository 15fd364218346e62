package main

import (
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
	clock   *wallclock.Gate
	log     *slog.Logger     // nil: discard
	now     func() time.Time // the wall clock the frames were stamped with
	live    atomic.Bool      // stamps trusted: pass through
	mu      sync.Mutex
	frames  []heldFrame
	vals    []heldValue
	dropped uint64 // held items dropped at the bounds
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
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live.Load() {
		return false
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
	if r.log != nil {
		r.log.Info("clock sane: held data stored at its wall times", "frames", len(frames), "values", len(r.vals), "dropped_while_held", r.dropped)
		if err != nil {
			r.log.Error("storing the frames held for the clock", "frames", len(frames), "err", err)
		}
	}
	r.frames, r.vals = nil, nil
	r.live.Store(true)
	return false
}

// mono places stamp t (unix ns on the untrusted wall clock) on the
// monotonic clock by its age now; ages are bounded to 0..10 s, so a clock
// step between stamping and recording cannot throw it far.
func (r *storeRecorder) mono(t int64) wallclock.Mono {
	age := max(0, min(r.now().UnixNano()-t, int64(10*time.Second)))
	return r.clock.Mono() - wallclock.Mono(age)
}

func (r *storeRecorder) AppendFrames(frames []can.Frame) error {
	if r.holding() {
		r.mu.Lock()
		for _, f := range frames {
			if len(r.frames) >= maxHeldFrames {
				r.frames = r.frames[1:]
				r.dropped++
			}
			r.frames = append(r.frames, heldFrame{f, r.mono(f.Time)})
		}
		r.mu.Unlock()
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

func (r *storeRecorder) RecordValues(vals []signals.Value, t int64) {
	if r.holding() {
		r.mu.Lock()
		m := r.mono(t)
		for i := range vals {
			if len(r.vals) >= maxHeldValues {
				r.vals = r.vals[1:]
				r.dropped++
			}
			r.vals = append(r.vals, heldValue{r.ids[vals[i].Signal.Index], m, vals[i].Value})
		}
		r.mu.Unlock()
		return
	}
	for i := range vals {
		r.st.AddValueID(r.ids[vals[i].Signal.Index], t, vals[i].Value)
	}
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
