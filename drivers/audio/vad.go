package audio

import (
	"fmt"
	"math"
	"time"
)

// VADConfig tunes a VAD. Zero fields take the defaults of DefaultVADConfig.
type VADConfig struct {
	// Features is the log-mel front end the VAD runs on (its SampleRate is
	// the stream's); frames are Hop apart.
	Features LogMelConfig
	// OnsetDB: a frame is "loud" when its mean positive band SNR over the
	// noise floor reaches it; 6.
	OnsetDB float64
	// OffsetDB: a frame is "active" when its mean positive band SNR reaches
	// it and its full-band energy is OffsetDB over the full-band floor. A
	// segment spans a run of active frames; 3.
	OffsetDB float64
	// TopBands is how many of the highest band SNRs are averaged into the
	// score, so that band-limited speech (an 8 kHz source, a muffled
	// mic) is not diluted by empty bands; 16.
	TopBands int
	// MinLoud is the number of loud frames a run of active frames needs to
	// become speech; 50 ms.
	MinLoud time.Duration
	// Hangover is how long speech may go inactive before the segment ends
	// (pauses between words); 300 ms.
	Hangover time.Duration
	// MinSpeech drops shorter segments (clicks, door slams); 120 ms.
	MinSpeech time.Duration
	// NoiseAdapt is the time constant of the noise floor over inactive
	// frames; 400 ms.
	NoiseAdapt time.Duration
	// NoiseRise is how fast the floor creeps up during speech, so that a
	// step up in noise (fan, window) cannot hold the VAD in speech for
	// ever; 1.5 dB/s.
	NoiseRise float64
	// Warmup is how long the start of the stream is taken as noise to seed
	// the floor; 100 ms.
	Warmup time.Duration
}

// DefaultVADConfig suits 16 kHz cabin audio.
func DefaultVADConfig() VADConfig {
	return VADConfig{Features: DefaultLogMelConfig(), OnsetDB: 6, OffsetDB: 3, TopBands: 16,
		MinLoud: 50 * time.Millisecond, Hangover: 300 * time.Millisecond,
		MinSpeech: 120 * time.Millisecond, NoiseAdapt: 400 * time.Millisecond,
		NoiseRise: 1.5, Warmup: 100 * time.Millisecond}
}

// VAD is a streaming voice activity detector on log mel-band energies. For
// every 10 ms frame it compares each band with an adaptive noise floor;
// the mean positive band SNR (a spectral cue: speech concentrates energy in
// a few formant bands where broadband noise spreads it) and the full-band
// energy over its floor decide whether the frame is active. A run of
// active frames with enough loud ones is speech; it ends after Hangover
// without activity and is dropped if shorter than MinSpeech. Boundaries are
// the first and last active frame, so they are exact to a frame even though
// a segment is reported Hangover after it ends.
//
// The floor follows inactive frames with time constant NoiseAdapt and rises
// by NoiseRise dB/s otherwise; it is seeded from the first Warmup of the
// stream. Not safe for concurrent use.
type VAD struct {
	cfg            VADConfig
	mel            *LogMel
	emit           func([]float32)
	hop, offset    int64
	minLoud        int
	hangover       int
	minSpeech      int
	warmup         int
	alpha, rise    float32
	onset, offsetT float32 // thresholds in natural-log units
	noise          []float32
	noiseE         float32 // full-band floor (log)
	snr            []float32
	frame          int64 // index of the next frame

	runStart  int64 // first active frame of the current run, -1 if none
	loud      int   // loud frames in the run
	inSpeech  bool
	segStart  int64
	lastAct   int64
	pending   []Segment
	lastScore float32
}

