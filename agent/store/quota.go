package store

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Quota classes; their numbers are the keys of class_usage.
const (
	classFrames = iota
	classSignals
	classRollups
	classEvents
	classOutbox
	numClasses
)

// classUsage is one class's line of class_usage.
type classUsage struct {
	bytes, rows               int64
	evictedRows, evictedBytes int64
}

func (u *classUsage) add(bytes, rows int64) {
	u.bytes += bytes
	u.rows += rows
}

func (u *classUsage) evict(bytes, rows int64) {
	u.add(-bytes, -rows)
	u.evictedBytes += bytes
	u.evictedRows += rows
}

// Estimated bytes of one row of each class: the payload plus a fixed
// overhead for the record header, the cell pointer and the index entries.
// The estimate need not be exact: eviction scales it by the ratio of the
// pages SQLite really uses to the estimated total (Store.ratio), measured
// after every commit.
func frameRowBytes(blob int) int64 { return int64(blob) + 64 }

// sigRowBytes is a signal_1s or signal_1m row: two integer keys, four
// REALs, a count, and the b-tree cell overhead.
const sigRowBytes = 52

func eventRowBytes(kind, source, body int) int64    { return int64(2*kind+source+body) + 72 }
func outboxRowBytes(kind, topic, payload int) int64 { return int64(2*kind+topic+payload) + 64 }

// The same estimates in SQL, for eviction and acknowledgements.
const (
	eventSizeExpr  = "72 + 2*octet_length(kind) + octet_length(source) + coalesce(length(body), 0)"
	outboxSizeExpr = "64 + 2*octet_length(kind) + octet_length(topic) + length(payload)"
)

// basePages is the size of an empty database in pages: page 1, a pointer
// map page and the root pages of the tables and indexes.
const basePages = 18

// measure reads how many pages the database has and how many are free,
// and updates the real-to-estimated ratio.
func (s *Store) measure() error {
	pages, err := s.queryInt("PRAGMA page_count")
	if err != nil {
		return err
	}
	free, err := s.queryInt("PRAGMA freelist_count")
	if err != nil {
		return err
	}
	s.pages, s.freePages = pages, free
	var est int64
	for c := range numClasses {
		est += s.usage[c].bytes
	}
	used := (pages - free - basePages) * s.pageSize
	// Below a few hundred KB fixed overheads (interior pages, names, pins)
	// dominate; keep the last ratio.
	if est >= 256<<10 && used > 0 {
		s.ratio = min(max(float64(used)/float64(est), 0.5), 4)
	}
	return nil
}

// usedBytes is what the database's pages in use take.
func (s *Store) usedBytes() int64 { return (s.pages - s.freePages) * s.pageSize }

// diskCap is the size the store must stay under because of the disk: the
// smaller of the caps learnt from a full disk and from the free space, 0
// for none.
func (s *Store) diskCap() int64 {
	switch {
	case s.fullCap == 0:
		return s.fsCap
	case s.fsCap == 0:
		return s.fullCap
	}
	return min(s.fullCap, s.fsCap)
}

// capTotal is the total size the store aims for: the quotas less the
// reserve file, or less if the disk caps it.
func (s *Store) capTotal() int64 {
	total := s.opts.Quotas.Total() - s.reserveSize()
	if c := s.diskCap(); c > 0 {
		total = min(total, c)
	}
	return max(total, s.pageSize*basePages)
}

// limit returns class c's quota, scaled down when the disk caps the store.
func (s *Store) limit(c int) int64 {
	q := s.quotas[c]
	if total, capped := s.opts.Quotas.Total(), s.capTotal(); capped < total {
		q = int64(float64(q) * float64(capped) / float64(total))
	}
	return q
}

// fsMargin is the part of the room (the store's files plus the free space
// of their file system) the store leaves to others.
func fsMargin(room int64) int64 { return room/16 + 64<<10 }

// capFromFS caps the store to the room its file system leaves: other
// programs may fill the disk, and the store gives way before SQLite meets
// a full disk. The room counts the reserve file, and the cap leaves space
// for it. A cap learnt from a full disk is lifted once the room grew by a
// tenth of the cap since (another program freed space).
func (s *Store) capFromFS() {
	free, ok := freeSpace(s.opts.Dir)
	if !ok {
		return
	}
	db, wal := fileSizes(s.opts.Dir)
	room := db + wal + s.reserveOnDisk() + free
	s.room = room
	c := room - fsMargin(room) - s.reserveSize()
	s.fsCap = 0
	if c < s.opts.Quotas.Total() {
		s.fsCap = max(c, s.pageSize*basePages)
	}
	if s.fullCap > 0 && room > s.fullRoom+s.fullCap/10 {
		s.fullCap = 0
	}
}

// The reserve file (evedge.db-reserve) holds disk space for the store to
// release when the disk is full, so that SQLite can checkpoint the WAL
// into the database file (which may have to grow) and the store can evict
// and go on. Its size is the WAL limit for the quota, or for the room if
// that is smaller.
func (s *Store) reservePath() string { return s.path + "-reserve" }

