package sim

import "math"

// ocvTable is the open-circuit voltage of an NMC cell at 0, 5, 10 ... 100 %
// state of charge (V): the steep knee below 10 %, the flat middle around
// 3.6-3.8 V and the rise to 4.18 V at full charge.
var ocvTable = [21]float64{
	3.000, 3.420, 3.520, 3.570, 3.605, 3.630, 3.655, 3.680, 3.705, 3.730,
	3.760, 3.795, 3.835, 3.875, 3.915, 3.955, 3.995, 4.040, 4.085, 4.130,
	4.180,
}

// OCV returns the open-circuit voltage of one cell at state of charge soc
// (0..1), interpolated linearly in the 5 % table and extended along the end
// slopes outside it (an over-discharged cell keeps falling), bounded to
// 2.0..4.4 V.
func OCV(soc float64) float64 {
	x := soc * 20
	var i int
	switch {
	case !(x > 0): // also NaN
		i = 0
	case x >= 19:
		i = 19
	default:
		i = int(x)
	}
	v := ocvTable[i] + (x-float64(i))*(ocvTable[i+1]-ocvTable[i])
	switch {
	case !(v > 2.0):
		return 2.0
	case v > 4.4:
		return 4.4
	}
	return v
}

// profile is a speed trace: breakpoints (s, km/h) joined by straight lines.
type profile struct {
	t, v []float64
}

func (p *profile) duration() float64 { return p.t[len(p.t)-1] }

// at returns the speed (km/h) at time t (s); hint is a search start that
// makes the usual forward walk O(1).
func (p *profile) at(t float64, hint *int) float64 {
	if t <= 0 {
		return p.v[0]
	}
	n := len(p.t)
	if t >= p.t[n-1] {
		return p.v[n-1]
	}
	i := *hint
	if i < 0 || i >= n-1 || p.t[i] > t {
		i = 0
	}
	for p.t[i+1] < t {
		i++
	}
	*hint = i
	f := (t - p.t[i]) / (p.t[i+1] - p.t[i])
	return p.v[i] + f*(p.v[i+1]-p.v[i])
}

// peak returns the largest speed of the profile (km/h).
func (p *profile) peak() float64 {
	m := 0.0
	for _, v := range p.v {
		m = math.Max(m, v)
	}
	return m
}

// distance returns the distance covered (km).
func (p *profile) distance() float64 {
	d := 0.0
	for i := 1; i < len(p.t); i++ {
		d += (p.t[i] - p.t[i-1]) * math.Abs(p.v[i]+p.v[i-1]) / 2 / 3600
	}
	return d
}

// builder makes profiles from ramps and holds.
type builder struct{ p profile }

func newBuilder() *builder { return &builder{p: profile{t: []float64{0}, v: []float64{0}}} }

func (b *builder) now() (float64, float64) { return b.p.t[len(b.p.t)-1], b.p.v[len(b.p.v)-1] }

func (b *builder) add(t, v float64) {
	b.p.t = append(b.p.t, t)
	b.p.v = append(b.p.v, v)
}

// hold keeps the current speed for s seconds.
func (b *builder) hold(s float64) *builder {
	t, v := b.now()
	b.add(t+s, v)
	return b
}

// ramp changes speed to v (km/h) at a constant a (m/s², magnitude).
func (b *builder) ramp(v, a float64) *builder {
	t, v0 := b.now()
	b.add(t+math.Abs(v-v0)/3.6/a, v)
	return b
}

// trip accelerates to v, cruises, brakes to a stop and waits.
func (b *builder) trip(v, acc, cruise, dec, stop float64) *builder {
	return b.ramp(v, acc).hold(cruise).ramp(0, dec).hold(stop)
}

// padTo stands still (or holds) until time t.
func (b *builder) padTo(t float64) *builder {
	t0, _ := b.now()
	if t > t0 {
		b.hold(t - t0)
	}
	return b
}