// NewVAD returns a VAD for one stream.
func NewVAD(cfg VADConfig) (*VAD, error) {
	d := DefaultVADConfig()
	if cfg.OnsetDB == 0 {
		cfg.OnsetDB = d.OnsetDB
	}
	if cfg.OffsetDB == 0 {
		cfg.OffsetDB = d.OffsetDB
	}
	if cfg.TopBands == 0 {
		cfg.TopBands = d.TopBands
	}
	if cfg.MinLoud == 0 {
		cfg.MinLoud = d.MinLoud
	}
	if cfg.Hangover == 0 {
		cfg.Hangover = d.Hangover
	}
	if cfg.MinSpeech == 0 {
		cfg.MinSpeech = d.MinSpeech
	}
	if cfg.NoiseAdapt == 0 {
		cfg.NoiseAdapt = d.NoiseAdapt
	}
	if cfg.NoiseRise == 0 {
		cfg.NoiseRise = d.NoiseRise
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = d.Warmup
	}
	if cfg.OffsetDB < 0 || cfg.OnsetDB < cfg.OffsetDB {
		return nil, fmt.Errorf("audio: vad: invalid 'OnsetDB' %g / 'OffsetDB' %g (0 <= offset <= onset)", cfg.OnsetDB, cfg.OffsetDB)
	}
	if cfg.NoiseRise < 0 {
		return nil, fmt.Errorf("audio: vad: invalid 'NoiseRise' %g", cfg.NoiseRise)
	}
	mel, err := NewLogMel(cfg.Features)
	if err != nil {
		return nil, fmt.Errorf("audio: vad: %w", err)
	}
	mc := mel.Config()
	cfg.Features = mc
	if cfg.TopBands < 1 || cfg.TopBands > mc.Bands {
		return nil, fmt.Errorf("audio: vad: invalid 'TopBands' %d (1..%d)", cfg.TopBands, mc.Bands)
	}
	frameDur := time.Duration(mc.Hop) * time.Second / time.Duration(mc.SampleRate)
	frames := func(d time.Duration) int { return max(1, int((d+frameDur/2)/frameDur)) }
	const dbToNp = math.Ln10 / 10 // 10·log10(x) dB -> ln(x)
	v := &VAD{
		cfg: cfg, mel: mel,
		hop:       int64(mc.Hop),
		offset:    int64(mc.Window-mc.Hop) / 2,
		minLoud:   frames(cfg.MinLoud),
		hangover:  frames(cfg.Hangover),
		minSpeech: frames(cfg.MinSpeech),
		warmup:    frames(cfg.Warmup),
		alpha:     float32(1 - math.Exp(-frameDur.Seconds()/cfg.NoiseAdapt.Seconds())),
		rise:      float32(cfg.NoiseRise * frameDur.Seconds() * dbToNp),
		onset:     float32(cfg.OnsetDB * dbToNp),
		offsetT:   float32(cfg.OffsetDB * dbToNp),
		noise:     make([]float32, mc.Bands),
		snr:       make([]float32, mc.Bands),
		runStart:  -1,
		pending:   make([]Segment, 0, 4),
	}
	v.emit = v.onFrame
	return v, nil
}

// Config is the effective configuration.
func (v *VAD) Config() VADConfig { return v.cfg }

// Process feeds samples (mono, at Features.SampleRate) and appends the
// segments that ended to dst. It allocates nothing once dst has room.
func (v *VAD) Process(dst []Segment, samples []float32) []Segment {
	v.mel.Process(samples, v.emit)
	dst = append(dst, v.pending...)
	v.pending = v.pending[:0]
	return dst
}

// ProcessFrame feeds one log-mel frame computed elsewhere with the same
// Features configuration (so a pipeline computes features once), and
// appends a segment to dst if one ended.
func (v *VAD) ProcessFrame(dst []Segment, logmel []float32) []Segment {
	v.onFrame(logmel)
	dst = append(dst, v.pending...)
	v.pending = v.pending[:0]
	return dst
}

