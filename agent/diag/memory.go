package diag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// The memory a Stream keeps across a sleep (Continue) can also outlive
// the agent: a head unit that powers down with the car restarts the agent
// at every wake-up. AppendMemory encodes it, RestoreMemory reads it back
// into a fresh Stream.
//
// Encoding (little-endian): "EVSM", version 1, the time of the last
// sample (Unix ns, int64), the clock (windows, int64), the number of SOC
// bins visited (uint8), then per bin its index (uint8), its rest gap
// (float32 bits, mV) and its visit time on the clock (int64); a CRC-32
// (IEEE) of everything before it ends the record.
const (
	memoryMagic   = "EVSM"
	memoryVersion = 1
	memoryBin     = 1 + 4 + 8
	memoryFixed   = len(memoryMagic) + 1 + 8 + 8 + 1 + 4
	// MaxMemorySize bounds an encoded memory.
	MaxMemorySize = memoryFixed + sameSOCBins*memoryBin
)

// AppendMemory appends the Stream's memory across sleeps, with last, the
// time of the vehicle's last sample, to b. A Stream that has seen no SOC
// bin still encodes (an empty memory).
func (s *Stream) AppendMemory(b []byte, last time.Time) []byte {
	l := &s.long
	start := len(b)
	b = append(b, memoryMagic...)
	b = append(b, memoryVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(last.UnixNano()))
	b = binary.LittleEndian.AppendUint64(b, uint64(l.clock))
	n := 0
	for _, seen := range l.socSeen {
		if seen {
			n++
		}
	}
	b = append(b, byte(n))
	for k, seen := range l.socSeen {
		if !seen {
			continue
		}
		b = append(b, byte(k))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(l.socGap[k]))
		b = binary.LittleEndian.AppendUint64(b, uint64(l.socAt[k]))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// RestoreMemory forgets the Stream's run and sets its memory across
// sleeps from an AppendMemory encoding; it returns the time of the last
// sample. A record that is truncated, corrupt or out of range is refused
// with the reason and leaves the Stream reset.
func (s *Stream) RestoreMemory(b []byte) (time.Time, error) {
	s.Reset()
	last, l, err := parseMemory(b)
	if err != nil {
		return time.Time{}, err
	}
	s.long = l
	return last, nil
}

func parseMemory(b []byte) (time.Time, LongFeatures, error) {
	var l LongFeatures
	switch {
	case len(b) < memoryFixed:
		return time.Time{}, l, fmt.Errorf("diag memory: %d bytes, want at least %d", len(b), memoryFixed)
	case len(b) > MaxMemorySize:
		return time.Time{}, l, fmt.Errorf("diag memory: %d bytes, more than %d", len(b), MaxMemorySize)
	case string(b[:4]) != memoryMagic:
		return time.Time{}, l, errors.New("diag memory: not a memory record (magic)")
	case b[4] != memoryVersion:
		return time.Time{}, l, fmt.Errorf("diag memory: version %d, this agent reads %d", b[4], memoryVersion)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return time.Time{}, l, errors.New("diag memory: checksum mismatch")
	}
	last := time.Unix(0, int64(binary.LittleEndian.Uint64(b[5:])))
	l.clock = int64(binary.LittleEndian.Uint64(b[13:]))
	n := int(b[21])
	if l.clock < 0 {
		return time.Time{}, l, fmt.Errorf("diag memory: clock %d", l.clock)
	}
	if want := memoryFixed + n*memoryBin; len(b) != want {
		return time.Time{}, l, fmt.Errorf("diag memory: %d bins in %d bytes, want %d", n, len(b), want)
	}
	p := b[22:]
	for i := range n {
		k := int(p[0])
		gap := math.Float32frombits(binary.LittleEndian.Uint32(p[1:]))
		at := int64(binary.LittleEndian.Uint64(p[5:]))
		switch {
		case k >= sameSOCBins:
			return time.Time{}, l, fmt.Errorf("diag memory: bin %d: index %d, want below %d", i, k, sameSOCBins)
		case l.socSeen[k]:
			return time.Time{}, l, fmt.Errorf("diag memory: bin %d: index %d twice", i, k)
		case math.IsNaN(float64(gap)) || math.Abs(float64(gap)) > 1e4:
			return time.Time{}, l, fmt.Errorf("diag memory: bin %d: gap %v mV", i, gap)
		case at < 0 || at > l.clock:
			return time.Time{}, l, fmt.Errorf("diag memory: bin %d: visited at %d, clock %d", i, at, l.clock)
		}
		l.socSeen[k], l.socGap[k], l.socAt[k] = true, gap, at
		p = p[memoryBin:]
	}
	return last, l, nil
}