// wltpProfile is a WLTP-like class 3 cycle: 1800 s in four phases with the
// durations, peak speeds and (within a few percent) distances of the
// WLTC class 3b phases: low 589 s / 56.5 km/h / 3.1 km, medium 433 s /
// 76.6 km/h / 4.8 km, high 455 s / 97.4 km/h / 7.2 km, extra-high 323 s /
// 131.3 km/h / 8.3 km. The shape is synthesised from ramps and holds, not
// the regulation's second-by-second table.
func wltpProfile() *profile {
	b := newBuilder()
	// Low: town stop-and-go.
	b.hold(11)
	b.trip(20, 0.8, 8, 0.7, 20)
	b.ramp(37, 0.9).hold(12).ramp(25, 0.5).hold(8).ramp(0, 0.8).hold(18)
	b.ramp(50, 0.8).hold(20).ramp(40, 0.4).hold(12).ramp(0, 0.8).hold(14)
	b.ramp(56.5, 0.7).hold(36).ramp(45, 0.4).hold(28).ramp(0, 0.9).hold(20)
	b.ramp(30, 0.8).hold(40).ramp(0, 0.7).hold(15)
	b.trip(35, 0.8, 20, 0.8, 0)
	b.padTo(589)
	// Medium: suburban.
	b.hold(6)
	b.ramp(48, 1.0).hold(25).ramp(36, 0.5).hold(14).ramp(0, 0.9).hold(12)
	b.ramp(76.6, 0.8).hold(52).ramp(60, 0.4).hold(45).ramp(70, 0.3).hold(30).ramp(0, 0.8).hold(12)
	b.ramp(55, 0.9).hold(28).ramp(0, 0.8)
	b.padTo(589 + 433)
	// High: rural roads.
	b.hold(5)
	b.ramp(70, 0.9).hold(45).ramp(50, 0.5).hold(20).ramp(90, 0.6).hold(60)
	b.ramp(97.4, 0.3).hold(46).ramp(60, 0.6).hold(30).ramp(80, 0.5).hold(43).ramp(0, 0.9)
	b.padTo(589 + 433 + 455)
	// Extra high: motorway.
	b.hold(4)
	b.ramp(100, 1.0).hold(40).ramp(120, 0.4).hold(75).ramp(131.3, 0.2).hold(40)
	b.ramp(110, 0.4).hold(28).ramp(0, 1.0)
	b.padTo(1800)
	return &b.p
}

// urbanProfile is about 14 minutes of city driving: reversing out of a
// parking space, then twelve trips of 25..50 km/h between stops (about
// 5 km). Its peak is 50 km/h.
func urbanProfile() *profile {
	b := newBuilder()
	b.hold(5)
	b.ramp(-6, 0.6).hold(6).ramp(0, 0.8).hold(4)
	peaks := []float64{30, 45, 38, 50, 25, 42, 35, 48, 32, 44, 28, 40}
	cruise := []float64{20, 45, 15, 40, 10, 30, 25, 50, 20, 35, 15, 30}
	stops := []float64{15, 25, 10, 30, 12, 20, 18, 25, 20, 15, 25, 30}
	for i := range peaks {
		b.trip(peaks[i], 1.2, cruise[i], 1.1, stops[i])
	}
	return &b.p
}

// highwayProfile is about 26 minutes (47 km) on a motorway: on-ramp, 120 km/h
// cruising with a 110 km/h stretch and a 90 km/h road-works zone, exit.
// Its peak is 120 km/h.
func highwayProfile() *profile {
	b := newBuilder()
	b.hold(5)
	b.ramp(50, 1.3).hold(30)
	b.ramp(100, 1.0).hold(60)
	b.ramp(120, 0.5).hold(420)
	b.ramp(110, 0.4).hold(120)
	b.ramp(120, 0.4).hold(300)
	b.ramp(90, 0.5).hold(90)
	b.ramp(120, 0.5).hold(360)
	b.ramp(60, 0.8).hold(40)
	b.ramp(0, 1.0).hold(5)
	return &b.p
}