// Flush ends the stream: an open segment is closed at its last active frame
// and appended to dst if long enough.
func (v *VAD) Flush(dst []Segment) []Segment {
	if v.inSpeech {
		v.endSegment()
	}
	v.runStart, v.loud = -1, 0
	dst = append(dst, v.pending...)
	v.pending = v.pending[:0]
	return dst
}

// InSpeech reports whether a segment is open; Current returns it so far.
func (v *VAD) InSpeech() bool { return v.inSpeech }

// Pos is the stream position (samples) up to which the VAD has analysed
// the audio: the end of the last frame's hop, on the scale of Segment
// bounds. Samples fed but not yet making up a frame are not counted.
func (v *VAD) Pos() int64 { return v.frame*v.hop + v.offset }

// Cut ends the open segment now without reporting it: the caller has
// taken it already (an early end of utterance). Speech that follows starts
// a new segment, with the usual onset.
func (v *VAD) Cut() {
	if v.inSpeech {
		v.inSpeech = false
		v.runStart, v.loud = -1, 0
	}
}

// Current is the open segment up to the last active frame.
func (v *VAD) Current() (Segment, bool) {
	if !v.inSpeech {
		return Segment{}, false
	}
	return v.span(v.segStart, v.lastAct), true
}

// Score is the last frame's mean positive band SNR in dB.
func (v *VAD) Score() float64 { return float64(v.lastScore) * 10 / math.Ln10 }

func (v *VAD) span(first, last int64) Segment {
	s := Segment{Start: first*v.hop + v.offset, End: (last+1)*v.hop + v.offset}
	if first == 0 {
		s.Start = 0
	}
	return s
}

func (v *VAD) onFrame(f []float32) {
	t := v.frame
	v.frame++
	// Full-band energy (log of the sum of band energies).
	var sum float32
	for _, l := range f {
		sum += float32(math.Exp(float64(l)))
	}
	e := float32(math.Log(float64(sum)))

	if t < int64(v.warmup) {
		w := 1 / float32(t+1)
		for b, l := range f {
			v.noise[b] += w * (l - v.noise[b])
		}
		v.noiseE += w * (e - v.noiseE)
		return
	}
	for b, l := range f {
		v.snr[b] = max(0, l-v.noise[b])
	}
	score := topMean(v.snr, v.cfg.TopBands)
	v.lastScore = score
	active := score >= v.offsetT && e-v.noiseE >= v.offsetT
	loud := active && score >= v.onset

	if active {
		for b := range f {
			v.noise[b] += v.rise
		}
		v.noiseE += v.rise
	} else {
		for b, l := range f {
			v.noise[b] += v.alpha * (l - v.noise[b])
		}
		v.noiseE += v.alpha * (e - v.noiseE)
	}

	if v.inSpeech {
		if active {
			v.lastAct = t
		} else if t-v.lastAct > int64(v.hangover) {
			v.endSegment()
		}
		return
	}
	if !active {
		v.runStart, v.loud = -1, 0
		return
	}
	if v.runStart < 0 {
		v.runStart = t
	}
	if loud {
		v.loud++
	}
	if v.loud >= v.minLoud {
		v.inSpeech = true
		v.segStart = v.runStart
		v.lastAct = t
	}
}

func (v *VAD) endSegment() {
	v.inSpeech = false
	v.runStart, v.loud = -1, 0
	if v.lastAct-v.segStart+1 >= int64(v.minSpeech) {
		v.pending = append(v.pending, v.span(v.segStart, v.lastAct))
	}
}

// topMean is the mean of the k largest values of x; it reorders x.
func topMean(x []float32, k int) float32 {
	// Partial selection sort: k passes over 40 values is cheaper than a
	// general sort at these sizes.
	var s float32
	for i := 0; i < k; i++ {
		m := i
		for j := i + 1; j < len(x); j++ {
			if x[j] > x[m] {
				m = j
			}
		}
		x[i], x[m] = x[m], x[i]
		s += x[i]
	}
	return s / float32(k)
}
