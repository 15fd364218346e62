package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// wavFile builds a RIFF/WAVE file from chunks; sizes and pad bytes are
// filled in unless a chunk says otherwise.
type chunk struct {
	id   string
	body []byte
	size int64 // -1: len(body)
}

func riff(chunks ...chunk) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteString(c.id)
		size := c.size
		if size < 0 {
			size = int64(len(c.body))
		}
		binary.Write(&b, binary.LittleEndian, uint32(size))
		b.Write(c.body)
		if len(c.body)%2 == 1 && c.size < 0 {
			b.WriteByte(0)
		}
	}
	out := append([]byte("RIFF\x00\x00\x00\x00WAVE"), b.Bytes()...)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

func fmtBody(tag, channels uint16, rate uint32, bits uint16) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	block := channels * bits / 8
	binary.Write(&b, le, tag)
	binary.Write(&b, le, channels)
	binary.Write(&b, le, rate)
	binary.Write(&b, le, rate*uint32(block))
	binary.Write(&b, le, block)
	binary.Write(&b, le, bits)
	return b.Bytes()
}

func extensibleBody(sub, channels uint16, rate uint32, bits, valid uint16) []byte {
	b := fmtBody(wavExtensible, channels, rate, bits)
	le := binary.LittleEndian
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, valid)
	b = le.AppendUint32(b, 0x3) // FL|FR
	b = le.AppendUint16(b, sub)
	return append(b, "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"...)
}

