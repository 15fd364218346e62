package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cabin builds a 4-channel recording of one talker: each mic hears the
// talker with its own gain, plus independent noise.
func cabin(gains [4]float64, noise float64, frames int, seed uint64) Buffer {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := Buffer{Format: Format{SampleRate: 16000, Channels: 4}, Data: make([]float32, 4*frames)}
	for i := 0; i < frames; i++ {
		s := 0.3 * math.Sin(2*math.Pi*220*float64(i)/16000) * math.Sin(math.Pi*float64(i)/float64(frames))
		for c := 0; c < 4; c++ {
			b.Data[4*i+c] = float32(gains[c]*s + noise*rng.NormFloat64())
		}
	}
	return b
}

func TestPickZone(t *testing.T) {
	table := []Zone{ZoneDriver, ZonePassenger, ZoneRearLeft, ZoneRearRight}
	tests := []struct {
		name    string
		gains   [4]float64
		want    Zone
		channel int
		margin  float64 // dB, expected from the gains: 20·log10(g_best/g_next)
	}{
		{"driver", [4]float64{1, 0.3, 0.2, 0.1}, ZoneDriver, 0, 20 * math.Log10(1/0.3)},
		{"passenger", [4]float64{0.3, 1, 0.1, 0.2}, ZonePassenger, 1, 20 * math.Log10(1/0.3)},
		{"rear left", [4]float64{0.2, 0.1, 0.8, 0.4}, ZoneRearLeft, 2, 20 * math.Log10(0.8/0.4)},
		{"rear right, close call", [4]float64{0.1, 0.2, 0.45, 0.5}, ZoneRearRight, 3, 20 * math.Log10(0.5/0.45)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := cabin(tt.gains, 0.001, 8000, 3)
			p, err := PickZone(b, Segment{0, 8000}, table)
			if err != nil {
				t.Fatal(err)
			}
			if p.Zone != tt.want || p.Channel != tt.channel {
				t.Errorf("picked %v (channel %d), want %v (channel %d)", p.Zone, p.Channel, tt.want, tt.channel)
			}
			if math.Abs(p.MarginDB-tt.margin) > 0.2 {
				t.Errorf("margin %.2f dB, want %.2f", p.MarginDB, tt.margin)
			}
		})
	}
}

func TestPickZoneSegmentAndSharedZones(t *testing.T) {
	// Driver talks in the first half, passenger in the second.
	b := cabin([4]float64{1, 0.2, 0.1, 0.1}, 0.001, 4000, 1)
	b2 := cabin([4]float64{0.2, 0.1, 1, 0.1}, 0.001, 4000, 2)
	b.Data = append(b.Data, b2.Data...)
	// Two mics per front seat.
	table := []Zone{ZoneDriver, ZoneDriver, ZonePassenger, ZonePassenger}
	for _, c := range []struct {
		seg  Segment
		want Zone
	}{{Segment{0, 4000}, ZoneDriver}, {Segment{4000, 8000}, ZonePassenger}, {Segment{4000, 1 << 40}, ZonePassenger}} {
		p, err := PickZone(b, c.seg, table)
		if err != nil || p.Zone != c.want {
			t.Errorf("%v: %+v %v, want %v", c.seg, p, err, c.want)
		}
	}
	p, _ := PickZone(b, Segment{0, 4000}, table)
	// Margin is against the other zone's loudest mic (0.1 vs 1), not the
	// driver's second mic.
	if math.Abs(p.MarginDB-20) > 0.3 {
		t.Errorf("margin %.2f dB, want 20", p.MarginDB)
	}
	if p, _ := PickZone(b, Segment{0, 4000}, []Zone{ZoneDriver, ZoneDriver, ZoneDriver, ZoneDriver}); !math.IsInf(p.MarginDB, 1) {
		t.Errorf("one zone: margin %v, want +Inf", p.MarginDB)
	}
}

func TestPickZoneErrorsAndEnergy(t *testing.T) {
	b := Buffer{Format: Format{16000, 2}, Data: []float32{1, 0.5, -1, 0.5}}
	if _, err := PickZone(b, Segment{0, 2}, []Zone{ZoneDriver}); err == nil {
		t.Error("a table of the wrong size was accepted")
	}
	if _, err := PickZone(Buffer{}, Segment{}, nil); err == nil {
		t.Error("an empty buffer was accepted")
	}
	e := ChannelEnergy(nil, b, Segment{0, 2})
	if len(e) != 2 || e[0] != 1 || e[1] != 0.25 {
		t.Errorf("energy %v, want [1 0.25]", e)
	}
	if e := ChannelEnergy(nil, b, Segment{5, 9}); e[0] != 0 || e[1] != 0 {
		t.Errorf("energy outside the buffer %v, want zeros", e)
	}
	for z := ZoneUnknown; z <= ZoneRearCenter; z++ {
		if got, err := ParseZone(z.String()); err != nil || got != z {
			t.Errorf("ParseZone(%q) = %v, %v", z.String(), got, err)
		}
	}
	if _, err := ParseZone("trunk"); err == nil {
		t.Error("ParseZone accepted \"trunk\"")
	}
}

func TestBufferSource(t *testing.T) {
	b := Buffer{Format: Format{100, 2}, Data: make([]float32, 2*25)}
	for i := range b.Data {
		b.Data[i] = float32(i)
	}
	src := NewBufferSource(b, 0) // 10 ms = 1 frame at 100 Hz
	var s Source = src
	got, err := ReadAll(s)
	if err != nil || got.Format != b.Format || len(got.Data) != len(b.Data) {
		t.Fatalf("ReadAll: %+v %v", got, err)
	}
	src = NewBufferSource(b, 10)
	var sizes []int
	for src.Receive() {
		sizes = append(sizes, len(src.Samples()))
	}
	if len(sizes) != 3 || sizes[0] != 20 || sizes[2] != 10 {
		t.Errorf("chunk sizes %v, want [20 20 10]", sizes)
	}
	if m := b.Mono(nil); len(m) != 25 || m[1] != 2.5 {
		t.Errorf("Mono: %v", m[:2])
	}
}
