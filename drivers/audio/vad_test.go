package audio

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// fsddDir holds the Free Spoken Digit Dataset recordings (8 kHz WAV,
// 6 speakers × 10 digits × 50). EVEDGE_FSDD overrides it.
func fsddDir() string {
	if d := os.Getenv("EVEDGE_FSDD"); d != "" {
		return d
	}
	return "/work/shared/data/speech/fsdd/recordings"
}

// truthSpan is where the clean utterance has energy: the first to the last
// 10 ms frame within 25 dB of the loudest frame. It is computed on the
// clean signal, independently of the VAD.
func truthSpan(x []float32, rate int) (first, last int) {
	hop := rate / 100
	var e []float64
	peak := 0.0
	for i := 0; i+hop <= len(x); i += hop {
		var s float64
		for _, v := range x[i : i+hop] {
			s += float64(v) * float64(v)
		}
		e = append(e, s)
		peak = max(peak, s)
	}
	th := peak * math.Pow(10, -25.0/10)
	first, last = -1, -1
	for i, v := range e {
		if v >= th {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first * hop, (last + 1) * hop
}

// pinkNoise is Paul Kellet's refined pink filter over white noise (within
// ±0.05 dB of -3 dB/octave above 9 Hz at 44.1 kHz; close enough at 16 kHz).
type pinkNoise struct{ b [7]float64 }

func (p *pinkNoise) next(w float64) float64 {
	b := &p.b
	b[0] = 0.99886*b[0] + w*0.0555179
	b[1] = 0.99332*b[1] + w*0.0750759
	b[2] = 0.96900*b[2] + w*0.1538520
	b[3] = 0.86650*b[3] + w*0.3104856
	b[4] = 0.55000*b[4] + w*0.5329522
	b[5] = -0.7616*b[5] - w*0.0168980
	out := b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w*0.5362
	b[6] = w * 0.115926
	return out
}

// addNoise mixes white or pink noise into x so that the speech power over
// the spans is snrDB above the noise power.
func addNoise(x []float32, spans []Segment, kind string, snrDB float64, seed uint64) {
	var ps float64
	var n int64
	for _, s := range spans {
		for _, v := range x[s.Start:s.End] {
			ps += float64(v) * float64(v)
		}
		n += s.Len()
	}
	ps /= float64(n)
	rng := rand.New(rand.NewPCG(seed, 99))
	noise := make([]float64, len(x))
	var pink pinkNoise
	var pn float64
	for i := range noise {
		w := rng.NormFloat64()
		if kind == "pink" {
			w = pink.next(w)
		}
		noise[i] = w
		pn += w * w
	}
	pn /= float64(len(noise))
	g := math.Sqrt(ps / math.Pow(10, snrDB/10) / pn)
	for i := range x {
		x[i] += float32(g * noise[i])
	}
}

type utterance struct {
	name string
	x    []float32 // 16 kHz
	span Segment   // truth within x
}

func loadFSDD(t testing.TB, every int) map[string][]utterance {
	files, _ := filepath.Glob(filepath.Join(fsddDir(), "*.wav"))
	if len(files) == 0 {
		t.Skipf("no FSDD recordings in %s (set EVEDGE_FSDD)", fsddDir())
	}
	sort.Strings(files)
	bySpeaker := map[string][]utterance{}
	for i, f := range files {
		if i%every != 0 {
			continue
		}
		w, err := ReadWAVFile(f)
		if err != nil {
			t.Fatal(err)
		}
		x, err := Resample(w.Mono(nil), w.SampleRate, 16000)
		if err != nil {
			t.Fatal(err)
		}
		a, b := truthSpan(x, 16000)
		if a < 0 {
			continue
		}
		// Normalise every utterance to an active level of -26 dBFS so that
		// the SNR of a stream holds for each of its utterances (FSDD levels
		// differ by 30 dB between files).
		var p float64
		for _, v := range x[a:b] {
			p += float64(v) * float64(v)
		}
		g := float32(math.Pow(10, -26.0/20) / math.Sqrt(p/float64(b-a)))
		for i := range x {
			x[i] *= g
		}
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".wav"), "_")
		bySpeaker[parts[1]] = append(bySpeaker[parts[1]], utterance{filepath.Base(f), x, Segment{int64(a), int64(b)}})
	}
	return bySpeaker
}

