package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

func encodeBlock(t testing.TB, frames []can.Frame) []byte {
	t.Helper()
	e, err := newBlockEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	return e.encode(nil, frames)
}

func newTestDecoder(t testing.TB) *blockDecoder {
	d, err := newBlockDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	return d
}

// TestCodecRoundTrip checks blocks of unusual shapes: one frame, equal
// times, unsorted times, extreme times (the unit trick must not overflow),
// more than 256 distinct ids (2-byte index), the largest block.
func TestCodecRoundTrip(t *testing.T) {
	d := newTestDecoder(t)
	var sc decodeScratch
	many := make([]can.Frame, 0, maxBlockFramesLimit)
	for i := range maxBlockFramesLimit {
		many = append(many, frame(int64(i)*1000, 3, uint32(i%700), can.Flags(i%16), byte(i), byte(i>>8)))
	}
	cases := map[string][]can.Frame{
		"one":          {frame(42, 0, 0x7DF, 0, 2, 1, 0)},
		"equal times":  {frame(5, 0, 1, 0), frame(5, 0, 2, 0, 1), frame(5, 0, 1, 0, 2)},
		"unsorted":     {frame(100, 0, 1, 0), frame(-7, 0, 1, 0, 1), frame(1e15, 0, 1, 0, 2), frame(3, 0, 2, 0)},
		"extremes":     {frame(math.MinInt64, 0, 1, 0), frame(math.MinInt64+1, 0, 1, 0), frame(math.MaxInt64, 0, 1, 0)},
		"near max":     {frame(math.MaxInt64-2000, 0, 1, 0), frame(math.MaxInt64-1000, 0, 1, 0), frame(math.MaxInt64, 0, 1, 0)},
		"many ids":     many[:5000],
		"largest":      many,
		"invalid ones": {{Time: 1, ID: math.MaxUint32, Flags: 0xFF, Len: 0xFF, Data: [8]byte{0xFF, 0, 0xFF, 0, 0xFF, 0, 0xFF, 0}}},
	}
	for name, frames := range cases {
		t.Run(name, func(t *testing.T) {
			blob := encodeBlock(t, frames)
			got, err := d.decode(nil, blob, 3, &sc)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(frames)
			for i := range want {
				want[i].Bus = 3
			}
			sameFrames(t, got, want)
		})
	}
}

