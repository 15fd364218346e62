package store

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// rawBlock is a sealed block waiting to be encoded: frames of one bus,
// sorted by time, spanning less than MaxBlockSpan.
type rawBlock struct {
	bus    uint8
	frames []can.Frame
}

// AppendFrames buffers frames for the next commit. Frames may come from any
// bus in any order; each bus's frames are cut into blocks at a second, at
// MaxBlockFrames, and wherever time goes backwards.
func (s *Store) AppendFrames(frames []can.Frame) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	for i := range frames {
		s.appendLocked(&frames[i])
	}
	full := s.afterAppendLocked()
	s.mu.Unlock()
	s.firstFrames()
	if full {
		return s.commitSoon()
	}
	return nil
}

// FirstCommitDelay is how soon after the first frames since Open the
// store commits them, instead of waiting a whole CommitInterval: a fresh
// start (or restart after a crash) has its first data on disk quickly.
const FirstCommitDelay = 250 * time.Millisecond

// firstFrames schedules the early first commit.
func (s *Store) firstFrames() {
	if s.opts.CommitInterval > FirstCommitDelay {
		s.firstKick.Do(func() { time.AfterFunc(FirstCommitDelay, s.kickCommit) })
	}
}

// WriteFrame buffers one frame; it makes the Store a can.Sink.
func (s *Store) WriteFrame(f can.Frame) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.appendLocked(&f)
	full := s.afterAppendLocked()
	s.mu.Unlock()
	s.firstFrames()
	if full {
		return s.commitSoon()
	}
	return nil
}

var _ can.Sink = (*Store)(nil)

func (s *Store) appendLocked(f *can.Frame) {
	ob := s.open[f.Bus]
	if n := len(ob); n > 0 && (f.Time < ob[n-1].Time ||
		uint64(f.Time-ob[0].Time) >= uint64(s.opts.MaxBlockSpan) ||
		n >= s.opts.MaxBlockFrames) {
		s.buf.sealed = append(s.buf.sealed, rawBlock{bus: f.Bus, frames: ob})
		ob = s.frameSlice()
	}
	s.open[f.Bus] = append(ob, *f)
	s.buf.frames++
}

// commitFrames is how many buffered frames trigger an early commit: about
// 3 MB of frames, less for small quotas, so that a transaction (and the
// WAL) stays small next to the quota.
func (s *Store) commitFrames() int {
	return int(min(1<<17, max(s.opts.Quotas.Total()/64, 1024)))
}

// afterAppendLocked enforces MaxPending and reports whether enough is
// buffered for an early commit.
func (s *Store) afterAppendLocked() bool {
	for int64(s.buf.frames)*frameMem > s.opts.MaxPending && len(s.buf.sealed) > 0 {
		b := s.buf.sealed[0]
		s.buf.sealed = s.buf.sealed[1:]
		s.buf.frames -= len(b.frames)
		s.stats.droppedFrames += uint64(len(b.frames))
		s.recycle(b.frames)
	}
	s.backlog = s.buf.frames >= 4*s.commitFrames()
	return s.buf.frames >= s.commitFrames()
}

// frameMem is the memory a buffered frame takes.
const frameMem = 24

// commitSoon starts an early commit: in the background when the commit
// loop runs, else now. A writer faster than the commits (a log replayed
// at full speed) commits itself once four early commits' worth wait, so
// that it is slowed to the commit rate instead of losing frames; while
// commits fail, frames wait in memory up to MaxPending instead.
func (s *Store) commitSoon() error {
	s.mu.Lock()
	backlog := s.backlog && !s.failing
	s.mu.Unlock()
	if s.opts.CommitInterval > 0 && !backlog {
		s.kickCommit()
		return nil
	}
	return s.commit(false)
}

func (s *Store) frameSlice() []can.Frame {
	if n := len(s.free); n > 0 {
		f := s.free[n-1]
		s.free = s.free[:n-1]
		return f[:0]
	}
	return make([]can.Frame, 0, min(s.opts.MaxBlockFrames, 512))
}