// vadStats accumulates boundary errors in milliseconds.
type vadStats struct {
	startErr, endErr []float64 // signed: positive = late
	utterances       int
	missed, split    int
	falseAlarms      int
	merged           int
	seconds          float64
}

func (s *vadStats) String() string {
	q := func(v []float64, p float64) float64 {
		a := make([]float64, len(v))
		for i, x := range v {
			a[i] = math.Abs(x)
		}
		sort.Float64s(a)
		if len(a) == 0 {
			return math.NaN()
		}
		return a[min(len(a)-1, int(p*float64(len(a))))]
	}
	med := func(v []float64) float64 {
		a := slices.Clone(v)
		sort.Float64s(a)
		if len(a) == 0 {
			return math.NaN()
		}
		return a[len(a)/2]
	}
	return fmt.Sprintf("n=%d missed %.1f%% split %d merged %d false alarms %.2f/min | "+
		"start |err| median %.0f p90 %.0f ms (signed median %+.0f) | end |err| median %.0f p90 %.0f ms (signed median %+.0f)",
		s.utterances, 100*float64(s.missed)/float64(s.utterances), s.split, s.merged,
		float64(s.falseAlarms)/(s.seconds/60),
		q(s.startErr, 0.5), q(s.startErr, 0.9), med(s.startErr),
		q(s.endErr, 0.5), q(s.endErr, 0.9), med(s.endErr))
}