func (s *Store) reserveSize() int64 {
	size := s.opts.Quotas.Total()
	if s.room > 0 {
		size = min(size, s.room)
	}
	return walLimitFor(size, s.pageSize)
}

func (s *Store) reserveOnDisk() int64 {
	if fi, err := os.Stat(s.reservePath()); err == nil {
		return fi.Size()
	}
	return 0
}

// ensureReserve writes the reserve file if it is missing or short and the
// file system has room for it and the margin. It writes real zeros: a
// sparse file would reserve nothing.
func (s *Store) ensureReserve() {
	want := s.reserveSize()
	have := s.reserveOnDisk()
	if have >= want {
		return
	}
	free, ok := freeSpace(s.opts.Dir)
	if ok && free < want-have+fsMargin(free) {
		return
	}
	f, err := os.OpenFile(s.reservePath(), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	zero := make([]byte, 64<<10)
	for off := have; off < want && err == nil; off += int64(len(zero)) {
		_, err = f.WriteAt(zero[:min(int64(len(zero)), want-off)], off)
	}
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		os.Remove(s.reservePath())
	}
}

// dropReserve deletes the reserve file, giving its space to SQLite.
func (s *Store) dropReserve() { os.Remove(s.reservePath()) }

// fileSizes returns the sizes of the database in dir and of its WAL.
func fileSizes(dir string) (db, wal int64) {
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		db = fi.Size()
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName+"-wal")); err == nil {
		wal = fi.Size()
	}
	return db, wal
}

// evictSlack is the fraction of a quota that eviction frees beyond what is
// needed, so that it runs in batches; the freed pages are reused by the
// inserts that follow.
const evictSlack = 1.0 / 128

// evict deletes the oldest unpinned rows of every class that would be over
// its limit with incoming more bytes, inside the current transaction, and
// updates u. Evicting before inserting lets the inserts reuse the freed
// pages instead of growing the file.
func (s *Store) evict(u *[numClasses]classUsage, incoming *[numClasses]int64) error {
	var ws []window
	loaded := false
	for c := range numClasses {
		limit := float64(s.limit(c))
		after := u[c].bytes
		if incoming != nil {
			after += incoming[c]
		}
		if float64(after)*s.ratio <= limit {
			continue
		}
		if !loaded {
			ws, loaded = s.pinWindows(), true
		}
		target := int64(limit * (1 - evictSlack) / s.ratio)
		need := after - target
		var bytes, rows int64
		var err error
		switch c {
		case classFrames:
			bytes, rows, err = s.evictFrames(need, ws)
		case classSignals:
			bytes, rows, err = s.evictBuckets("signal_1s", "sec", 1e9, need, ws)
		case classRollups:
			bytes, rows, err = s.evictBuckets("signal_1m", "minute", 60e9, need, nil)
		case classEvents:
			bytes, rows, err = s.evictByID("events", eventSizeExpr, need)
		case classOutbox:
			bytes, rows, err = s.evictByID("outbox", outboxSizeExpr, need)
		}
		if err != nil {
			return fmt.Errorf("evicting %s: %w", classNames[c], err)
		}
		u[c].evict(bytes, rows)
	}
	return nil
}

var classNames = [numClasses]string{"frames", "signals", "rollups", "events", "outbox"}

// evictPage is how many candidate rows one eviction query reads.
const evictPage = 256

// idRun collects consecutive deletable ids and deletes them as ranges.
type idRun struct {
	s          *Store
	table, key string
	lo, hi     int64
	open       bool
}

func (r *idRun) extend(id int64) {
	if !r.open {
		r.lo, r.open = id, true
	}
	r.hi = id
}

func (r *idRun) flush() error {
	if !r.open {
		return nil
	}
	r.open = false
	_, err := r.s.exec(fmt.Sprintf("DELETE FROM %s WHERE %s >= ? AND %s <= ?", r.table, r.key, r.key), r.lo, r.hi)
	return err
}

// evictFrames deletes the first-written unpinned blocks until need
// estimated bytes are freed.
func (s *Store) evictFrames(need int64, ws []window) (freed, rows int64, err error) {
	after := int64(math.MinInt64)
	run := idRun{s: s, table: "frame_blocks", key: "id"}
	type cand struct{ id, tFirst, tLast, size int64 }
	page := make([]cand, 0, evictPage)
	for freed < need {
		page = page[:0]
		q, err := s.query("SELECT id, t_first, t_last, length(blob) FROM frame_blocks WHERE id > ? ORDER BY id LIMIT ?", after, evictPage)
		if err != nil {
			return freed, rows, err
		}
		for q.Next() {
			var c cand
			if err := q.Scan(&c.id, &c.tFirst, &c.tLast, &c.size); err != nil {
				q.Close()
				return freed, rows, err
			}
			page = append(page, c)
		}
		if err := closeRows(q); err != nil {
			return freed, rows, err
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			after = c.id
			if pinned(ws, c.tFirst, c.tLast) {
				if err := run.flush(); err != nil {
					return freed, rows, err
				}
				continue
			}
			run.extend(c.id)
			freed += frameRowBytes(int(c.size))
			rows++
			if freed >= need {
				break
			}
		}
	}
	return freed, rows, run.flush()
}

