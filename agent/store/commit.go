package store

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// pending is what writers buffered since the last commit (guarded by
// Store.mu).
type pending struct {
	sealed []rawBlock
	frames int // frames in sealed and open blocks

	names     []int64 // signal ids whose name is not written yet
	sigRows   []sigRow
	dirty     []int64 // signals with a current second in memory
	maxSec    int64   // newest second of any value
	hasMaxSec bool

	rollDone    int64 // mirror of the writer's: minutes already rolled up
	hasRollDone bool
	late        map[int64]struct{} // rolled-up minutes that got new values

	events  []Event
	outbox  []OutMsg
	acks    []int64
	ackSet  map[int64]struct{} // acks not committed yet
	pinAdds []Pin
	pinDels []int64
	metas   map[string]int64 // meta rows to write (counters, sequences, nonces)
}

// batch is one commit's worth of writes.
type batch struct {
	blocks  []rawBlock
	encoded []encBlock
	frames  int
	names   []nameRow
	sigRows []sigRow
	late    []int64
	maxSec  int64
	hasMax  bool
	events  []Event
	outbox  []OutMsg
	acks    []int64
	pinAdds []Pin
	pinDels []int64
	// nextEvent, nextOutbox are the ids to come, kept in meta so that ids
	// are never reused even when the tables empty.
	nextEvent, nextOutbox int64
	metas                 map[string]int64
	final                 bool // Flush or Close: roll up the current minute too
}

type nameRow struct {
	id   int64
	name string
}

type encBlock struct {
	bus           uint8
	tFirst, tLast int64
	n             int
	blob          []byte
}

func (b *batch) empty() bool {
	return len(b.blocks) == 0 && len(b.encoded) == 0 && len(b.names) == 0 && len(b.sigRows) == 0 &&
		len(b.late) == 0 && len(b.events) == 0 && len(b.outbox) == 0 && len(b.acks) == 0 &&
		len(b.pinAdds) == 0 && len(b.pinDels) == 0 && len(b.metas) == 0
}

// incoming estimates the bytes the batch adds to each class.
func (b *batch) incoming() (in [numClasses]int64) {
	for _, e := range b.encoded {
		in[classFrames] += frameRowBytes(len(e.blob))
	}
	for i := range b.sigRows {
		if b.sigRows[i].fresh {
			in[classSignals] += sigRowBytes
		}
	}
	for _, ev := range b.events {
		in[classEvents] += eventRowBytes(len(ev.Kind), len(ev.Source), len(ev.Body))
	}
	for _, m := range b.outbox {
		in[classOutbox] += outboxRowBytes(len(m.Kind), len(m.Topic), len(m.Payload))
	}
	return in
}

// merge appends the newer batch n to b (a failed batch being retried).
func (b *batch) merge(n *batch) *batch {
	b.blocks = append(b.blocks, n.blocks...)
	b.frames += n.frames
	b.names = append(b.names, n.names...)
	b.sigRows = append(b.sigRows, n.sigRows...)
	b.late = append(b.late, n.late...)
	if n.hasMax && (!b.hasMax || n.maxSec > b.maxSec) {
		b.maxSec, b.hasMax = n.maxSec, true
	}
	b.events = append(b.events, n.events...)
	b.outbox = append(b.outbox, n.outbox...)
	b.acks = append(b.acks, n.acks...)
	b.pinAdds = append(b.pinAdds, n.pinAdds...)
	b.pinDels = append(b.pinDels, n.pinDels...)
	b.nextEvent, b.nextOutbox = n.nextEvent, n.nextOutbox
	if len(n.metas) > 0 && b.metas == nil {
		b.metas = map[string]int64{}
	}
	for k, v := range n.metas {
		b.metas[k] = v
	}
	b.final = b.final || n.final
	return b
}

// take moves the buffers into a batch (with mu held).
func (s *Store) takeLocked(final bool) *batch {
	s.expireLocked(s.opts.Now())
	s.sealAllLocked()
	s.takeSignalsLocked()
	p := &s.buf
	b := &batch{
		blocks:     p.sealed,
		frames:     p.frames,
		sigRows:    p.sigRows,
		maxSec:     p.maxSec,
		hasMax:     p.hasMaxSec,
		events:     p.events,
		outbox:     p.outbox,
		acks:       p.acks,
		pinAdds:    p.pinAdds,
		pinDels:    p.pinDels,
		nextEvent:  s.nextIDs.event,
		nextOutbox: s.nextIDs.outbox,
		metas:      p.metas,
		final:      final,
	}
	for _, id := range p.names {
		b.names = append(b.names, nameRow{id, s.nameOf[id]})
	}
	for m := range p.late {
		b.late = append(b.late, m)
	}
	p.sealed, p.frames, p.sigRows, p.names, p.late = nil, 0, nil, nil, nil
	p.events, p.outbox, p.acks, p.pinAdds, p.pinDels, p.metas = nil, nil, nil, nil, nil, nil
	return b
}