// runVADStream lays the utterances out with silences between them, adds
// noise, runs the VAD in 10 ms chunks and scores the segments.
func runVADStream(t testing.TB, utts []utterance, kind string, snr float64, seed uint64, cfg VADConfig, st *vadStats) {
	rng := rand.New(rand.NewPCG(seed, 5))
	const rate = 16000
	x := make([]float32, rate) // 1 s lead-in
	var truth []Segment
	for _, u := range utts {
		off := int64(len(x))
		x = append(x, u.x...)
		truth = append(truth, Segment{off + u.span.Start, off + u.span.End})
		gap := rate*6/10 + rng.IntN(rate*6/10) // 0.6..1.2 s
		x = append(x, make([]float32, gap)...)
	}
	if kind != "clean" {
		addNoise(x, truth, kind, snr, seed)
	}
	v, err := NewVAD(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var segs []Segment
	for i := 0; i < len(x); i += 160 {
		segs = v.Process(segs, x[i:min(len(x), i+160)])
	}
	segs = v.Flush(segs)
	st.seconds += float64(len(x)) / rate
	used := make([]int, len(segs))
	for _, tr := range truth {
		st.utterances++
		var hit []int
		for j, s := range segs {
			if s.Start < tr.End && s.End > tr.Start {
				hit = append(hit, j)
				used[j]++
			}
		}
		if len(hit) == 0 {
			st.missed++
			continue
		}
		if len(hit) > 1 {
			st.split++
		}
		first, last := segs[hit[0]], segs[hit[len(hit)-1]]
		st.startErr = append(st.startErr, float64(first.Start-tr.Start)*1000/rate)
		st.endErr = append(st.endErr, float64(last.End-tr.End)*1000/rate)
	}
	for _, u := range used {
		switch {
		case u == 0:
			st.falseAlarms++
		case u > 1:
			st.merged++
		}
	}
}

// TestVADOnFSDD runs the VAD on real recorded digits (every 10th of FSDD's
// 3000; EVEDGE_FSDD_FULL=1 for all) in streams of ten utterances separated
// by 0.6–1.2 s, with white and pink noise at 20 and 10 dB SNR, and checks
// the boundary errors against loose bounds. -v prints the numbers.
func TestVADOnFSDD(t *testing.T) {
	if testing.Short() {
		t.Skip("FSDD evaluation skipped in -short mode")
	}
	every := 10
	if os.Getenv("EVEDGE_FSDD_FULL") != "" {
		every = 1
	}
	data := loadFSDD(t, every)
	speakers := make([]string, 0, len(data))
	for s := range data {
		speakers = append(speakers, s)
	}
	sort.Strings(speakers)
	for _, c := range []struct {
		kind        string
		snr         float64
		maxMiss     float64 // fraction of utterances with no segment
		maxMerged   float64 // fraction of segments spanning two utterances
		maxStartP50 float64 // ms, median |start error|
		maxEndP50   float64 // ms, median |end error|
		maxFAPerMin float64
	}{
		// Clean: digital silence between files, so every file's own
		// background counts as sound and segments start early, end late.
		{"clean", 0, 0.01, 0.01, 40, 80, 1},
		{"white", 20, 0.01, 0.01, 15, 25, 1},
		{"pink", 20, 0.01, 0.01, 15, 25, 1},
		{"white", 10, 0.06, 0.02, 20, 80, 1},
		{"pink", 10, 0.06, 0.02, 20, 80, 1},
	} {
		name := fmt.Sprintf("%s/%gdB", c.kind, c.snr)
		t.Run(name, func(t *testing.T) {
			var st vadStats
			for si, sp := range speakers {
				u := data[sp]
				for i := 0; i < len(u); i += 10 {
					runVADStream(t, u[i:min(len(u), i+10)], c.kind, c.snr, uint64(si*1000+i), VADConfig{}, &st)
				}
			}
			t.Logf("%s: %v", name, &st)
			if m := float64(st.missed) / float64(st.utterances); m > c.maxMiss {
				t.Errorf("missed %.1f%% of utterances, want <= %.1f%%", 100*m, 100*c.maxMiss)
			}
			if m := float64(st.merged) / float64(st.utterances); m > c.maxMerged {
				t.Errorf("%.1f%% of segments merged two utterances, want <= %.1f%%", 100*m, 100*c.maxMerged)
			}
			if fa := float64(st.falseAlarms) / (st.seconds / 60); fa > c.maxFAPerMin {
				t.Errorf("%.2f false alarms per minute, want <= %g", fa, c.maxFAPerMin)
			}
			abs := func(v []float64) []float64 {
				a := make([]float64, len(v))
				for i, x := range v {
					a[i] = math.Abs(x)
				}
				sort.Float64s(a)
				return a
			}
			if s := abs(st.startErr); len(s) > 0 && s[len(s)/2] > c.maxStartP50 {
				t.Errorf("median start error %.0f ms, want <= %g", s[len(s)/2], c.maxStartP50)
			}
			if e := abs(st.endErr); len(e) > 0 && e[len(e)/2] > c.maxEndP50 {
				t.Errorf("median end error %.0f ms, want <= %g", e[len(e)/2], c.maxEndP50)
			}
		})
	}
}

// burstStream is noise with tone-plus-harmonics bursts at known places.
func burstStream(bursts []Segment, total int, noise float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, total)
	for i := range x {
		x[i] = float32(noise * rng.NormFloat64())
	}
	for _, b := range bursts {
		for i := b.Start; i < b.End; i++ {
			t := float64(i) / 16000
			x[i] += float32(0.1 * (math.Sin(2*math.Pi*200*t) + 0.5*math.Sin(2*math.Pi*600*t) + 0.3*math.Sin(2*math.Pi*1400*t)))
		}
	}
	return x
}

