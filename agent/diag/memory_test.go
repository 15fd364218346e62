package diag

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// streamWithBins returns a Stream whose memory holds two SOC bins: 60 %
// (gap 10 mV, visited at window 1) and 40 % (gap 12.5 mV, at window 31).
func streamWithBins() *Stream {
	var s Stream
	var f [NumFeatures]float32
	var out [NumLongFeatures]float32
	for k := range 60 {
		f[FSOC], f[FCellLowDev0] = 60, 10
		if k >= 30 {
			f[FSOC], f[FCellLowDev0] = 40, 12.5
		}
		s.long.Update(&f, &out)
	}
	return &s
}

// TestMemoryRoundTrip: the memory read back is the one written (bins,
// gaps, visit times, clock and the last sample's time), and a Stream
// restored from it compares a later gap at 60 % SOC with the 10 mV first
// seen: 40 mV after 2 h asleep is a rise of 30 mV.
func TestMemoryRoundTrip(t *testing.T) {
	s := streamWithBins()
	last := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	b := s.AppendMemory([]byte("prefix"), last)
	if !bytes.HasPrefix(b, []byte("prefix")) || len(b) != len("prefix")+memoryFixed+2*memoryBin {
		t.Fatalf("encoded %d bytes", len(b))
	}
	b = b[len("prefix"):]
	var r Stream
	got, err := r.RestoreMemory(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(last) || r.long.clock != 60 || !r.long.socSeen[24] || r.long.socGap[24] != 10 || r.long.socAt[24] != 1 ||
		!r.long.socSeen[16] || r.long.socGap[16] != 12.5 || r.long.socAt[16] != 31 || r.long.n != 0 {
		t.Fatalf("restored last %v, state %+v", got, r.long)
	}
	r.Continue(2 * time.Hour)
	var f [NumFeatures]float32
	var out [NumLongFeatures]float32
	f[FSOC], f[FCellLowDev0] = 60, 40
	r.long.Update(&f, &out)
	if out[LCellSameSOCRise] != 30 {
		t.Errorf("rise after the restore and a 2 h sleep: %v mV, want 30", out[LCellSameSOCRise])
	}
	var empty Stream
	if _, err := r.RestoreMemory(empty.AppendMemory(nil, last)); err != nil || r.long.clock != 0 {
		t.Errorf("empty memory: %v, clock %d", err, r.long.clock)
	}
}

// TestMemoryRefused: a truncated, altered, foreign or inconsistent
// record is refused with its reason, and the Stream is left reset.
func TestMemoryRefused(t *testing.T) {
	good := streamWithBins().AppendMemory(nil, time.Unix(1e9, 0))
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	resum := func(edit func(b []byte)) []byte { // an edit with a valid checksum
		s := streamWithBins()
		b := s.AppendMemory(nil, time.Unix(1e9, 0))
		edit(b)
		body := b[:len(b)-4]
		return binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.ChecksumIEEE(body))
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "bytes, want at least"},
		{"truncated", good[:len(good)-3], "checksum"},
		{"a flipped bit", flip(30), "checksum"},
		{"another file", append([]byte("PK\x03\x04"), good[4:]...), "magic"},
		{"version 2", resum(func(b []byte) { b[4] = 2 }), "version 2"},
		{"bin index 41", resum(func(b []byte) { b[22] = 41 }), "index 41"},
		{"a bin twice", resum(func(b []byte) { b[22+memoryBin] = b[22] }), "twice"},
		{"visited after the clock", resum(func(b []byte) { b[13] = 0 }), "visited at"},
		{"too long", append(bytes.Repeat([]byte{0}, MaxMemorySize), good...), "more than"},
	} {
		s := streamWithBins()
		_, err := s.RestoreMemory(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if s.long.clock != 0 || s.long.socSeen[24] {
			t.Errorf("%s: the Stream kept its memory", c.name)
		}
	}
}

// FuzzRestoreMemory: any bytes are refused or read; what is read encodes
// back to the same bytes.
func FuzzRestoreMemory(f *testing.F) {
	f.Add(streamWithBins().AppendMemory(nil, time.Unix(1e9, 0)))
	var empty Stream
	f.Add(empty.AppendMemory(nil, time.Time{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Stream
		last, err := s.RestoreMemory(b)
		if err != nil {
			return
		}
		if again := s.AppendMemory(nil, last); !bytes.Equal(again, b) {
			t.Fatalf("read %x, encodes as %x", b, again)
		}
	})
}
