package store

import (
	"context"
	"os"
	"time"
)

// counters are the Store's event counts (guarded by mu).
type counters struct {
	commits         uint64
	writeErrors     uint64
	diskFull        uint64
	droppedFrames   uint64
	framesCommitted uint64
	recreated       bool
}

// published is the writer's state as of the last commit (guarded by mu).
type published struct {
	usage     [numClasses]classUsage
	ratio     float64
	diskCap   int64
	pages     int64
	freePages int64
}

func (s *Store) publishLocked() {
	s.pub = published{
		usage:     s.usage,
		ratio:     s.ratio,
		diskCap:   s.diskCap(),
		pages:     s.pages,
		freePages: s.freePages,
	}
}

// ClassStats describe one quota class.
type ClassStats struct {
	Bytes        int64 // estimated bytes on disk (see Stats.Overhead)
	Rows         int64
	Quota        int64
	EvictedRows  int64 // ever, across restarts
	EvictedBytes int64
	// OverQuota is set when the class uses more than its quota, which
	// happens when pinned data cannot be evicted.
	OverQuota bool
}

// Stats describe the store.
type Stats struct {
	Frames, Signals, Rollups, Events, Outbox ClassStats

	Pins        int
	PinnedBytes int64 // estimated bytes of frames and 1 s summaries in pinned windows

	Commits         uint64 // successful commits since Open
	WriteErrors     uint64 // failed commits since Open
	DiskFull        uint64 // disk-full episodes since Open
	DroppedFrames   uint64 // frames dropped because commits kept failing
	FramesCommitted uint64 // frames committed since Open
	PendingFrames   int    // frames waiting for the next commit

	DBBytes      int64 // size of evedge.db
	WALBytes     int64 // size of evedge.db-wal
	ReserveBytes int64 // size of evedge.db-reserve (see the package documentation)
	FreeBytes    int64 // free pages inside evedge.db
	// Overhead is the ratio of the pages really used to the estimated
	// Bytes, applied when enforcing quotas.
	Overhead float64
	// DiskCap is the size the store keeps under since the disk was found
	// full (0: none).
	DiskCap int64
	// Recreated is set when Open found the database corrupt, moved it
	// aside and started a new one.
	Recreated bool
}

// Stats returns the store's numbers. It is cheap except for PinnedBytes,
// which reads the index of the pinned windows.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	p, c := s.pub, s.stats
	st := Stats{
		Pins:            len(s.pins),
		Commits:         c.commits,
		WriteErrors:     c.writeErrors,
		DiskFull:        c.diskFull,
		DroppedFrames:   c.droppedFrames,
		FramesCommitted: c.framesCommitted,
		PendingFrames:   s.buf.frames,
		Overhead:        p.ratio,
		DiskCap:         p.diskCap,
		FreeBytes:       p.freePages * s.pageSize,
		Recreated:       c.recreated,
	}
	closed := s.closed
	s.mu.Unlock()
	for i, cs := range []*ClassStats{&st.Frames, &st.Signals, &st.Rollups, &st.Events, &st.Outbox} {
		u := p.usage[i]
		*cs = ClassStats{
			Bytes:        u.bytes,
			Rows:         u.rows,
			Quota:        s.quotas[i],
			EvictedRows:  u.evictedRows,
			EvictedBytes: u.evictedBytes,
			OverQuota:    float64(u.bytes)*p.ratio > float64(s.quotas[i]),
		}
	}
	if fi, err := os.Stat(s.path); err == nil {
		st.DBBytes = fi.Size()
	}
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		st.WALBytes = fi.Size()
	}
	st.ReserveBytes = s.reserveOnDisk()
	if !closed && st.Pins > 0 {
		st.PinnedBytes = s.pinnedBytes()
	}
	return st
}

// pinnedBytes estimates the bytes of the committed frames and 1 s
// summaries inside pinned windows.
func (s *Store) pinnedBytes() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	span := s.maxSpan.Load()
	var total int64
	for _, w := range s.pinWindows() {
		var blobs, n, sigs int64
		err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(length(blob)), 0), count(*) FROM frame_blocks
			WHERE t_first >= ? AND t_first <= ? AND t_last >= ?`, w.from-span, w.to, w.from).Scan(&blobs, &n)
		if err != nil {
			continue
		}
		err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM signal_1s WHERE sec >= ? AND sec <= ?`,
			floorDiv(w.from, 1e9), floorDiv(w.to, 1e9)).Scan(&sigs)
		if err != nil {
			continue
		}
		total += blobs + n*frameRowBytes(0) + sigs*sigRowBytes
	}
	return total
}
