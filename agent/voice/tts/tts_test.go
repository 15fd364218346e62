package tts

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evedge/evedge/drivers/audio"
)

func needEspeak(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_ESPEAK") != "" {
			t.Fatal("espeak-ng required (EVEDGE_REQUIRE_ESPEAK) but not installed")
		}
		t.Skip("espeak-ng not installed")
	}
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(1, len(x))))
}

// TestSynthesizeMatchesFile checks the streamed synthesis against the
// file espeak-ng writes itself (-w, where it seeks back and writes true
// sizes): the same samples, so the header repair and decoding lose
// nothing.
func TestSynthesizeMatchesFile(t *testing.T) {
	needEspeak(t)
	for _, c := range []struct{ voice, text string }{
		{"en-us", "Battery at 76 percent, about 310 kilometres of range."},
		{"de", "Batterie bei 76 Prozent, etwa 310 Kilometer Reichweite."},
		{"cmn-latn-pinyin", "dian4 liang4 bai3 fen1 zhi1 qi1 shi2 liu4"},
	} {
		b, err := Espeak{}.Synthesize(context.Background(), c.voice, c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.voice, err)
		}
		p := filepath.Join(t.TempDir(), "ref.wav")
		if out, err := exec.Command("espeak-ng", "-s", "165", "-v", c.voice, "-w", p, "--", c.text).CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng -w: %v %s", err, out)
		}
		ref, err := audio.ReadWAVFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if b.SampleRate != ref.SampleRate || b.Channels != 1 || len(b.Data) != len(ref.Data) {
			t.Fatalf("%s: %d Hz x%d %d samples, file %d Hz %d samples", c.voice, b.SampleRate, b.Channels, len(b.Data), ref.SampleRate, len(ref.Data))
		}
		for i := range b.Data {
			if b.Data[i] != ref.Data[i] {
				t.Fatalf("%s: sample %d = %v, file %v", c.voice, i, b.Data[i], ref.Data[i])
			}
		}
		// A sentence of this length is 2..6 s of speech, not silence.
		if s := b.Seconds(); s < 2 || s > 6 {
			t.Errorf("%s: %.2f s of speech", c.voice, s)
		}
		if r := rms(b.Data); r < 0.01 {
			t.Errorf("%s: RMS %.4f: silent", c.voice, r)
		}
	}
}

// TestSynthesizeText: options in the text stay text, and errors are clear.
func TestSynthesizeText(t *testing.T) {
	needEspeak(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.wav")
	if _, err := (Espeak{}).Synthesize(context.Background(), "en-us", "-w "+out+" hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("text starting with an option was read as an option")
	}
	if _, err := (Espeak{}).Synthesize(context.Background(), "--help", "hello"); err == nil {
		t.Error("voice --help accepted")
	}
	if _, err := (Espeak{}).Synthesize(context.Background(), "en-us", " \n\t "); err == nil {
		t.Error("empty answer accepted")
	}
	_, err := (Espeak{}).Synthesize(context.Background(), "no-such-voice-xx", "hello")
	if err == nil || !strings.Contains(err.Error(), "no-such-voice-xx") {
		t.Errorf("unknown voice: %v", err)
	}
	if _, err := (Espeak{Bin: "/nonexistent/espeak-ng"}).Synthesize(context.Background(), "en-us", "hello"); !errors.Is(err, ErrNoEspeak) {
		t.Errorf("missing binary: %v, want ErrNoEspeak", err)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  Battery\tat\n76 %  ": "Battery at 76 %",
		"a\x00b\x1bc":           "a b c",
		"电量百分之七十六":              "电量百分之七十六",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("word ", 200)
	if got := Clean(long); len(got) > MaxText || strings.HasSuffix(got, " ") || !strings.HasPrefix(got, "word word") {
		t.Errorf("long text cut to %d bytes: %q...", len(got), got[:20])
	}
	han := strings.Repeat("电", 300) // no spaces: cut on a rune boundary
	if got := Clean(han); len(got) > MaxText || !strings.HasPrefix(han, got) || len(got)%3 != 0 {
		t.Errorf("hanzi cut to %d bytes", len(got))
	}
}

// streamed builds the header espeak-ng writes to a pipe: placeholder
// sizes 0x7ffff000 (RIFF) and 0x7ffff000 (data) ahead of n samples.
func streamed(n int, extra []byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(0x7ffff024))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, []uint16{1, 1})
	binary.Write(&b, le, []uint32{22050, 44100})
	binary.Write(&b, le, []uint16{2, 16})
	b.Write(extra)
	b.WriteString("data")
	binary.Write(&b, le, uint32(0x7ffff000))
	for i := range n {
		binary.Write(&b, le, int16(i*100))
	}
	return b.Bytes()
}

