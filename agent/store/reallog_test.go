package store

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// TestRealLogsRoundTrip stores each real Kona log and reads it back bit for
// bit, whole and by bus and time range.
func TestRealLogsRoundTrip(t *testing.T) {
	logs := realLogs(t)
	o := testOpts(t)
	s := openStore(t, o)
	defer mustClose(t, s)
	var all []can.Frame
	for i, name := range slices.Sorted(mapsKeys(logs)) {
		fs := slices.Clone(logs[name])
		for j := range fs {
			fs[j].Bus = uint8(10 + i) // one bus per log
		}
		if err := s.AppendFrames(fs); err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	mustFlush(t, s)
	for i, name := range slices.Sorted(mapsKeys(logs)) {
		// Per bus, the log's own order where its time is monotonic: the
		// compressor log's clock resets once (line 90), so compare in
		// time order.
		want := slices.Clone(logs[name])
		for j := range want {
			want[j].Bus = uint8(10 + i)
		}
		sortFrames(want)
		got := readFrames(t, s, time.Time{}, time.Time{}, 10+i)
		sameFrames(t, got, want)
		t.Logf("%s: %d frames round trip", name, len(got))
		// A window in the middle.
		lo, hi := want[len(want)/3].Time, want[2*len(want)/3].Time
		var wr []can.Frame
		for _, f := range want {
			if f.Time >= lo && f.Time < hi {
				wr = append(wr, f)
			}
		}
		sameFrames(t, readFrames(t, s, time.Unix(0, lo), time.Unix(0, hi), 10+i), wr)
	}
	sortFrames(all)
	sameFrames(t, readFrames(t, s, time.Time{}, time.Time{}, -1), all)
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// replay loops the real logs, each on its own bus, with advancing
// timestamps from start (unix ns), merged in time order. Each log's clock
// is made monotonic first (the compressor log's logger clock resets once;
// the reset becomes a 1 ms step).
type replay struct {
	streams []*loopStream
}

type loopStream struct {
	frames []can.Frame // times relative to the log's start
	period int64       // duration of one loop
	i      int
	offset int64
}

func newReplay(logs map[string][]can.Frame, start int64) *replay {
	r := &replay{}
	for i, name := range slices.Sorted(mapsKeys(logs)) {
		src := logs[name]
		fs := make([]can.Frame, len(src))
		var t, prev int64
		for j, f := range src {
			d := int64(1e6)
			if j > 0 && f.Time >= prev {
				d = f.Time - prev
			}
			if j == 0 {
				d = 0
			}
			t += d
			prev = f.Time
			f.Time = t
			f.Bus = uint8(i)
			fs[j] = f
		}
		r.streams = append(r.streams, &loopStream{frames: fs, period: t + 10e6, offset: start})
	}
	return r
}

func (l *loopStream) peek() int64 { return l.frames[l.i].Time + l.offset }

func (l *loopStream) next() can.Frame {
	f := l.frames[l.i]
	f.Time += l.offset
	if l.i++; l.i == len(l.frames) {
		l.i = 0
		l.offset += l.period
	}
	return f
}

// until appends to dst the frames with Time < end, in time order.
func (r *replay) until(dst []can.Frame, end int64) []can.Frame {
	for {
		best := -1
		for i, s := range r.streams {
			if s.peek() < end && (best < 0 || s.peek() < r.streams[best].peek()) {
				best = i
			}
		}
		if best < 0 {
			return dst
		}
		dst = append(dst, r.streams[best].next())
	}
}

// TestRealLogBytesPerFrame replays the real logs in a loop, committing as
// the agent would, and measures the bytes the database takes per frame.
// EVEDGE_STORE_LONG=1 fills tens of MB.
func TestRealLogBytesPerFrame(t *testing.T) {
	logs := realLogs(t)
	seconds := 15_000 // 12M frames, about 27 MB
	if os.Getenv("EVEDGE_STORE_LONG") != "" {
		seconds = 60_000
	} else if testing.Short() || raceEnabled {
		seconds = 600
	}
	for _, c := range []struct {
		name  string
		every int // simulated seconds per commit
	}{{"commit every second", 1}, {"commit every 10 s", 10}} {
		t.Run(c.name, func(t *testing.T) {
			n := seconds
			if c.every == 1 {
				n = min(seconds, 1200)
			}
			o := testOpts(t)
			base := emptySize(t)
			s := openStore(t, o)
			start := int64(1_700_000_000) * 1e9
			r := newReplay(logs, start)
			var buf []can.Frame
			total := 0
			began := time.Now()
			for sec := 1; sec <= n; sec++ {
				buf = r.until(buf[:0], start+int64(sec)*1e9)
				total += len(buf)
				if err := s.AppendFrames(buf); err != nil {
					t.Fatal(err)
				}
				if sec%c.every == 0 {
					mustFlush(t, s)
				}
			}
			mustFlush(t, s)
			el := time.Since(began)
			st := s.Stats()
			mustClose(t, s)
			db, wal := fileSizes(o.Dir)
			perFrame := float64(db+wal-base) / float64(total)
			t.Logf("%d frames (%d s of traffic, 4 buses) in %v (%.0f frames/s): db %d B + wal %d B (empty db %d B) = %.3f bytes/frame on disk; blobs+row estimate %.3f B/frame, overhead ratio %.3f",
				total, n, el.Round(time.Millisecond), float64(total)/el.Seconds(), db, wal, base, perFrame,
				float64(st.Frames.Bytes)/float64(total), st.Overhead)
			if perFrame > 4 {
				t.Errorf("%.3f bytes per frame on disk, goal <= 4", perFrame)
			}
			if got := readFramesCount(t, o); got != total {
				t.Errorf("%d frames read back, want %d", got, total)
			}
		})
	}
}

// TestRealLogBytesPerFrameEach stores each real log alone, looped for
// 1,500 s with a commit every second, and reports its bytes per frame.
func TestRealLogBytesPerFrameEach(t *testing.T) {
	logs := realLogs(t)
	base := emptySize(t)
	for _, name := range slices.Sorted(mapsKeys(logs)) {
		o := testOpts(t)
		s := openStore(t, o)
		start := int64(1_700_000_000) * 1e9
		r := newReplay(map[string][]can.Frame{name: logs[name]}, start)
		var buf []can.Frame
		total := 0
		for sec := 1; sec <= 1500; sec++ {
			buf = r.until(buf[:0], start+int64(sec)*1e9)
			total += len(buf)
			if err := s.AppendFrames(buf); err != nil {
				t.Fatal(err)
			}
			if err := s.commit(false); err != nil {
				t.Fatal(err)
			}
		}
		st := s.Stats()
		mustClose(t, s)
		db, wal := fileSizes(o.Dir)
		t.Logf("%-42s %8d frames (%6.1f/s): %.3f bytes/frame on disk, blobs %.3f B/frame in %d blocks (%.1f frames/block)",
			name, total, float64(total)/1500, float64(db+wal-base)/float64(total),
			float64(st.Frames.Bytes-st.Frames.Rows*frameRowBytes(0))/float64(total), st.Frames.Rows, float64(total)/float64(st.Frames.Rows))
	}
}

func readFramesCount(t *testing.T, o Options) int {
	s := openStore(t, o)
	defer mustClose(t, s)
	it := s.Frames(t.Context(), time.Time{}, time.Time{}, -1)
	defer it.Close()
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// emptySize is the size of a new, empty, closed database.
func emptySize(t *testing.T) int64 {
	o := testOpts(t)
	mustClose(t, openStore(t, o))
	db, wal := fileSizes(o.Dir)
	return db + wal
}