// recycle returns a frame slice for reuse (with mu held).
func (s *Store) recycle(f []can.Frame) {
	if len(s.free) < 64 && cap(f) <= 2*s.opts.MaxBlockFrames {
		s.free = append(s.free, f[:0])
	}
}

// sealAllLocked seals every open block (at a commit).
func (s *Store) sealAllLocked() {
	for bus := range s.open {
		if ob := s.open[bus]; len(ob) > 0 {
			s.buf.sealed = append(s.buf.sealed, rawBlock{bus: uint8(bus), frames: ob})
			s.open[bus] = nil
		}
	}
}

// timeNS converts a query bound: the zero Time is unbounded (lo for a
// start, hi for an end).
func timeNS(t time.Time, unbounded int64) int64 {
	if t.IsZero() {
		return unbounded
	}
	return t.UnixNano()
}

// FrameIter streams frames in time order. Use it like a scanner:
//
//	it := s.Frames(ctx, from, to, -1)
//	defer it.Close()
//	for it.Next() { f := it.Frame() ... }
//	if err := it.Err(); err != nil { ... }
type FrameIter struct {
	s        *Store
	ctx      context.Context
	from, to int64
	bus      int

	lo        int64 // lower bound of t_first for the next page
	curT      int64 // last block fetched: (t_first, id)
	curID     int64
	page      []blockRow
	pi        int
	exhausted bool // no more pages

	h     cursorHeap
	spare [][]can.Frame
	sc    decodeScratch
	cur   can.Frame
	n     int
	err   error
	done  bool
}

type blockRow struct {
	id, tFirst, tLast, n int64
	bus                  uint8
	codec                int
	blob                 []byte
}

type blockCursor struct {
	frames []can.Frame // the frames in range, from buf
	buf    []can.Frame // the whole decoded block, for reuse
	i      int
	id     int64
}

type cursorHeap []*blockCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(a, b int) bool {
	fa, fb := &h[a].frames[h[a].i], &h[b].frames[h[b].i]
	if fa.Time != fb.Time {
		return fa.Time < fb.Time
	}
	if fa.Bus != fb.Bus {
		return fa.Bus < fb.Bus
	}
	return h[a].id < h[b].id
}
func (h cursorHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*blockCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// framePage is how many blocks one page query reads.
const framePage = 32

// Frames returns an iterator over the committed frames with from <= Time <
// to of one bus (0..255), or of all buses (bus < 0) merged in time order
// (ties by bus). A zero from or to is unbounded. Memory stays constant:
// blocks are read in small pages and only the blocks that overlap in time
// are held decoded.
func (s *Store) Frames(ctx context.Context, from, to time.Time, bus int) *FrameIter {
	it := &FrameIter{
		s:     s,
		ctx:   ctx,
		from:  timeNS(from, math.MinInt64),
		to:    timeNS(to, math.MaxInt64),
		bus:   bus,
		curT:  math.MinInt64,
		curID: math.MinInt64,
	}
	if bus > 255 {
		it.err = fmt.Errorf("store: bus %d out of range", bus)
	}
	span := s.maxSpan.Load()
	it.lo = it.from - span
	if it.lo > it.from { // overflow
		it.lo = math.MinInt64
	}
	return it
}

// Next advances to the next frame and reports whether there is one.
func (it *FrameIter) Next() bool {
	if it.err != nil || it.done {
		return false
	}
	if it.n++; it.n&4095 == 0 {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			return false
		}
	}
	for {
		// Load every block that could hold a frame at or before the
		// earliest one loaded.
		for {
			row, ok := it.peek()
			if it.err != nil {
				return false
			}
			if !ok || (len(it.h) > 0 && it.h[0].frames[it.h[0].i].Time < row.tFirst) {
				break
			}
			it.pi++
			if !it.load(row) {
				return false
			}
		}
		if len(it.h) == 0 {
			it.done = true
			return false
		}
		c := it.h[0]
		it.cur = c.frames[c.i]
		if c.i++; c.i == len(c.frames) {
			heap.Pop(&it.h)
			it.spare = append(it.spare, c.buf)
		} else {
			heap.Fix(&it.h, 0)
		}
		if it.cur.Time >= it.from && it.cur.Time < it.to {
			return true
		}
	}
}

