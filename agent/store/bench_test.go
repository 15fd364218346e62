package store

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// cpuTime returns the user + system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTraffic is 60 s of the simulated 4-bus traffic (960,000 frames),
// replayed with advancing times.
func benchTraffic() (frames []can.Frame, period int64) {
	start := int64(1_700_000_000) * 1e9
	tr := newTraffic(4, start, 11)
	frames = tr.until(nil, start+60e9)
	return frames, 60e9
}

// BenchmarkAppendFrames measures frames persisted per second: appended,
// cut into blocks, encoded, compressed and committed (background commits
// every second and whenever 131,072 frames wait, synchronous=FULL), on
// realistic mixed traffic (4 buses, 50 periodic messages each, counters,
// checksums, noisy sensors, ns timestamps with jitter). frames/s is wall
// time; frames/cpu-s divides by the CPU time of all threads (the cgo
// thread of SQLite included), the figure for one core; bytes/frame is the
// database's size per frame.
func BenchmarkAppendFrames(b *testing.B) {
	frames, period := benchTraffic()
	o := Options{Dir: b.TempDir()}
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 4096
	buf := make([]can.Frame, chunk)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var offset int64
	for i := 0; i < b.N; i += chunk {
		n := min(chunk, b.N-i)
		for j := range n {
			k := (i + j) % len(frames)
			if k == 0 && i+j > 0 {
				offset += period
			}
			buf[j] = frames[k]
			buf[j].Time += offset
		}
		if err := s.AppendFrames(buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	st := s.Stats()
	s.Close()
	db, wal := fileSizes(o.Dir)
	b.ReportMetric(float64(b.N)/el.Seconds(), "frames/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "frames/cpu-s")
	b.ReportMetric(float64(db+wal)/float64(b.N), "bytes/frame")
	if st.DroppedFrames != 0 || st.FramesCommitted != uint64(b.N) {
		b.Fatalf("%d frames committed, %d dropped, of %d", st.FramesCommitted, st.DroppedFrames, b.N)
	}
}

// BenchmarkAppendRealLogs is BenchmarkAppendFrames on the real Kona logs
// replayed in a loop (4 buses).
func BenchmarkAppendRealLogs(b *testing.B) {
	logs := realLogs(b)
	start := int64(1_700_000_000) * 1e9
	r := newReplay(logs, start)
	frames := r.until(nil, start+600e9) // 10 min of traffic
	o := Options{Dir: b.TempDir()}
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	began := time.Now()
	var offset int64
	for i := 0; i < b.N; {
		n := min(len(frames), b.N-i)
		chunk := frames[:n]
		if offset != 0 {
			for j := range chunk {
				chunk[j].Time += 600e9
			}
		}
		if err := s.AppendFrames(chunk); err != nil {
			b.Fatal(err)
		}
		i += n
		offset += 600e9
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	el, cpu := time.Since(began), cpuTime()-cpu0
	b.StopTimer()
	s.Close()
	db, wal := fileSizes(o.Dir)
	b.ReportMetric(float64(b.N)/el.Seconds(), "frames/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "frames/cpu-s")
	b.ReportMetric(float64(db+wal)/float64(b.N), "bytes/frame")
}

// BenchmarkQueryFrames reads 10 s windows (160,000 frames) of all buses
// merged in time order, and of one bus, from a store holding 60 s of the
// 4-bus traffic.
func BenchmarkQueryFrames(b *testing.B) {
	frames, _ := benchTraffic()
	o := Options{Dir: b.TempDir(), CommitInterval: -1}
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendFrames(frames); err != nil {
		b.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	t0 := frames[0].Time
	for _, bus := range []int{-1, 2} {
		b.Run(fmt.Sprintf("bus=%d", bus), func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				from := t0 + int64(i%5)*10e9
				it := s.Frames(b.Context(), time.Unix(0, from), time.Unix(0, from+10e9), bus)
				for it.Next() {
					n++
				}
				if err := it.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkAddValue measures the cost of recording a decoded value.
func BenchmarkAddValue(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), CommitInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	names := make([]string, 300)
	for i := range names {
		names[i] = fmt.Sprintf("Vehicle.Private.Kona.BMS_%03d.Value", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.AddValue(names[i%len(names)], int64(i)*1e5, float64(i))
	}
	b.StopTimer() // the commit of the summaries is not part of it
}

// BenchmarkEncodeBlock measures the codec alone on one second of one bus.
func BenchmarkEncodeBlock(b *testing.B) {
	tr := newTraffic(1, 0, 5)
	frames := tr.until(nil, 1e9)
	e, err := newBlockEncoder()
	if err != nil {
		b.Fatal(err)
	}
	defer e.close()
	var blob []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blob = e.encode(blob[:0], frames)
	}
	b.ReportMetric(float64(b.N*len(frames))/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(len(blob))/float64(len(frames)), "bytes/frame")
}

// BenchmarkQuerySignals reads one signal's hour of 1 s summaries (3,600)
// from a store holding 300 signals for that hour, and its minutes.
func BenchmarkQuerySignals(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), CommitInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := make([]SignalID, 300)
	for i := range ids {
		ids[i] = s.Intern(fmt.Sprintf("Vehicle.Private.Sim.S%03d", i))
	}
	start := int64(1_700_000_000) * 1e9
	for sec := range 3600 {
		for i, id := range ids {
			s.AddValueID(id, start+int64(sec)*1e9, float64(sec+i))
		}
		if sec%60 == 59 {
			s.commit(false)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	for _, res := range []time.Duration{time.Second, time.Minute} {
		b.Run(res.String(), func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				it := s.Signals(b.Context(), "Vehicle.Private.Sim.S150", time.Unix(0, start), time.Unix(0, start+3600e9), res)
				for it.Next() {
					n++
				}
				if err := it.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "summaries/op")
		})
	}
}