// evictBuckets deletes the oldest unpinned time buckets (seconds or
// minutes) of a signal table until need estimated bytes are freed.
func (s *Store) evictBuckets(table, key string, bucketNS int64, need int64, ws []window) (freed, rows int64, err error) {
	after := int64(math.MinInt64)
	run := idRun{s: s, table: table, key: key}
	type cand struct{ k, n int64 }
	page := make([]cand, 0, evictPage)
	for freed < need {
		page = page[:0]
		q, err := s.query(fmt.Sprintf("SELECT %[1]s, count(*) FROM %[2]s WHERE %[1]s > ? GROUP BY %[1]s ORDER BY %[1]s LIMIT ?", key, table), after, evictPage)
		if err != nil {
			return freed, rows, err
		}
		for q.Next() {
			var c cand
			if err := q.Scan(&c.k, &c.n); err != nil {
				q.Close()
				return freed, rows, err
			}
			page = append(page, c)
		}
		if err := closeRows(q); err != nil {
			return freed, rows, err
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			after = c.k
			from := mulSat(c.k, bucketNS)
			if len(ws) > 0 && pinned(ws, from, from+bucketNS-1) {
				if err := run.flush(); err != nil {
					return freed, rows, err
				}
				continue
			}
			run.extend(c.k)
			freed += c.n * sigRowBytes
			rows += c.n
			if freed >= need {
				break
			}
		}
	}
	return freed, rows, run.flush()
}

// evictByID deletes the first-written rows of table until need estimated
// bytes are freed.
func (s *Store) evictByID(table, sizeExpr string, need int64) (freed, rows int64, err error) {
	after := int64(math.MinInt64)
	run := idRun{s: s, table: table, key: "id"}
	for freed < need {
		q, err := s.query(fmt.Sprintf("SELECT id, %s FROM %s WHERE id > ? ORDER BY id LIMIT ?", sizeExpr, table), after, evictPage)
		if err != nil {
			return freed, rows, err
		}
		n := 0
		for q.Next() && freed < need {
			var id, size int64
			if err := q.Scan(&id, &size); err != nil {
				q.Close()
				return freed, rows, err
			}
			n++
			after = id
			run.extend(id)
			freed += size
			rows++
		}
		if err := closeRows(q); err != nil {
			return freed, rows, err
		}
		if n == 0 {
			break
		}
	}
	return freed, rows, run.flush()
}

// maintain runs after a successful commit: it measures the database and
// the room on the disk, gives free pages back when they pile up (beyond
// 1/32 of the quota, as after lowering a quota), and truncates a WAL that
// grew well past its limit (a long reader held checkpoints back).
func (s *Store) maintain() {
	if err := s.measure(); err != nil {
		return
	}
	s.capFromFS()
	total := s.capTotal()
	// Give free pages back when they pile up (a lowered quota), but not
	// when the disk is what limits the store: then they are its reserve.
	if free := s.freePages * s.pageSize; s.diskCap() == 0 && free > max(total/32, 256<<10) {
		keep := total / 128 / s.pageSize
		if err := s.drain(fmt.Sprintf("PRAGMA incremental_vacuum(%d)", s.freePages-keep)); err == nil {
			s.measure()
		}
	}
	s.applyWALLimit()
	s.ensureReserve()
	if _, wal := fileSizes(s.opts.Dir); wal > 4*s.walLimit() {
		s.exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
}

// walLimit is the WAL size the checkpoints aim for (journal_size_limit).
func (s *Store) walLimit() int64 {
	total := s.opts.Quotas.Total()
	if c := s.diskCap(); c > 0 {
		total = min(total, c)
	}
	return walLimitFor(total, s.pageSize)
}

// walLimitFor is 1/32 of a store's size, from 32 to 2048 pages (128 KiB
// to 8 MiB with 4 KiB pages).
func walLimitFor(size, pageSize int64) int64 {
	return 2 * min(max(size/64/pageSize, 16), 1024) * pageSize
}

// applyWALLimit sets wal_autocheckpoint (half the limit) and
// journal_size_limit when the limit changed.
func (s *Store) applyWALLimit() error {
	limit := s.walLimit()
	pages := limit / 2 / s.pageSize
	if pages == s.walPages {
		return nil
	}
	for _, q := range []string{
		fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", pages),
		fmt.Sprintf("PRAGMA journal_size_limit = %d", limit),
	} {
		if _, err := s.exec(q); err != nil {
			return err
		}
	}
	s.walPages = pages
	return nil
}
