package store

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/evedge/evedge/drivers/can"
)

// traffic simulates the CAN traffic of a car: per bus 30 messages every
// 10 ms and 20 every 20 ms (4,000 frames/s), each with a rolling counter,
// a checksum, a slowly varying 16-bit value, a noisy sensor doing a random
// walk and constant bytes; times in ns with +-20 us of jitter, as kernel
// timestamps have. Frames come out in time order across buses.
type traffic struct {
	rng   *rand.Rand
	msgs  []*simMsg
	queue []*simMsg  // sorted by next
	last  [256]int64 // last time per bus: receive times never go back
}

type simMsg struct {
	bus    uint8
	id     uint32
	period int64
	next   int64 // time of the next frame before jitter
	count  byte
	sensor int
	static [2]byte
	phase  float64
}

func newTraffic(buses int, start int64, seed uint64) *traffic {
	tr := &traffic{rng: rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))}
	for bus := range buses {
		for i := range 50 {
			m := &simMsg{
				bus:    uint8(bus),
				id:     uint32(0x100 + 0x10*i + bus),
				period: 10e6,
				sensor: 2048,
				static: [2]byte{byte(tr.rng.IntN(256)), byte(tr.rng.IntN(256))},
				phase:  tr.rng.Float64() * 6.28,
			}
			if i >= 30 {
				m.period = 20e6
			}
			m.next = start + tr.rng.Int64N(m.period)
			tr.msgs = append(tr.msgs, m)
		}
	}
	tr.queue = slices.Clone(tr.msgs)
	slices.SortFunc(tr.queue, func(a, b *simMsg) int { return cmpInt(a.next, b.next) })
	return tr
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// until appends the frames due before end to dst (dst must be empty).
func (tr *traffic) until(dst []can.Frame, end int64) []can.Frame {
	for tr.queue[0].next < end {
		m := tr.queue[0]
		t := m.next + tr.rng.Int64N(40_001) - 20_000
		f := can.Frame{Time: t, Bus: m.bus, ID: m.id, Len: 8}
		m.count = (m.count + 1) & 0x0F
		f.Data[0] = m.count | 0x40
		v := uint16(32768 + 20000*math.Sin(float64(m.next)/7e9+m.phase))
		f.Data[1], f.Data[2] = byte(v), byte(v>>8)
		m.sensor += tr.rng.IntN(3) - 1
		f.Data[3], f.Data[4] = byte(m.sensor), byte(m.sensor>>8)&0x0F
		f.Data[5], f.Data[6] = m.static[0], m.static[1]
		f.Data[7] = f.Data[0] ^ f.Data[1] ^ f.Data[2] ^ f.Data[3] ^ f.Data[4] ^ f.Data[5] ^ f.Data[6]
		dst = append(dst, f)
		m.next += m.period
		// Move m to its place (the queue is almost sorted).
		i := 0
		for i+1 < len(tr.queue) && tr.queue[i+1].next < m.next {
			tr.queue[i] = tr.queue[i+1]
			i++
		}
		tr.queue[i] = m
	}
	// Jitter reorders frames a little; a bus's receive times never go
	// back.
	slices.SortStableFunc(dst, func(a, b can.Frame) int { return cmpInt(a.Time, b.Time) })
	for i := range dst {
		f := &dst[i]
		f.Time = max(f.Time, tr.last[f.Bus]+1)
		tr.last[f.Bus] = f.Time
	}
	return dst
}