// commit writes everything buffered in one transaction. Errors are
// counted, reported through OnError once per episode, and returned; the
// batch is kept and retried first by the next commit.
func (s *Store) commit(final bool) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.shut {
		return ErrClosed
	}
	s.mu.Lock()
	s.writing = s.opts.Now()
	b := s.takeLocked(final)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.writing = time.Time{}
		s.mu.Unlock()
	}()
	if s.retry != nil {
		b = s.retry.merge(b)
		s.retry = nil
	}
	if b.empty() && !(final && s.partialStale) {
		return nil
	}
	// Encode the blocks outside mu: writers keep appending meanwhile.
	for _, rb := range b.blocks {
		f := rb.frames
		b.encoded = append(b.encoded, encBlock{
			bus:    rb.bus,
			tFirst: f[0].Time,
			tLast:  f[len(f)-1].Time,
			n:      len(f),
			blob:   s.enc.encode(nil, f),
		})
	}
	s.mu.Lock()
	for _, rb := range b.blocks {
		s.recycle(rb.frames)
	}
	s.mu.Unlock()
	b.blocks = nil

	err := s.writeWithRetries(b)
	s.mu.Lock()
	s.failing = err != nil
	if err != nil {
		s.stats.writeErrors++
		s.retry = b
		s.limitRetryLocked()
		first := !s.inError
		s.inError = true
		s.mu.Unlock()
		if first && !errors.Is(err, ErrDiskFull) { // a full disk is reported by writeWithRetries
			s.report(err)
		}
		return err
	}
	defer s.mu.Unlock()
	s.inError = false
	s.stats.commits++
	s.stats.framesCommitted += uint64(b.frames)
	for _, id := range b.acks {
		delete(s.buf.ackSet, id)
	}
	s.buf.rollDone, s.buf.hasRollDone = s.rollDone, s.hasRoll
	s.publishLocked()
	return nil
}

// CommitRunning reports whether a commit holds the writer now and, if so,
// since when (by Options.Now). A commit blocked in a write for long (a
// hung eMMC) shows here; one that fails fast (a full disk) does not. A
// commit waiting for another to finish is not counted: the one writing is.
func (s *Store) CommitRunning() (since time.Time, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writing, !s.writing.IsZero()
}

// limitRetryLocked drops the oldest frame blocks of a failed batch beyond
// MaxPending.
func (s *Store) limitRetryLocked() {
	var size int64
	for _, e := range s.retry.encoded {
		size += int64(len(e.blob))
	}
	for size > s.opts.MaxPending/2 && len(s.retry.encoded) > 0 {
		e := s.retry.encoded[0]
		s.retry.encoded = s.retry.encoded[1:]
		size -= int64(len(e.blob))
		s.retry.frames -= e.n
		s.stats.droppedFrames += uint64(e.n)
	}
}

func (s *Store) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}

// maxFullRetries is how many times a commit that hit a full disk evicts
// harder and tries again.
const maxFullRetries = 4

// fullEpisodeGap is how long the disk must not be found full before a new
// disk-full episode can be reported.
const fullEpisodeGap = 10 * time.Minute

// writeWithRetries writes b; on a full disk it caps the store below its
// current size, evicts, gives space back, and retries. The first failure
// of an episode is counted and reported; the episode ends with a commit
// that succeeds at once when the disk has not been found full for
// fullEpisodeGap (a store that keeps bumping into a full disk while it
// settles under its new cap reports it once).
func (s *Store) writeWithRetries(b *batch) error {
	var report error
	defer func() {
		if report != nil {
			s.report(report)
		}
	}()
	for attempt := 0; ; attempt++ {
		err := s.write(b)
		if err == nil {
			if attempt == 0 && s.opts.Now().Sub(s.lastFull) > fullEpisodeGap {
				s.inFull = false
			}
			s.maintain()
			return nil
		}
		if !isDiskFull(err) {
			return fmt.Errorf("store: commit: %w", err)
		}
		if attempt == maxFullRetries {
			return fmt.Errorf("%w: %v (after %d evictions, store capped at %d bytes)", ErrDiskFull, err, attempt, s.diskCap())
		}
		s.shrinkForFullDisk(attempt)
		s.lastFull = s.opts.Now()
		if attempt == 0 && !s.inFull {
			s.inFull = true
			s.mu.Lock()
			s.stats.diskFull++
			s.mu.Unlock()
			report = fmt.Errorf("%w: %v; evicted down to %d bytes", ErrDiskFull, err, s.diskCap())
		}
	}
}

