package signals

import (
	"math"
	"sort"
	"sync/atomic"
	"time"
)

// Table holds the last known value of every signal of a Database. One
// writer (the decode stage) updates it without locks or allocation; any
// number of readers (live view, voice answers, reports) read it.
type Table struct {
	db    *Database
	slots []slot
	byVSS map[string]*Signal
}

type slot struct {
	bits  atomic.Uint64 // float64 bits of the value
	raw   atomic.Uint64
	time  atomic.Int64 // unix ns of the frame; 0 = never seen
	count atomic.Uint64
}

// NewTable returns an empty table for db's signals. Apply the signal map
// before, so that VSS lookups find mapped signals.
func NewTable(db *Database) *Table {
	t := &Table{db: db, slots: make([]slot, len(db.Signals)), byVSS: map[string]*Signal{}}
	for _, s := range db.Signals {
		if s.Mapping != nil {
			t.byVSS[s.Mapping.VSS] = s
		}
	}
	return t
}

// Update records values decoded from a frame received at time ts (unix ns).
func (t *Table) Update(vals []Value, ts int64) {
	for i := range vals {
		sl := &t.slots[vals[i].Signal.Index]
		sl.bits.Store(math.Float64bits(vals[i].Value))
		sl.raw.Store(vals[i].Raw)
		sl.time.Store(ts)
		sl.count.Add(1)
	}
}

// Sample is a signal's last known value.
type Sample struct {
	Signal *Signal
	Name   string // VSS path when mapped, else "Message.Signal"
	Value  float64
	Label  string // value-table text, when the signal has one for this value
	Unit   string
	Time   time.Time
	Count  uint64 // values seen since start
}

// Stale reports whether the sample is older than three expected periods at
// now. Signals without a rate are never stale.
func (s *Sample) Stale(now time.Time) bool {
	if s.Signal.Mapping == nil || s.Signal.Mapping.Rate.Duration == 0 {
		return false
	}
	return now.Sub(s.Time) > 3*s.Signal.Mapping.Rate.Duration
}

func (t *Table) sample(s *Signal) (Sample, bool) {
	sl := &t.slots[s.Index]
	ts := sl.time.Load()
	if ts == 0 && sl.count.Load() == 0 {
		return Sample{}, false
	}
	out := Sample{
		Signal: s,
		Value:  math.Float64frombits(sl.bits.Load()),
		Unit:   s.OutUnit(),
		Time:   time.Unix(0, ts),
		Count:  sl.count.Load(),
	}
	if s.Mapping != nil {
		out.Name = s.Mapping.VSS
	} else {
		out.Name = s.FullName()
	}
	if s.Labels != nil {
		out.Label = s.Labels[int64(sl.raw.Load())]
	}
	return out, true
}

// Get returns the last value of a VSS path or a "Message.Signal" name.
func (t *Table) Get(name string) (Sample, bool) {
	if s := t.byVSS[name]; s != nil {
		return t.sample(s)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			if s := t.db.Signal(name[:i], name[i+1:]); s != nil {
				return t.sample(s)
			}
		}
	}
	return Sample{}, false
}

// Mapped returns the last values of all mapped signals that have been seen,
// sorted by VSS path.
func (t *Table) Mapped() []Sample {
	out := make([]Sample, 0, len(t.byVSS))
	for _, s := range t.byVSS {
		if v, ok := t.sample(s); ok {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// All returns the last values of every signal seen, in DBC order.
func (t *Table) All() []Sample {
	var out []Sample
	for _, s := range t.db.Signals {
		if v, ok := t.sample(s); ok {
			out = append(out, v)
		}
	}
	return out
}

// Database returns the database the table belongs to.
func (t *Table) Database() *Database { return t.db }