func TestFixStreamedWAV(t *testing.T) {
	// 10 samples, plus a LIST chunk before the data and a stray odd byte
	// (a cut mid-sample) at the end.
	list := append([]byte("LIST\x04\x00\x00\x00"), 'I', 'N', 'F', 'O')
	b := append(streamed(10, list), 0x7f)
	if err := FixStreamedWAV(b); err != nil {
		t.Fatal(err)
	}
	w, err := audio.DecodeWAV(bytes.NewReader(b), "t", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Data) != 10 || w.SampleRate != 22050 {
		t.Fatalf("%d samples at %d Hz, want 10 at 22050", len(w.Data), w.SampleRate)
	}
	// Sample 3 is 300/32768.
	if got, want := w.Data[3], float32(300)/32768; math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("sample 3 = %v, want %v", got, want)
	}
	if got := binary.LittleEndian.Uint32(b[4:]); int(got) != len(b)-1-8 {
		t.Errorf("RIFF size %d, want %d", got, len(b)-1-8)
	}
	for _, bad := range [][]byte{nil, []byte("RIFX0000WAVE"), []byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\x00\x00")} {
		if err := FixStreamedWAV(bad); err == nil {
			t.Errorf("FixStreamedWAV(%q) accepted", bad)
		}
	}
}

func FuzzFixStreamedWAV(f *testing.F) {
	f.Add(streamed(4, nil))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := append([]byte(nil), b...)
		if FixStreamedWAV(c) != nil {
			return
		}
		// A repaired stream decodes or fails cleanly, never panics.
		audio.DecodeWAV(bytes.NewReader(c), "fuzz", 1<<20)
	})
}

// player records what it is given.
type player struct {
	f   audio.Format
	got []float32
}

func (p *player) Format() audio.Format { return p.f }
func (p *player) Play(ctx context.Context, s []float32) error {
	p.got = append(p.got, s...)
	return ctx.Err()
}

func TestFit(t *testing.T) {
	// 0.5 s of a 440 Hz tone at 22 050 Hz, to 48 kHz stereo.
	b := audio.Buffer{Format: audio.Format{SampleRate: 22050, Channels: 1}, Data: make([]float32, 11025)}
	for i := range b.Data {
		b.Data[i] = 0.5 * float32(math.Sin(2*math.Pi*440*float64(i)/22050))
	}
	out, err := Fit(b, audio.Format{SampleRate: 48000, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	if frames := len(out) / 2; math.Abs(float64(frames)-24000) > 2 {
		t.Fatalf("%d frames, want 24000 (0.5 s at 48 kHz)", frames)
	}
	for i := 0; i < len(out); i += 2 {
		if out[i] != out[i+1] {
			t.Fatalf("frame %d: channels differ", i/2)
		}
	}
	// Amplitude survives the resampler: RMS of a 0.5 sine is 0.354.
	mid := out[4000:44000]
	if r := rms(mid); math.Abs(r-0.3536) > 0.01 {
		t.Errorf("RMS %.4f, want 0.3536", r)
	}
	if _, err := Fit(b, audio.Format{}); err == nil {
		t.Error("zero player format accepted")
	}
}

func TestSay(t *testing.T) {
	needEspeak(t)
	p := &player{f: audio.Format{SampleRate: 16000, Channels: 1}}
	s := Speaker{Player: p}
	sec, err := s.Say(context.Background(), "fr", "La batterie est à 76 pour cent.")
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(len(p.got)) / 16000; math.Abs(got-sec) > 0.01 || sec < 1 {
		t.Errorf("played %.2f s, synthesised %.2f s", got, sec)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Say(ctx, "en-us", "hello"); err == nil {
		t.Error("cancelled answer played")
	}
	if _, err := (&Speaker{}).Say(context.Background(), "en-us", "hello"); err == nil {
		t.Error("no player accepted")
	}
}