// shrinkForFullDisk makes room after a commit failed for want of space.
// On a full disk SQLite can be stuck: the WAL cannot grow, and it cannot
// be checkpointed either when the database file must grow to take pages
// appended since the last checkpoint. So the store first deletes its
// reserve file (see ensureReserve), which lets the checkpoint complete and
// the WAL be truncated; then it lowers its size cap below what it uses
// now (10% more each attempt), evicts down to it, and gives the freed
// pages back to the file system. The reserve is made again by maintain
// when there is room.
func (s *Store) shrinkForFullDisk(attempt int) {
	s.dropReserve()
	s.exec("PRAGMA wal_checkpoint(TRUNCATE)")
	s.measure()
	s.capFromFS()
	limit := int64(float64(s.usedBytes()) * (0.9 - 0.1*float64(attempt)))
	if s.fullCap == 0 || limit < s.fullCap {
		s.fullCap = max(limit, s.pageSize*basePages)
		s.fullRoom = s.room
	}
	if _, err := s.exec("BEGIN IMMEDIATE"); err == nil {
		usage := s.usage
		err := s.evict(&usage, nil)
		if err == nil {
			err = s.saveUsage(&usage)
		}
		if err == nil {
			_, err = s.exec("COMMIT")
		}
		if err != nil {
			s.exec("ROLLBACK")
		} else {
			s.usage = usage
		}
	}
	s.drain("PRAGMA incremental_vacuum")
	s.exec("PRAGMA wal_checkpoint(TRUNCATE)")
	s.measure()
	s.applyWALLimit()
}

// write runs one commit transaction: the batch, the rollups it closes,
// eviction, and the usage it leaves.
func (s *Store) write(b *batch) (err error) {
	if _, err = s.exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.exec("ROLLBACK")
		}
	}()
	usage := s.usage
	rollDone, hasRoll := s.rollDone, s.hasRoll

	// Make room first, so that the inserts reuse the freed pages.
	incoming := b.incoming()
	if err = s.evict(&usage, &incoming); err != nil {
		return err
	}
	for _, n := range b.names {
		if _, err = s.exec("INSERT OR IGNORE INTO signal_names (id, name) VALUES (?, ?)", n.id, n.name); err != nil {
			return err
		}
	}
	var span int64
	for _, e := range b.encoded {
		if _, err = s.exec("INSERT INTO frame_blocks (bus, t_first, t_last, n, codec, blob) VALUES (?, ?, ?, ?, ?, ?)",
			int64(e.bus), e.tFirst, e.tLast, e.n, codecColumnarZstd, e.blob); err != nil {
			return err
		}
		usage[classFrames].add(frameRowBytes(len(e.blob)), 1)
		span = max(span, e.tLast-e.tFirst)
	}
	for i := range b.sigRows {
		// The count after the upsert tells whether the row is new (it is
		// the batch's count) or was completed (it is larger).
		r := &b.sigRows[i]
		var n int64
		if err = s.queryRow(`INSERT INTO signal_1s (sec, sig, min, max, sum, last, n) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (sec, sig) DO UPDATE SET min = min(min, excluded.min), max = max(max, excluded.max),
			sum = sum + excluded.sum, last = excluded.last, n = n + excluded.n RETURNING n`,
			r.sec, r.sig, r.min, r.max, r.sum, r.last, r.n).Scan(&n); err != nil {
			return err
		}
		if n == r.n {
			usage[classSignals].add(sigRowBytes, 1)
		}
	}
	if err = s.rollup(b, &usage, &rollDone, &hasRoll); err != nil {
		return err
	}
	for _, ev := range b.events {
		if _, err = s.exec("INSERT INTO events (id, t, kind, severity, source, body) VALUES (?, ?, ?, ?, ?, ?)",
			ev.ID, ev.Time.UnixNano(), ev.Kind, ev.Severity, ev.Source, nonNil(ev.Body)); err != nil {
			return err
		}
		usage[classEvents].add(eventRowBytes(len(ev.Kind), len(ev.Source), len(ev.Body)), 1)
	}
	for _, m := range b.outbox {
		if _, err = s.exec("INSERT INTO outbox (id, kind, priority, topic, payload, qos, retain, t) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			m.ID, m.Kind, m.Priority, m.Topic, nonNil(m.Payload), m.QoS, m.Retain, m.Time.UnixNano()); err != nil {
			return err
		}
		usage[classOutbox].add(outboxRowBytes(len(m.Kind), len(m.Topic), len(m.Payload)), 1)
	}
	for _, id := range b.acks {
		var size sql.NullInt64
		err = s.queryRow("DELETE FROM outbox WHERE id = ? RETURNING "+outboxSizeExpr, id).Scan(&size)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
			continue
		}
		if err != nil {
			return err
		}
		usage[classOutbox].add(-size.Int64, -1)
	}
	for _, p := range b.pinAdds {
		var exp int64
		if !p.Expires.IsZero() {
			exp = p.Expires.UnixNano()
		}
		if _, err = s.exec("INSERT OR REPLACE INTO pins (id, t_from, t_to, reason, expires, created) VALUES (?, ?, ?, ?, ?, ?)",
			p.ID, p.From.UnixNano(), p.To.UnixNano(), p.Reason, exp, p.Created.UnixNano()); err != nil {
			return err
		}
	}
	for _, id := range b.pinDels {
		if _, err = s.exec("DELETE FROM pins WHERE id = ?", id); err != nil {
			return err
		}
	}
	if len(b.events) > 0 {
		if err = s.setMeta(metaEventNext, b.nextEvent); err != nil {
			return err
		}
	}
	if len(b.outbox) > 0 {
		if err = s.setMeta(metaOutboxNext, b.nextOutbox); err != nil {
			return err
		}
	}
	for k, v := range b.metas {
		if err = s.setMeta(k, v); err != nil {
			return err
		}
	}
	maxSpan := s.maxSpan.Load()
	if span > maxSpan {
		maxSpan = span
		if err = s.setMeta(metaMaxSpan, maxSpan); err != nil {
			return err
		}
	}
	// Rollups and estimates may still leave a class over its limit.
	if err = s.evict(&usage, nil); err != nil {
		return err
	}
	if err = s.saveUsage(&usage); err != nil {
		return err
	}
	if _, err = s.exec("COMMIT"); err != nil {
		return err
	}
	s.usage = usage
	s.rollDone, s.hasRoll = rollDone, hasRoll
	s.maxSpan.Store(maxSpan)
	// Whether the rollup of the minute in progress lags its 1 s rows.
	s.partialStale = !b.final && (s.partialStale || len(b.sigRows) > 0 || len(b.late) > 0)
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *Store) setMeta(key string, v int64) error {
	_, err := s.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, v)
	return err
}