func le16(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func TestDecodeWAV(t *testing.T) {
	f32 := func(v ...float32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		return b
	}
	tests := []struct {
		name      string
		file      []byte
		format    Format
		bits      int
		want      []float32
		truncated bool
	}{
		{"pcm16 mono", riff(chunk{"fmt ", fmtBody(1, 1, 16000, 16), -1}, chunk{"data", le16(0, 16384, -32768, 32767), -1}),
			Format{16000, 1}, 16, []float32{0, 0.5, -1, 32767.0 / 32768}, false},
		{"pcm8 unsigned", riff(chunk{"fmt ", fmtBody(1, 1, 8000, 8), -1}, chunk{"data", []byte{128, 192, 0, 255}, -1}),
			Format{8000, 1}, 8, []float32{0, 0.5, -1, 127.0 / 128}, false},
		{"pcm24 stereo", riff(chunk{"fmt ", fmtBody(1, 2, 48000, 24), -1}, chunk{"data", []byte{0, 0, 0x40, 0, 0, 0x80}, -1}),
			Format{48000, 2}, 24, []float32{0.5, -1}, false},
		{"pcm32", riff(chunk{"fmt ", fmtBody(1, 1, 44100, 32), -1}, chunk{"data", []byte{0, 0, 0, 0xc0}, -1}),
			Format{44100, 1}, 32, []float32{-0.5}, false},
		{"float32", riff(chunk{"fmt ", fmtBody(3, 1, 22050, 32), -1}, chunk{"fact", []byte{1, 0, 0, 0}, -1}, chunk{"data", f32(0.25, -0.75), -1}),
			Format{22050, 1}, 32, []float32{0.25, -0.75}, false},
		{"float32 NaN is silenced", riff(chunk{"fmt ", fmtBody(3, 1, 8000, 32), -1}, chunk{"data", f32(float32(math.NaN())), -1}),
			Format{8000, 1}, 32, []float32{0}, false},
		{"extensible pcm16 3ch", riff(chunk{"fmt ", extensibleBody(1, 3, 16000, 16, 16), -1}, chunk{"data", le16(1<<14, -1<<14, 0), -1}),
			Format{16000, 3}, 16, []float32{0.5, -0.5, 0}, false},
		{"extensible float", riff(chunk{"fmt ", extensibleBody(3, 1, 11025, 32, 32), -1}, chunk{"data", f32(0.125), -1}),
			Format{11025, 1}, 32, []float32{0.125}, false},
		{"LIST with odd size and pad byte before fmt", riff(chunk{"LIST", []byte("INFOabc"), -1}, chunk{"fmt ", fmtBody(1, 1, 8000, 16), -1}, chunk{"data", le16(100), -1}),
			Format{8000, 1}, 16, []float32{100.0 / 32768}, false},
		{"odd-sized unknown chunk between fmt and data", riff(chunk{"fmt ", fmtBody(1, 1, 8000, 8), -1}, chunk{"junk", []byte{1}, -1}, chunk{"data", []byte{128}, -1}),
			Format{8000, 1}, 8, []float32{0}, false},
		{"truncated data chunk", riff(chunk{"fmt ", fmtBody(1, 2, 16000, 16), -1}, chunk{"data", le16(1, 2, 3), 100}),
			Format{16000, 2}, 16, []float32{1.0 / 32768, 2.0 / 32768}, true},
		{"streamed (size 0xFFFFFFFF)", riff(chunk{"fmt ", fmtBody(1, 1, 16000, 16), -1}, chunk{"data", le16(7, 8), 0xFFFFFFFF}),
			Format{16000, 1}, 16, []float32{7.0 / 32768, 8.0 / 32768}, false},
		{"empty data", riff(chunk{"fmt ", fmtBody(1, 1, 16000, 16), -1}, chunk{"data", nil, -1}),
			Format{16000, 1}, 16, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := DecodeWAV(bytes.NewReader(tt.file), "x.wav", 0)
			if err != nil {
				t.Fatal(err)
			}
			if w.Format != tt.format || w.Bits != tt.bits {
				t.Errorf("format %+v %d bits, want %+v %d", w.Format, w.Bits, tt.format, tt.bits)
			}
			if len(w.Data) != len(tt.want) {
				t.Fatalf("samples %v, want %v", w.Data, tt.want)
			}
			for i := range tt.want {
				if math.Abs(float64(w.Data[i]-tt.want[i])) > 1e-7 {
					t.Errorf("sample %d = %v, want %v", i, w.Data[i], tt.want[i])
				}
			}
			if w.Truncated != tt.truncated {
				t.Errorf("Truncated = %v (note %q), want %v", w.Truncated, w.Note, tt.truncated)
			}
			if tt.truncated && !strings.Contains(w.Note, "declares 100 bytes") {
				t.Errorf("note %q does not say what was declared", w.Note)
			}
		})
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	good := fmtBody(1, 1, 16000, 16)
	tests := []struct {
		name  string
		file  []byte
		max   int64
		field string
	}{
		{"empty", nil, 0, "RIFF header"},
		{"not riff", []byte("OggS\x00\x00\x00\x00WAVEfmt "), 0, "RIFF header"},
		{"not wave", []byte("RIFF\x04\x00\x00\x00AVI "), 0, "RIFF header"},
		{"rf64", []byte("RF64\xff\xff\xff\xffWAVE"), 0, "RIFF header"},
		{"no fmt", riff(chunk{"LIST", []byte("ab"), -1}), 0, "fmt chunk"},
		{"no data", riff(chunk{"fmt ", good, -1}), 0, "data chunk"},
		{"data before fmt", riff(chunk{"data", le16(1), -1}, chunk{"fmt ", good, -1}), 0, "data chunk"},
		{"fmt too short", riff(chunk{"fmt ", good[:14], -1}), 0, "fmt chunk"},
		{"fmt cut off", riff(chunk{"fmt ", good[:10], 16}), 0, "fmt chunk"},
		{"adpcm", riff(chunk{"fmt ", fmtBody(2, 1, 8000, 4), -1}, chunk{"data", []byte{1}, -1}), 0, "fmt chunk: format tag"},
		{"12 bits", riff(chunk{"fmt ", fmtBody(1, 1, 8000, 12), -1}, chunk{"data", []byte{1}, -1}), 0, "fmt chunk: bits per sample"},
		{"float16", riff(chunk{"fmt ", fmtBody(3, 1, 8000, 16), -1}, chunk{"data", []byte{1}, -1}), 0, "fmt chunk: bits per sample"},
		{"zero channels", riff(chunk{"fmt ", fmtBody(1, 0, 8000, 16), -1}, chunk{"data", []byte{1}, -1}), 0, "fmt chunk: channels"},
		{"zero rate", riff(chunk{"fmt ", fmtBody(1, 1, 0, 16), -1}, chunk{"data", []byte{1}, -1}), 0, "fmt chunk: sample rate"},
		{"bad block align", riff(chunk{"fmt ", func() []byte { b := fmtBody(1, 2, 8000, 16); b[12] = 3; return b }(), -1}, chunk{"data", nil, -1}), 0, "fmt chunk: block align"},
		{"extensible unknown guid", riff(chunk{"fmt ", func() []byte { b := extensibleBody(1, 1, 8000, 16, 16); b[30] = 0x99; return b }(), -1}, chunk{"data", nil, -1}), 0, "fmt chunk: subformat"},
		{"extensible short", riff(chunk{"fmt ", extensibleBody(1, 1, 8000, 16, 16)[:30], -1}, chunk{"data", nil, -1}), 0, "fmt chunk"},
		{"over the limit", riff(chunk{"fmt ", good, -1}, chunk{"data", make([]byte, 200), -1}), 100, "data chunk"},
		{"streamed over the limit", riff(chunk{"fmt ", good, -1}, chunk{"data", make([]byte, 200), 0xFFFFFFFF}), 100, "data chunk"},
		{"huge declared LIST", riff(chunk{"fmt ", good, -1}, chunk{"LIST", []byte("ab"), 1 << 30}), 0, `"LIST" chunk`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeWAV(bytes.NewReader(tt.file), "cabin.wav", tt.max)
			var we *WAVError
			if !errors.As(err, &we) {
				t.Fatalf("error %v, want a *WAVError", err)
			}
			if we.Field != tt.field || we.File != "cabin.wav" {
				t.Errorf("error %q: field %q, want %q", err, we.Field, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "cabin.wav: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestEncodeWAVRoundTrip(t *testing.T) {
	b := Buffer{Format: Format{SampleRate: 16000, Channels: 2}, Data: []float32{0, 0.5, -1, 1.5, -0.25, 1 / 32768.0}}
	var out bytes.Buffer
	if err := EncodeWAV(&out, b); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 44+2*len(b.Data) {
		t.Fatalf("file is %d bytes, want %d", out.Len(), 44+2*len(b.Data))
	}
	w, err := DecodeWAV(&out, "rt.wav", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0.5, -1, 32767.0 / 32768, -0.25, 1 / 32768.0} // 1.5 clips
	if w.Format != b.Format || w.Bits != 16 || len(w.Data) != len(want) {
		t.Fatalf("got %+v", w)
	}
	for i := range want {
		if w.Data[i] != want[i] {
			t.Errorf("sample %d = %v, want %v", i, w.Data[i], want[i])
		}
	}
	if err := EncodeWAV(&out, Buffer{Format: Format{16000, 2}, Data: []float32{1}}); err == nil {
		t.Error("a partial frame encoded without error")
	}
	if err := EncodeWAV(&out, Buffer{}); err == nil {
		t.Error("an empty format encoded without error")
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(riff(chunk{"fmt ", fmtBody(1, 1, 16000, 16), -1}, chunk{"data", le16(1, 2, 3), -1}))
	f.Add(riff(chunk{"fmt ", fmtBody(1, 2, 8000, 24), -1}, chunk{"data", make([]byte, 12), 100}))
	f.Add(riff(chunk{"fmt ", fmtBody(3, 1, 8000, 32), -1}, chunk{"data", make([]byte, 8), -1}))
	f.Add(riff(chunk{"LIST", []byte("INFOabc"), -1}, chunk{"fmt ", extensibleBody(3, 2, 44100, 32, 32), -1}, chunk{"data", make([]byte, 16), -1}))
	f.Add(riff(chunk{"fmt ", fmtBody(1, 1, 8000, 8), -1}, chunk{"data", []byte{1, 2, 3}, 0xFFFFFFFF}))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := DecodeWAV(bytes.NewReader(data), "fuzz.wav", 1<<20)
		if err != nil {
			var we *WAVError
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not a *WAVError", err)
			}
			return
		}
		if w.Channels <= 0 || w.SampleRate <= 0 || len(w.Data)%w.Channels != 0 {
			t.Fatalf("decoded an impossible buffer: %+v, %d samples", w.Format, len(w.Data))
		}
		for _, v := range w.Data {
			if v != v || v > 1e6 || v < -1e6 {
				t.Fatalf("sample %v out of range", v)
			}
		}
		if w.Channels <= 8 {
			var out bytes.Buffer
			if err := EncodeWAV(&out, w.Buffer); err != nil {
				t.Fatal(err)
			}
			w2, err := DecodeWAV(&out, "re.wav", 0)
			if err != nil || w2.Frames() != w.Frames() {
				t.Fatalf("re-encoding: %v, %d frames, want %d", err, w2.Frames(), w.Frames())
			}
		}
	})
}