func TestVADSynthetic(t *testing.T) {
	const ms = 16
	tests := []struct {
		name   string
		bursts []Segment
		want   []Segment // nil: same as bursts
	}{
		{"one word", []Segment{{1000 * ms, 1400 * ms}}, nil},
		{"two words far apart", []Segment{{800 * ms, 1100 * ms}, {2000 * ms, 2600 * ms}}, nil},
		{"a pause shorter than the hangover joins", []Segment{{800 * ms, 1100 * ms}, {1250 * ms, 1600 * ms}}, []Segment{{800 * ms, 1600 * ms}}},
		{"a click shorter than MinSpeech is dropped", []Segment{{1000 * ms, 1060 * ms}}, []Segment{}},
		{"speech running to the end is flushed", []Segment{{2500 * ms, 3000 * ms}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := burstStream(tt.bursts, 3000*ms, 0.005, 1)
			v, err := NewVAD(VADConfig{})
			if err != nil {
				t.Fatal(err)
			}
			var got []Segment
			for i := 0; i < len(x); i += 333 { // odd chunk size
				got = v.Process(got, x[i:min(len(x), i+333)])
			}
			got = v.Flush(got)
			want := tt.want
			if want == nil {
				want = tt.bursts
			}
			if len(got) != len(want) {
				t.Fatalf("segments %v, want %v", got, want)
			}
			for i := range want {
				// A frame is 10 ms, the analysis window 25 ms: boundaries
				// are good to about 20 ms.
				if d := math.Abs(float64(got[i].Start-want[i].Start)) / ms; d > 20 {
					t.Errorf("segment %d starts at %d ms, want %d", i, got[i].Start/ms, want[i].Start/ms)
				}
				if d := math.Abs(float64(got[i].End-want[i].End)) / ms; d > 20 {
					t.Errorf("segment %d ends at %d ms, want %d", i, got[i].End/ms, want[i].End/ms)
				}
			}
		})
	}
}

// TestVADNoiseStep: the noise floor doubles by 12 dB (a fan turned up); the
// VAD may flag the step but must come back to silence and still find the
// next word.
func TestVADNoiseStep(t *testing.T) {
	const ms = 16
	x := burstStream([]Segment{{15000 * ms, 15400 * ms}}, 16000*ms, 0.002, 4)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 2000 * ms; i < len(x); i++ {
		x[i] += float32(0.008 * rng.NormFloat64())
	}
	v, _ := NewVAD(VADConfig{})
	segs := v.Flush(v.Process(nil, x))
	if len(segs) == 0 {
		t.Fatal("no segments")
	}
	last := segs[len(segs)-1]
	if math.Abs(float64(last.Start/ms-15000)) > 30 || math.Abs(float64(last.End/ms-15400)) > 30 {
		t.Errorf("segments %v: the last should be the word at 15000..15400 ms", segs)
	}
	for _, s := range segs[:len(segs)-1] {
		if s.End > 14000*ms {
			t.Errorf("segment %v: the noise step held the VAD in speech for %d ms", s, (s.End-s.Start)/ms)
		}
	}
}

func TestVADProcessFrameMatchesProcess(t *testing.T) {
	x := burstStream([]Segment{{16000, 24000}, {40000, 50000}}, 64000, 0.003, 5)
	a, _ := NewVAD(VADConfig{})
	want := a.Flush(a.Process(nil, x))
	b, _ := NewVAD(VADConfig{})
	m, _ := NewLogMel(b.Config().Features)
	var got []Segment
	m.Process(x, func(f []float32) { got = b.ProcessFrame(got, f) })
	got = b.Flush(got)
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 2 {
		t.Errorf("ProcessFrame gave %v, Process %v", got, want)
	}
}

