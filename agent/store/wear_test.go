package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// writeBytes returns this process's write_bytes from /proc/self/io: the
// bytes it caused to be sent to the storage device (counted when page
// cache pages are dirtied, so a page rewritten before writeback counts
// once, and one written again after an fsync counts again).
func writeBytes() (int64, error) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no write_bytes in /proc/self/io")
}

// wearResult is what measureWear found.
type wearResult struct {
	frames       int
	seconds      int
	bytesPerHour float64
	dataPerHour  float64 // blob bytes committed, scaled to an hour
}

// measureWear simulates buses x 4,000 frames/s (and signals values at
// 10 Hz, if signals > 0) for seconds of traffic, committing every every
// simulated seconds as the commit loop does, after prefill seconds of the
// same traffic, and scales the device writes to an hour.
func measureWear(t *testing.T, o Options, buses, signals, prefill, seconds, every int) wearResult {
	t.Helper()
	s := openStore(t, o)
	start := int64(1_700_000_000) * 1e9
	tr := newTraffic(buses, start, 7)
	var buf []can.Frame
	names := make([]SignalID, signals)
	for i := range names {
		names[i] = s.Intern(fmt.Sprintf("Vehicle.Private.Sim.S%03d", i))
	}
	var res wearResult
	var before int64
	var blobsBefore int64
	for sec := 0; sec < prefill+seconds; sec++ {
		if sec == prefill {
			mustFlush(t, s)
			var err error
			if before, err = writeBytes(); err != nil {
				t.Skipf("cannot read /proc/self/io: %v", err)
			}
			blobsBefore = s.Stats().Frames.Bytes + s.Stats().Frames.EvictedBytes
		}
		end := start + int64(sec+1)*1e9
		buf = tr.until(buf[:0], end)
		if err := s.AppendFrames(buf); err != nil {
			t.Fatal(err)
		}
		// Signals at 10 Hz each.
		for k := range 10 {
			ts := end - 1e9 + int64(k)*1e8
			for i, id := range names {
				s.AddValueID(id, ts, float64(sec*i+k))
			}
		}
		if sec >= prefill {
			res.frames += len(buf)
		}
		// What the commit loop does every CommitInterval.
		if (sec+1)%every == 0 {
			if err := s.commit(false); err != nil {
				t.Fatal(err)
			}
		}
	}
	after, _ := writeBytes()
	st := s.Stats()
	res.seconds = seconds
	scale := 3600 / float64(seconds)
	res.bytesPerHour = float64(after-before) * scale
	res.dataPerHour = float64(st.Frames.Bytes+st.Frames.EvictedBytes-blobsBefore) * scale
	mustClose(t, s)
	return res
}

// TestWriteBytesPerHour measures the bytes written to the device per hour
// at 4 buses x 4,000 frames/s (60 s of simulated traffic, scaled), while
// the store fills and in steady state with eviction running.
func TestWriteBytesPerHour(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("measurement; skipped with -race and -short")
	}
	seconds := 60
	type wearCase struct {
		name    string
		quota   int64 // frames quota; 0: default (no eviction within the run)
		prefill int
		signals int
		normal  bool
		every   int // commit interval in s
	}
	cases := []wearCase{
		{"filling, frames only", 0, 0, 0, false, 1},
		{"filling, frames + 300 signals at 10 Hz", 0, 0, 300, false, 1},
		// Small quotas: eviction runs every second or two.
		{"steady state, 16 MiB of frames, frames + 300 signals", 16 << 20, 250, 300, false, 1},
		{"filling, frames + 300 signals, synchronous=NORMAL", 0, 0, 300, true, 1},
		{"filling, frames + 300 signals, commit every 5 s", 0, 0, 300, false, 5},
	}
	if os.Getenv("EVEDGE_STORE_LONG") != "" {
		// Eviction in batches of 1 MiB, as with real quotas.
		cases = append(cases, wearCase{"steady state, 128 MiB of frames, frames + 300 signals", 128 << 20, 1900, 300, false, 1})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOpts(t)
			o.SyncNormal = c.normal
			if c.quota != 0 {
				o.Quotas = Quotas{Frames: c.quota, Signals: c.quota / 8, Rollups: c.quota / 16, Events: 1 << 20, Outbox: 1 << 20}
			}
			began := time.Now()
			r := measureWear(t, o, 4, c.signals, c.prefill, seconds, c.every)
			t.Logf("%d frames in %d s of traffic: %.1f MB written per hour (compressed frame data %.1f MB/h, x%.2f) [%v]",
				r.frames, r.seconds, r.bytesPerHour/1e6, r.dataPerHour/1e6, r.bytesPerHour/r.dataPerHour, time.Since(began).Round(time.Millisecond))
		})
	}
}