func (s *Store) saveUsage(u *[numClasses]classUsage) error {
	for c := range numClasses {
		if u[c] == s.usage[c] {
			continue
		}
		if _, err := s.exec("UPDATE class_usage SET bytes = ?, rows = ?, evicted_rows = ?, evicted_bytes = ? WHERE class = ?",
			u[c].bytes, u[c].rows, u[c].evictedRows, u[c].evictedBytes, c); err != nil {
			return err
		}
	}
	return nil
}

// rollup computes the one-minute rollups of the minutes that are over
// (before the newest second's minute; at Flush and Close the newest minute
// too, without marking it done) and of minutes that got late values.
func (s *Store) rollup(b *batch, usage *[numClasses]classUsage, rollDone *int64, hasRoll *bool) error {
	type span struct{ lo, hi int64 } // minutes [lo, hi)
	var spans []span
	if b.hasMax {
		newest := floorDiv(b.maxSec, 60)
		lo := int64(math.MinInt64 / 120) // everything: no minute rolled up yet
		if *hasRoll {
			lo = *rollDone + 1
		}
		hi := newest // the newest minute is not over
		if b.final {
			hi = newest + 1
		}
		if lo < hi {
			spans = append(spans, span{lo, hi})
		}
		if !*hasRoll || newest-1 > *rollDone {
			*rollDone, *hasRoll = newest-1, true
		}
	}
	slices.Sort(b.late)
	for _, m := range b.late {
		if len(spans) > 0 && m >= spans[0].lo && m < spans[0].hi {
			continue
		}
		spans = append(spans, span{m, m + 1})
	}
	for _, sp := range spans {
		res, err := s.exec("DELETE FROM signal_1m WHERE minute >= ? AND minute < ?", sp.lo, sp.hi)
		if err != nil {
			return err
		}
		gone, _ := res.RowsAffected()
		res, err = s.exec(`INSERT INTO signal_1m (minute, sig, min, max, sum, last, n)
			SELECT g.m, g.sig, g.mn, g.mx, g.sm, t.last, g.cnt
			FROM (SELECT (sec - ((sec % 60) + 60) % 60) / 60 AS m, sig, min(min) AS mn, max(max) AS mx,
					sum(sum) AS sm, sum(n) AS cnt, max(sec) AS ms
				FROM signal_1s WHERE sec >= ? AND sec < ? GROUP BY m, sig) AS g
			JOIN signal_1s AS t ON t.sec = g.ms AND t.sig = g.sig`,
			mulSat(sp.lo, 60), mulSat(sp.hi, 60))
		if err != nil {
			return err
		}
		added, _ := res.RowsAffected()
		usage[classRollups].add(sigRowBytes*(added-gone), added-gone)
	}
	return nil
}

// mulSat returns a*b saturated to the int64 range.
func mulSat(a, b int64) int64 {
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	if a < math.MinInt64/b {
		return math.MinInt64
	}
	return a * b
}
