package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// SignalID is a signal name interned by the Store (see Intern).
type SignalID int64

// sigAgg is the summary of one signal's current second, counting the
// values added since it was last written (the row is upserted, combining).
type sigAgg struct {
	sec                 int64
	min, max, sum, last float64
	n                   int64
	has                 bool // sec is meaningful
	fresh               bool // the (sec, sig) row has not been written yet
	inDirty             bool
}

// sigRow is a summary waiting to be upserted into signal_1s.
type sigRow struct {
	sec, sig            int64
	min, max, sum, last float64
	n                   int64
	fresh               bool
}

func (a *sigAgg) row(id int64) sigRow {
	return sigRow{sec: a.sec, sig: id, min: a.min, max: a.max, sum: a.sum, last: a.last, n: a.n, fresh: a.fresh}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// AddValue records a decoded value of the signal name (a VSS path or
// "Message.Signal") at t (unix ns). It only updates the signal's summary
// of the current second in memory: a map lookup and a few comparisons.
// NaN values are ignored, and so are values after Close.
func (s *Store) AddValue(name string, t int64, v float64) {
	s.mu.Lock()
	id, ok := s.names[name]
	if !ok {
		id = s.internLocked(name)
	}
	s.addLocked(id, t, v)
	s.mu.Unlock()
}

// Intern interns a signal name and returns its id, for AddValueID.
func (s *Store) Intern(name string) SignalID {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.names[name]
	if !ok {
		id = s.internLocked(name)
	}
	return SignalID(id)
}

// AddValueID is AddValue without the name lookup. Unknown ids are ignored.
func (s *Store) AddValueID(id SignalID, t int64, v float64) {
	s.mu.Lock()
	if id >= 0 && int64(id) < int64(len(s.sigs)) {
		s.addLocked(int64(id), t, v)
	}
	s.mu.Unlock()
}

func (s *Store) internLocked(name string) int64 {
	id := s.nextIDs.name
	s.nextIDs.name++
	s.names[name] = id
	s.nameOf = append(s.nameOf, name)
	s.sigs = append(s.sigs, sigAgg{})
	s.buf.names = append(s.buf.names, id)
	return id
}

func (s *Store) addLocked(id, t int64, v float64) {
	if v != v || s.closed {
		return
	}
	sec := floorDiv(t, 1e9)
	a := &s.sigs[id]
	if a.n > 0 && a.sec != sec {
		s.buf.sigRows = append(s.buf.sigRows, a.row(id))
		a.n = 0
	}
	if a.n == 0 {
		if !a.has || a.sec != sec {
			a.sec, a.has, a.fresh = sec, true, true
		}
		a.min, a.max, a.sum = v, v, 0
		if !a.inDirty {
			a.inDirty = true
			s.buf.dirty = append(s.buf.dirty, id)
		}
	}
	a.min = min(a.min, v)
	a.max = max(a.max, v)
	a.sum += v
	a.last = v
	a.n++
	if !s.buf.hasMaxSec || sec > s.buf.maxSec {
		s.buf.maxSec, s.buf.hasMaxSec = sec, true
	}
	if s.buf.hasRollDone {
		if m := floorDiv(sec, 60); m <= s.buf.rollDone && len(s.buf.late) < maxLateMinutes {
			if s.buf.late == nil {
				s.buf.late = map[int64]struct{}{}
			}
			s.buf.late[m] = struct{}{}
		}
	}
}

// maxLateMinutes bounds the minutes whose rollups are recomputed because
// values arrived after they were rolled up.
const maxLateMinutes = 1024

// takeSignalsLocked moves every non-empty current second into the batch.
func (s *Store) takeSignalsLocked() {
	for _, id := range s.buf.dirty {
		a := &s.sigs[id]
		if a.n > 0 {
			s.buf.sigRows = append(s.buf.sigRows, a.row(id))
			a.n, a.fresh = 0, false
		}
		a.inDirty = false
	}
	s.buf.dirty = s.buf.dirty[:0]
}

// SignalNames returns the names of all signals ever recorded, by id.
func (s *Store) SignalNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.nameOf...)
}

// Summary is a signal's summary over one second or one minute.
type Summary struct {
	Time  time.Time // start of the second or minute
	Min   float64
	Max   float64
	Mean  float64
	Last  float64 // the last value added
	Count int64
}

// SignalIter streams summaries in time order, like FrameIter.
type SignalIter struct {
	s      *Store
	ctx    context.Context
	table  string
	unit   int64 // seconds per bucket
	sig    int64
	cur    int64 // next bucket key to look up
	hi     int64 // end bucket key (exclusive)
	page   []Summary
	pi     int
	sum    Summary
	err    error
	done   bool
	probed bool // whether the data bounds were applied
}

