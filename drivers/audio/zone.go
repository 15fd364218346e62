package audio

import (
	"fmt"
	"math"
)

// Zone is a seat area of the cabin that a microphone channel listens to.
type Zone uint8

// Cabin zones.
const (
	ZoneUnknown Zone = iota
	ZoneDriver
	ZonePassenger
	ZoneRearLeft
	ZoneRearRight
	ZoneRearCenter
)

var zoneNames = [...]string{"unknown", "driver", "passenger", "rear-left", "rear-right", "rear-center"}

func (z Zone) String() string {
	if int(z) < len(zoneNames) {
		return zoneNames[z]
	}
	return fmt.Sprintf("zone(%d)", uint8(z))
}

// ParseZone is the inverse of Zone.String, for board profiles.
func ParseZone(s string) (Zone, error) {
	for i, n := range zoneNames {
		if n == s {
			return Zone(i), nil
		}
	}
	return ZoneUnknown, fmt.Errorf("audio: unknown zone %q", s)
}

// ChannelEnergy appends the mean square of each channel of b over the
// frames of seg (clamped to the buffer) to dst and returns it.
func ChannelEnergy(dst []float64, b Buffer, seg Segment) []float64 {
	ch := b.Channels
	n := len(dst)
	for c := 0; c < ch; c++ {
		dst = append(dst, 0)
	}
	if ch <= 0 {
		return dst
	}
	start := max(0, seg.Start)
	end := min(int64(b.Frames()), seg.End)
	if end <= start {
		return dst
	}
	e := dst[n:]
	for i := start; i < end; i++ {
		fr := b.Data[int(i)*ch : int(i+1)*ch]
		for c, v := range fr {
			e[c] += float64(v) * float64(v)
		}
	}
	for c := range e {
		e[c] /= float64(end - start)
	}
	return dst
}

// ZonePick is the outcome of PickZone.
type ZonePick struct {
	Zone    Zone
	Channel int // the loudest channel
	// MarginDB is how much louder the loudest channel was than the loudest
	// channel of any other zone (+Inf when there is no other zone); a
	// small margin means the talker sat between zones.
	MarginDB float64
}

// PickZone finds the loudest channel of b over seg and maps it through
// table (channel index -> zone). Several channels may share a zone.
func PickZone(b Buffer, seg Segment, table []Zone) (ZonePick, error) {
	if b.Channels <= 0 {
		return ZonePick{}, fmt.Errorf("audio: zone: buffer has %d channels", b.Channels)
	}
	if len(table) != b.Channels {
		return ZonePick{}, fmt.Errorf("audio: zone: table maps %d channels, buffer has %d", len(table), b.Channels)
	}
	var stack [16]float64
	e := ChannelEnergy(stack[:0], b, seg)
	best := 0
	for c := range e {
		if e[c] > e[best] {
			best = c
		}
	}
	p := ZonePick{Zone: table[best], Channel: best, MarginDB: math.Inf(1)}
	other := -1.0
	for c := range e {
		if table[c] != p.Zone && e[c] > other {
			other = e[c]
		}
	}
	if other >= 0 {
		const tiny = 1e-20
		p.MarginDB = 10 * math.Log10((e[best]+tiny)/(other+tiny))
	}
	return p, nil
}
