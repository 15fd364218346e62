package main

import (
	"time"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
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
}

// maxPendingReplay is how many frames a replay lets wait for a commit
// before it pauses: two early-commit batches (about 6 MB).
const maxPendingReplay = 1 << 18

func newStoreRecorder(st *store.Store, db *signals.Database, wait bool) *storeRecorder {
	r := &storeRecorder{st: st, ids: make([]store.SignalID, len(db.Signals)), wait: wait}
	for _, s := range db.Signals {
		name := s.VSS()
		if name == "" {
			name = s.FullName()
		}
		r.ids[s.Index] = st.Intern(name)
	}
	return r
}

func (r *storeRecorder) AppendFrames(frames []can.Frame) error {
	if err := r.st.AppendFrames(frames); err != nil {
		return err
	}
	for r.wait && r.st.Pending() > maxPendingReplay {
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

func (r *storeRecorder) RecordValues(vals []signals.Value, t int64) {
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