func TestVADConfigErrors(t *testing.T) {
	for _, cfg := range []VADConfig{
		{OnsetDB: 2, OffsetDB: 5},
		{OffsetDB: -1},
		{TopBands: 41},
		{NoiseRise: -1},
		{Features: LogMelConfig{FFTSize: 300}},
	} {
		if _, err := NewVAD(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestVADZeroAllocs(t *testing.T) {
	v, _ := NewVAD(VADConfig{})
	x := burstStream([]Segment{{3000, 9000}}, 16000, 0.003, 6)
	segs := make([]Segment, 0, 16)
	segs = v.Process(segs[:0], x)
	if a := testing.AllocsPerRun(20, func() { segs = v.Process(segs[:0], x) }); a != 0 {
		t.Errorf("%v allocations per second of audio, want 0", a)
	}
}

// TestVADOnSynthesisedSentences speaks cabin commands with espeak-ng
// (22.05 kHz, so the resampler's 22050 path runs too), adds pink noise at
// 10 and 20 dB and scores the boundaries like TestVADOnFSDD.
func TestVADOnSynthesisedSentences(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode")
	}
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skip("espeak-ng not installed (apt-get install espeak-ng)")
	}
	sentences := []struct{ voice, text string }{
		{"en-us", "open the driver window"},
		{"en-us+f3", "set the temperature to twenty one degrees"},
		{"en-gb+m3", "navigate to the nearest charging station"},
		{"de", "mach das Fenster auf"},
		{"fr+f2", "allume la radio"},
		{"es", "sube el volumen"},
		{"en-us+m2", "play some music"},
		{"en-us+f4", "how far can I drive"},
	}
	var utts []utterance
	dir := t.TempDir()
	for i, s := range sentences {
		path := filepath.Join(dir, fmt.Sprintf("s%d.wav", i))
		if out, err := exec.Command(bin, "-v", s.voice, "-s", "160", "-w", path, s.text).CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v: %s", err, out)
		}
		w, err := ReadWAVFile(path)
		if err != nil {
			t.Fatal(err)
		}
		x, err := Resample(w.Mono(nil), w.SampleRate, 16000)
		if err != nil {
			t.Fatal(err)
		}
		a, b := truthSpan(x, 16000)
		utts = append(utts, utterance{s.text, x, Segment{int64(a), int64(b)}})
	}
	for _, c := range []struct {
		kind string
		snr  float64
	}{{"pink", 20}, {"white", 10}, {"pink", 10}} {
		var st vadStats
		runVADStream(t, utts, c.kind, c.snr, 1, VADConfig{}, &st)
		t.Logf("espeak-ng %s %g dB: %v", c.kind, c.snr, &st)
		if st.missed > 0 || st.merged > 0 || st.split > 1 {
			t.Errorf("%s %g dB: %v", c.kind, c.snr, &st)
		}
	}
}

func BenchmarkVAD(b *testing.B) {
	v, _ := NewVAD(VADConfig{})
	x := burstStream([]Segment{{3000, 9000}}, 16000, 0.003, 6) // one second
	segs := make([]Segment, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		segs = v.Process(segs[:0], x)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/audio-s")
}

// TestVADCut: a segment cut while open (the caller ended the utterance
// early) is not reported again; the next burst is a new segment.
func TestVADCut(t *testing.T) {
	const ms = 16
	x := burstStream([]Segment{{800 * ms, 1200 * ms}, {2000 * ms, 2400 * ms}}, 3000*ms, 0.005, 1)
	v, err := NewVAD(VADConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Segment
	cut := false
	for i := 0; i < len(x); i += 160 {
		got = v.Process(got, x[i:min(len(x), i+160)])
		// 50 ms after the first burst ends, while the hangover runs.
		if !cut && i >= 1250*ms {
			cur, ok := v.Current()
			if !ok || math.Abs(float64(cur.End-1200*ms))/ms > 20 {
				t.Fatalf("open segment at 1250 ms: %v %v", cur, ok)
			}
			// Analysed up to the samples fed, less at most a frame's
			// window still being filled.
			if fed := int64(i + 160); v.Pos() > fed || v.Pos() < fed-400 {
				t.Fatalf("Pos %d after %d samples", v.Pos(), fed)
			}
			v.Cut()
			cut = true
			if v.InSpeech() {
				t.Fatal("in speech after Cut")
			}
		}
	}
	got = v.Flush(got)
	if len(got) != 1 || math.Abs(float64(got[0].Start-2000*ms))/ms > 20 {
		t.Fatalf("segments %v, want only the second burst", got)
	}
}