// TestCodecGolden pins the layout: a block encoded by hand from the
// description in codec.go must decode to its frames (so that the format
// cannot change silently and break databases already written).
func TestCodecGolden(t *testing.T) {
	// Two frames of 0x123 and one of 0x7FF (remote), times 1000, 3000,
	// 4000 ns: unit 1000 -> u = 0, 2, 3. Mode 0 (previous frame): residuals
	// 2, 1.
	raw := []byte{layoutVersion}
	raw = binary.AppendUvarint(raw, 3)    // n
	raw = binary.AppendVarint(raw, 1000)  // t0
	raw = binary.AppendUvarint(raw, 1000) // unit
	raw = append(raw, predictPrevFrame)
	raw = binary.AppendUvarint(raw, 2) // k
	raw = binary.AppendUvarint(raw, 0x123<<8)
	raw = binary.AppendUvarint(raw, 0x7FF<<8|uint64(can.Remote))
	raw = append(raw, 0, 1, 0) // index column
	raw = append(raw, 2, 0, 2) // len column
	raw = binary.AppendVarint(raw, 2)
	raw = binary.AppendVarint(raw, 1)
	// Entry 0: frames DE AD, DE AE -> byte 0: DE, 00; byte 1: AD, 01.
	pay := []byte{0xDE, 0x00, 0xAD, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	pay = append(pay, make([]byte, 8)...) // entry 1: zeros
	raw = append(raw, pay...)
	var sc decodeScratch
	got, err := decodeRaw(nil, raw, 7, &sc)
	if err != nil {
		t.Fatal(err)
	}
	want := []can.Frame{
		frame(1000, 7, 0x123, 0, 0xDE, 0xAD),
		{Time: 3000, Bus: 7, ID: 0x7FF, Flags: can.Remote},
		frame(4000, 7, 0x123, 0, 0xDE, 0xAE),
	}
	sameFrames(t, got, want)
	// And the encoder writes exactly that.
	e, _ := newBlockEncoder()
	defer e.close()
	if enc := e.encodeRaw(want); !bytes.Equal(enc, raw) {
		t.Errorf("encodeRaw =\n%x\nwant\n%x", enc, raw)
	}
}

func TestCodecCorrupt(t *testing.T) {
	d := newTestDecoder(t)
	var sc decodeScratch
	var frames []can.Frame
	for i := range 500 {
		frames = append(frames, frame(int64(i)*10_000, 0, uint32(i%9), 0, byte(i)))
	}
	blob := encodeBlock(t, frames)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not a zstd frame at all"),
		"truncated": blob[:len(blob)/2],
		"flipped":   flip(blob, len(blob)/2),
	} {
		if _, err := d.decode(nil, b, 0, &sc); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: err %v, want errCorrupt", name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0x10
	return c
}

// FuzzDecodeBlock feeds the block decoder arbitrary blobs: corrupt input
// gives an error, never a panic, and what decodes re-encodes to the same
// frames.
func FuzzDecodeBlock(f *testing.F) {
	e, err := newBlockEncoder()
	if err != nil {
		f.Fatal(err)
	}
	defer e.close()
	edge := edgeFrames()
	f.Add(e.encode(nil, edge[:9]))
	tr := newTraffic(1, 0, 1)
	f.Add(e.encode(nil, tr.until(nil, 50e6)))
	f.Add([]byte{})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	d, err := newBlockDecoder()
	if err != nil {
		f.Fatal(err)
	}
	defer d.close()
	f.Fuzz(func(t *testing.T, blob []byte) {
		var sc decodeScratch
		got, err := d.decode(nil, blob, 1, &sc)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		again, err := d.decode(nil, e.encode(nil, got), 1, &sc)
		if err != nil {
			t.Fatal(err)
		}
		sameFrames(t, again, got)
	})
}

// FuzzDecodeRaw feeds the columnar parser directly (without zstd, whose
// checksum would hide most mutations from it).
func FuzzDecodeRaw(f *testing.F) {
	e, err := newBlockEncoder()
	if err != nil {
		f.Fatal(err)
	}
	defer e.close()
	edge := edgeFrames()
	f.Add(slices.Clone(e.encodeRaw(edge[:9])))
	f.Add(slices.Clone(e.encodeRaw(newTraffic(2, 0, 1).until(nil, 20e6))))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var sc decodeScratch
		got, err := decodeRaw(nil, raw, 0, &sc)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		back, err := decodeRaw(nil, slices.Clone(e.encodeRaw(got)), 0, &sc)
		if err != nil {
			t.Fatal(err)
		}
		sameFrames(t, back, got)
	})
}

// FuzzBlockRoundTrip encodes arbitrary frames (24 bytes of fuzz each) and
// checks they come back bit for bit.
func FuzzBlockRoundTrip(f *testing.F) {
	f.Add(make([]byte, 48))
	f.Add(bytes.Repeat([]byte{0xFF, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 20))
	e, err := newBlockEncoder()
	if err != nil {
		f.Fatal(err)
	}
	defer e.close()
	d, err := newBlockDecoder()
	if err != nil {
		f.Fatal(err)
	}
	defer d.close()
	f.Fuzz(func(t *testing.T, b []byte) {
		var frames []can.Frame
		for ; len(b) >= 24 && len(frames) < 4096; b = b[24:] {
			var fr can.Frame
			fr.Time = int64(binary.LittleEndian.Uint64(b))
			fr.ID = binary.LittleEndian.Uint32(b[8:])
			fr.Len, fr.Flags = b[12], can.Flags(b[13])
			copy(fr.Data[:], b[16:24])
			frames = append(frames, fr)
		}
		if len(frames) == 0 {
			return
		}
		var sc decodeScratch
		got, err := d.decode(nil, e.encode(nil, frames), 0, &sc)
		if err != nil {
			t.Fatal(err)
		}
		sameFrames(t, got, frames)
	})
}
