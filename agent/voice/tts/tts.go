// Package tts speaks the assistant's answers: espeak-ng synthesises the
// text (Debian's espeak-ng, the same engine that pronounces the contexts
// at build time), and a Player (the malgo playback device on a head unit,
// a buffer in tests) plays it at the device's rate and channel count.
//
// Chinese answers are spoken through their pinyin (intent.Context's
// Pronounce) with the cmn-latn-pinyin voice: the plain cmn voice of
// Debian's build reads hanzi wrongly (see RECIPES.md).
package tts

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evedge/evedge/drivers/audio"
)

// ErrNoEspeak is returned when espeak-ng is not installed; the assistant
// then answers in text only (logs, API) and says why once.
var ErrNoEspeak = errors.New("tts: espeak-ng not found (apt-get install espeak-ng)")

// MaxText is the longest answer spoken, in bytes; longer text is cut at a
// word boundary (an answer the driver cannot follow is no answer).
const MaxText = 600

// maxWAV bounds what is read from espeak-ng: 600 bytes of text are under
// a minute of speech, 2.6 MB at 22 050 Hz.
const maxWAV = 16 << 20

// Espeak synthesises speech by running espeak-ng.
type Espeak struct {
	Bin     string        // default "espeak-ng"
	Speed   int           // words per minute, default 165 (espeak's 175 is hurried in a car)
	Timeout time.Duration // per answer, default 5 s
}

// Synthesize returns text spoken with voice (an espeak-ng voice name such
// as "en-us", "de", "cmn-latn-pinyin") as mono PCM at espeak-ng's rate.
func (e Espeak) Synthesize(ctx context.Context, voice, text string) (audio.Buffer, error) {
	bin := e.Bin
	if bin == "" {
		bin = "espeak-ng"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return audio.Buffer{}, ErrNoEspeak
	}
	if !validVoice(voice) {
		return audio.Buffer{}, fmt.Errorf("tts: invalid voice %q", voice)
	}
	if ok, err := e.HasVoice(ctx, voice); err != nil {
		return audio.Buffer{}, err
	} else if !ok {
		// espeak-ng would fall back to its default voice silently.
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng has no voice %q (espeak-ng --voices lists them)", voice)
	}
	text = Clean(text)
	if text == "" {
		return audio.Buffer{}, errors.New("tts: nothing to say")
	}
	speed := e.Speed
	if speed <= 0 {
		speed = 165
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// "--" ends the options: an answer starting with "-" is text.
	cmd := exec.CommandContext(ctx, bin, "--stdout", "-s", fmt.Sprint(speed), "-v", voice, "--", text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng: %w", err)
	}
	raw, rerr := io.ReadAll(io.LimitReader(out, maxWAV+1))
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng -v %s: %w", voice, ctx.Err())
	case werr != nil:
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng -v %s: %w: %s", voice, werr, strings.TrimSpace(stderr.String()))
	case rerr != nil:
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng -v %s: %w", voice, rerr)
	case len(raw) > maxWAV:
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng -v %s: more than %d bytes of audio", voice, maxWAV)
	}
	if err := FixStreamedWAV(raw); err != nil {
		return audio.Buffer{}, fmt.Errorf("tts: espeak-ng -v %s: %w", voice, err)
	}
	w, err := audio.DecodeWAV(bytes.NewReader(raw), "espeak-ng", maxWAV)
	if err != nil {
		return audio.Buffer{}, err
	}
	return w.Buffer, nil
}

var voiceCache sync.Map // bin -> map[string]bool

// HasVoice reports whether espeak-ng knows voice, by language name
// ("en-us", "cmn-latn-pinyin") or voice file ("gmw/en-US"), from
// `espeak-ng --voices`, read once per binary.
func (e Espeak) HasVoice(ctx context.Context, voice string) (bool, error) {
	bin := e.Bin
	if bin == "" {
		bin = "espeak-ng"
	}
	// "en-us+f2": a voice with a variant; the variant files ship with
	// espeak-ng's data, the voice is what may be missing.
	voice, _, _ = strings.Cut(voice, "+")
	if v, ok := voiceCache.Load(bin); ok {
		return v.(map[string]bool)[strings.ToLower(voice)], nil
	}
	out, err := exec.CommandContext(ctx, bin, "--voices").Output()
	if err != nil {
		return false, fmt.Errorf("tts: espeak-ng --voices: %w", err)
	}
	set := map[string]bool{}
	for i, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 5 {
			continue // the header
		}
		set[strings.ToLower(f[1])] = true
		set[strings.ToLower(f[4])] = true
		set[strings.ToLower(path.Base(f[4]))] = true
		// "(fr 5)(zh 5)": the other languages the voice answers to.
		for _, o := range f[5:] {
			if strings.HasPrefix(o, "(") {
				set[strings.ToLower(strings.TrimPrefix(o, "("))] = true
			}
		}
	}
	if len(set) == 0 {
		return false, errors.New("tts: espeak-ng --voices listed no voice")
	}
	voiceCache.Store(bin, set)
	return set[strings.ToLower(voice)], nil
}