// Signals returns an iterator over the summaries of name whose bucket
// (second or minute: resolution time.Second or time.Minute) starts in
// [from truncated to the bucket, to). A zero from or to is unbounded. An
// unknown name gives no summaries. Minutes appear once they are over.
func (s *Store) Signals(ctx context.Context, name string, from, to time.Time, resolution time.Duration) *SignalIter {
	it := &SignalIter{s: s, ctx: ctx}
	switch resolution {
	case time.Second:
		it.table, it.unit = "signal_1s", 1
	case time.Minute:
		it.table, it.unit = "signal_1m", 60
	default:
		it.err = fmt.Errorf("store: resolution %v (want 1s or 1m)", resolution)
		return it
	}
	s.mu.Lock()
	id, ok := s.names[name]
	s.mu.Unlock()
	if !ok {
		it.done = true
		return it
	}
	it.sig = id
	bucket := int64(1e9) * it.unit
	it.cur = floorDiv(timeNS(from, math.MinInt64), bucket)
	end := timeNS(to, math.MaxInt64)
	it.hi = floorDiv(end, bucket)
	if it.hi*bucket < end || end == math.MaxInt64 {
		it.hi++
	}
	return it
}

// signalPage is how many buckets one page looks up.
const signalPage = 2048

// Next advances to the next summary.
func (it *SignalIter) Next() bool {
	for it.pi >= len(it.page) {
		if it.err != nil || it.done {
			return false
		}
		it.fetch()
	}
	it.sum = it.page[it.pi]
	it.pi++
	return true
}

// fetch reads the next page. It looks up the buckets of the signal one by
// one through the table's (time, sig) key, which costs the same whatever
// the number of signals; gaps without data are skipped in one step.
func (it *SignalIter) fetch() {
	if err := it.ctx.Err(); err != nil {
		it.err = err
		return
	}
	key := "sec"
	if it.unit == 60 {
		key = "minute"
	}
	db := it.s.db
	if !it.probed {
		it.probed = true
		// Two queries: SQLite answers a lone min() or max() from the end
		// of the key, but scans the table for both at once.
		var lo, hi sql.NullInt64
		err := db.QueryRowContext(it.ctx, fmt.Sprintf("SELECT min(%s) FROM %s", key, it.table)).Scan(&lo)
		if err == nil {
			err = db.QueryRowContext(it.ctx, fmt.Sprintf("SELECT max(%s) FROM %s", key, it.table)).Scan(&hi)
		}
		if err != nil {
			it.fail(err)
			return
		}
		if !lo.Valid {
			it.done = true
			return
		}
		it.cur = max(it.cur, lo.Int64)
		it.hi = min(it.hi, hi.Int64+1)
	}
	if it.cur >= it.hi {
		it.done = true
		return
	}
	end := it.hi
	if it.hi-it.cur > signalPage {
		end = it.cur + signalPage
	}
	q := fmt.Sprintf(`WITH RECURSIVE k(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM k WHERE x + 1 < ?)
		SELECT t.%[1]s, t.min, t.max, t.sum, t.last, t.n FROM k JOIN %[2]s AS t ON t.%[1]s = k.x AND t.sig = ?
		ORDER BY t.%[1]s`, key, it.table)
	rows, err := db.QueryContext(it.ctx, q, it.cur, end, it.sig)
	if err != nil {
		it.fail(err)
		return
	}
	it.page, it.pi = it.page[:0], 0
	for rows.Next() {
		var k, n int64
		var sum Summary
		var total float64
		if err := rows.Scan(&k, &sum.Min, &sum.Max, &total, &sum.Last, &n); err != nil {
			rows.Close()
			it.fail(err)
			return
		}
		sum.Time = time.Unix(k*it.unit, 0)
		sum.Count = n
		if n > 0 {
			sum.Mean = total / float64(n)
		}
		it.page = append(it.page, sum)
	}
	if err := closeRows(rows); err != nil {
		it.fail(err)
		return
	}
	it.cur = end
	if len(it.page) == 0 && it.cur < it.hi {
		// Skip the gap to the next bucket with any data.
		var next sql.NullInt64
		err := db.QueryRowContext(it.ctx, fmt.Sprintf("SELECT min(%[1]s) FROM %[2]s WHERE %[1]s >= ?", key, it.table), it.cur).Scan(&next)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			it.fail(err)
			return
		}
		if !next.Valid {
			it.done = true
			return
		}
		it.cur = max(it.cur, next.Int64)
	}
}

func (it *SignalIter) fail(err error) { it.err = fmt.Errorf("store: signals: %w", err) }

// Summary returns the current summary.
func (it *SignalIter) Summary() Summary { return it.sum }

// Err returns the error that ended the iteration, if any.
func (it *SignalIter) Err() error { return it.err }

// Close releases the iterator and returns Err.
func (it *SignalIter) Close() error {
	it.done = true
	it.page = nil
	return it.err
}