// peek returns the next block row not yet loaded, fetching a page when
// needed.
func (it *FrameIter) peek() (*blockRow, bool) {
	if it.pi < len(it.page) {
		return &it.page[it.pi], true
	}
	if it.exhausted {
		return nil, false
	}
	if err := it.ctx.Err(); err != nil {
		it.err = err
		return nil, false
	}
	q := `SELECT id, bus, t_first, t_last, n, codec, blob FROM frame_blocks
		WHERE t_first >= ? AND t_first < ? AND t_last >= ? AND (t_first > ? OR id > ?)`
	args := []any{max(it.lo, it.curT), it.to, it.from, it.curT, it.curID}
	if it.bus >= 0 {
		q += " AND bus = ?"
		args = append(args, it.bus)
	}
	q += " ORDER BY t_first, id LIMIT ?"
	args = append(args, framePage)
	rows, err := it.s.db.QueryContext(it.ctx, q, args...)
	if err != nil {
		it.err = fmt.Errorf("store: frames: %w", err)
		return nil, false
	}
	it.page, it.pi = it.page[:0], 0
	for rows.Next() {
		var r blockRow
		var bus int64
		if err := rows.Scan(&r.id, &bus, &r.tFirst, &r.tLast, &r.n, &r.codec, &r.blob); err != nil {
			rows.Close()
			it.err = fmt.Errorf("store: frames: %w", err)
			return nil, false
		}
		r.bus = uint8(bus)
		it.page = append(it.page, r)
	}
	if err := closeRows(rows); err != nil {
		it.err = fmt.Errorf("store: frames: %w", err)
		return nil, false
	}
	if len(it.page) < framePage {
		it.exhausted = true
	}
	if len(it.page) == 0 {
		return nil, false
	}
	last := it.page[len(it.page)-1]
	it.curT, it.curID = last.tFirst, last.id
	return &it.page[0], true
}

// load decodes a block and puts its frames in range on the heap.
func (it *FrameIter) load(r *blockRow) bool {
	if r.codec != codecColumnarZstd {
		it.err = fmt.Errorf("store: frame block %d: unknown codec %d", r.id, r.codec)
		return false
	}
	var dst []can.Frame
	if n := len(it.spare); n > 0 {
		dst = it.spare[n-1]
		it.spare = it.spare[:n-1]
	}
	frames, err := it.s.dec.decode(dst, r.blob, r.bus, &it.sc)
	if err == nil && int64(len(frames)) != r.n {
		err = corrupt("%d frames, row says %d", len(frames), r.n)
	}
	if err != nil {
		it.err = fmt.Errorf("store: frame block %d: %w", r.id, err)
		return false
	}
	r.blob = nil
	lo := sort.Search(len(frames), func(i int) bool { return frames[i].Time >= it.from })
	hi := sort.Search(len(frames), func(i int) bool { return frames[i].Time >= it.to })
	if lo >= hi {
		it.spare = append(it.spare, frames)
		return true
	}
	heap.Push(&it.h, &blockCursor{frames: frames[lo:hi], buf: frames, id: r.id})
	return true
}

// Frame returns the current frame.
func (it *FrameIter) Frame() can.Frame { return it.cur }

// Err returns the error that ended the iteration, if any.
func (it *FrameIter) Err() error { return it.err }

// Close releases the iterator. It never fails; it returns Err for
// convenience.
func (it *FrameIter) Close() error {
	it.done = true
	it.page, it.h, it.spare = nil, nil, nil
	return it.err
}