func validVoice(v string) bool {
	if v == "" || len(v) > 64 || v[0] == '-' {
		return false
	}
	for _, r := range v {
		if !(r == '-' || r == '_' || r == '+' || r == '/' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// Clean prepares an answer for the synthesiser: control characters become
// spaces, runs of spaces one space, and text past MaxText bytes is cut at
// the last space before it.
func Clean(s string) string {
	var b strings.Builder
	space := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteRune(r)
		space = false
	}
	t := strings.TrimSpace(b.String())
	if len(t) > MaxText {
		cut := strings.LastIndexByte(t[:MaxText], ' ')
		if cut <= 0 {
			cut = MaxText
			for cut > 0 && !utf8.RuneStart(t[cut]) {
				cut--
			}
		}
		t = t[:cut]
	}
	return t
}

// FixStreamedWAV repairs the header of a WAV written to a pipe: a writer
// that cannot seek back (espeak-ng --stdout) leaves placeholder sizes in
// the RIFF and data chunks. The data chunk is set to what was received
// (whole sample frames) and the RIFF size to match. Other chunks must be
// complete.
func FixStreamedWAV(b []byte) error {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return errors.New("not a RIFF/WAVE stream")
	}
	le := binary.LittleEndian
	align := 2
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(le.Uint32(b[off+4:]))
		if id == "fmt " && size >= 16 && off+8+16 <= len(b) {
			if ba := int(le.Uint16(b[off+8+12:])); ba > 0 {
				align = ba
			}
		}
		if id == "data" {
			n := len(b) - off - 8
			n -= n % align
			le.PutUint32(b[off+4:], uint32(n))
			le.PutUint32(b[4:], uint32(off+8+n-8))
			return nil
		}
		if size < 0 || off+8+size > len(b) {
			return fmt.Errorf("chunk %q at offset %d runs past the end", id, off)
		}
		off += 8 + size + size&1
	}
	return errors.New("no data chunk")
}

// Player plays interleaved float32 samples in its Format and returns when
// they have been handed to the device. drivers/audio/malgo's Playback is
// one.
type Player interface {
	Format() audio.Format
	Play(ctx context.Context, samples []float32) error
}

// Speaker says answers through a Player.
type Speaker struct {
	Synth  Espeak
	Player Player
}

// Say synthesises text with voice and plays it to the end (or until ctx
// ends: a new push-to-talk press interrupts the answer). It returns the
// seconds of speech played.
func (s *Speaker) Say(ctx context.Context, voice, text string) (float64, error) {
	if s.Player == nil {
		return 0, errors.New("tts: no playback device")
	}
	b, err := s.Synth.Synthesize(ctx, voice, text)
	if err != nil {
		return 0, err
	}
	pcm, err := Fit(b, s.Player.Format())
	if err != nil {
		return 0, err
	}
	if err := s.Player.Play(ctx, pcm); err != nil {
		return 0, fmt.Errorf("tts: play: %w", err)
	}
	return b.Seconds(), nil
}

// Fit converts mono or multi-channel speech to the player's format:
// resampled to its rate, down-mixed to mono, then copied to each of its
// channels (every cabin speaker says the answer).
func Fit(b audio.Buffer, f audio.Format) ([]float32, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("tts: player format: %w", err)
	}
	mono := b.Mono(nil)
	if b.SampleRate != f.SampleRate {
		var err error
		if mono, err = audio.Resample(mono, b.SampleRate, f.SampleRate); err != nil {
			return nil, fmt.Errorf("tts: resample %d -> %d Hz: %w", b.SampleRate, f.SampleRate, err)
		}
	}
	if f.Channels == 1 {
		return mono, nil
	}
	out := make([]float32, len(mono)*f.Channels)
	for i, v := range mono {
		for c := range f.Channels {
			out[i*f.Channels+c] = v
		}
	}
	return out, nil
}
