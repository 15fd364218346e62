package uplink

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"time"

	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/wallclock"
)

// Stat summarises a signal over a report window.
type Stat struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	Last float64 `json:"last"`
}

// Battery is the traction battery part of a health report.
type Battery struct {
	SOC          *float64 `json:"soc,omitempty"`            // percent, last
	SOH          *float64 `json:"soh,omitempty"`            // percent, last
	RangeKm      *float64 `json:"range_km,omitempty"`       // last
	Voltage      *Stat    `json:"voltage,omitempty"`        // V
	Current      *Stat    `json:"current,omitempty"`        // A, positive = discharge
	TempMax      *Stat    `json:"temp_max,omitempty"`       // °C, hottest module
	TempMin      *Stat    `json:"temp_min,omitempty"`       // °C, coolest module
	CellMax      *Stat    `json:"cell_max_v,omitempty"`     // V
	CellMin      *Stat    `json:"cell_min_v,omitempty"`     // V
	CellSpreadMV *Stat    `json:"cell_spread_mv,omitempty"` // max - min cell, mV
	TempSpread   *Stat    `json:"temp_spread,omitempty"`    // °C
}

// Health is the periodic summary (schema evedge.health/1).
type Health struct {
	Envelope
	Detail      string         `json:"detail"`
	From        string         `json:"from"` // report window (data clock)
	To          string         `json:"to"`
	Samples     int            `json:"samples"`
	Battery     Battery        `json:"battery"`
	LowVoltage  *Stat          `json:"lv_battery_v,omitempty"`
	Insulation  *Stat          `json:"insulation_kohm,omitempty"`
	OdometerKm  *float64       `json:"odometer_km,omitempty"`
	Speed       *Stat          `json:"speed_kmh,omitempty"`
	Charging    *bool          `json:"charging,omitempty"`
	Plugged     *bool          `json:"plugged,omitempty"`
	DTCs        []string       `json:"dtcs"`
	Faults      []string       `json:"faults"`
	Agent       map[string]any `json:"agent,omitempty"`
	NextSeconds float64        `json:"next_s"` // when the next report is planned
}

// HealthPaths are the VSS paths a report reads, each with fallbacks.
type HealthPaths struct {
	SOC, SOH, Range, Voltage, Current, TempMax, TempMin, CellMax, CellMin,
	LowVoltage, Insulation, Odometer, Speed, Charging, Plugged []string
}

// DefaultHealthPaths are standard VSS paths, with the sim board's private
// ones where VSS has none.
var DefaultHealthPaths = HealthPaths{
	SOC:        []string{"Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"},
	SOH:        []string{"Vehicle.Powertrain.TractionBattery.StateOfHealth"},
	Range:      []string{"Vehicle.Powertrain.Range", "Vehicle.Powertrain.TractionBattery.Range"},
	Voltage:    []string{"Vehicle.Powertrain.TractionBattery.CurrentVoltage"},
	Current:    []string{"Vehicle.Powertrain.TractionBattery.CurrentCurrent"},
	TempMax:    []string{"Vehicle.Powertrain.TractionBattery.Temperature.Max"},
	TempMin:    []string{"Vehicle.Powertrain.TractionBattery.Temperature.Min"},
	CellMax:    []string{"Vehicle.Powertrain.TractionBattery.CellVoltage.Max"},
	CellMin:    []string{"Vehicle.Powertrain.TractionBattery.CellVoltage.Min"},
	LowVoltage: []string{"Vehicle.LowVoltageBattery.CurrentVoltage"},
	Insulation: []string{"Vehicle.Private.EvedgeSim.InsulationResistance"},
	Odometer:   []string{"Vehicle.TraveledDistance"},
	Speed:      []string{"Vehicle.Speed"},
	Charging:   []string{"Vehicle.Powertrain.TractionBattery.Charging.IsCharging"},
	Plugged:    []string{"Vehicle.Powertrain.TractionBattery.Charging.IsChargingCableConnected"},
}

// Reading returns the last value of a VSS path and its time.
type Reading func(path string) (v float64, t time.Time, ok bool)

// ReporterOptions configure the health reporter.
type ReporterOptions struct {
	Read  Reading
	Paths *HealthPaths // nil: DefaultHealthPaths
	// Clock is the data clock the report windows follow (the sim's time
	// in accelerated runs); nil: the wall clock.
	Clock func() time.Time
	// SampleEvery is how often values are sampled (wall clock, default 1 s).
	SampleEvery time.Duration
	Budget      Budget
	// DTCs and Faults list active trouble codes and diagnoses (may be nil).
	DTCs, Faults func() []string
	// Agent returns the agent's counters for the report (may be nil).
	Agent func() map[string]any
}

type acc struct {
	min, max, sum, last float64
	n                   int
	seen                time.Time
}

func (a *acc) add(v float64) {
	if a.n == 0 || v < a.min {
		a.min = v
	}
	if a.n == 0 || v > a.max {
		a.max = v
	}
	a.sum += v
	a.last = v
	a.n++
}

func (a *acc) stat() *Stat {
	if a == nil || a.n == 0 {
		return nil
	}
	return &Stat{Min: round(a.min), Max: round(a.max), Mean: round(a.sum / float64(a.n)), Last: round(a.last)}
}

// round keeps 3 decimals: enough for volts and degrees, fewer bytes.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// Reporter samples the car and publishes health reports through an uplink.
type Reporter struct {
	o  ReporterOptions
	u  *Uplink
	mu sync.Mutex
	// window state
	from    time.Time
	samples int
	accs    map[string]*acc
	next    time.Time
	detail  string
	// planning
	lastCost map[string]int
	// held: the first window began before the wall clock was sane, at
	// fromMono on the monotonic clock (see Uplink.SetClock).
	held     bool
	fromMono wallclock.Mono
}

// NewReporter builds a reporter for u.
func NewReporter(u *Uplink, o ReporterOptions) *Reporter {
	if o.Paths == nil {
		p := DefaultHealthPaths
		o.Paths = &p
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.SampleEvery == 0 {
		o.SampleEvery = time.Second
	}
	return &Reporter{o: o, u: u, accs: map[string]*acc{}, detail: DetailFull,
		lastCost: map[string]int{DetailFull: 1200, DetailCompact: 600}}
}

func (r *Reporter) read(key string, paths []string) {
	for _, p := range paths {
		v, t, ok := r.o.Read(p)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		a := r.accs[key]
		if a == nil {
			a = &acc{}
			r.accs[key] = a
		}
		if !t.Equal(a.seen) || a.n == 0 {
			a.add(v)
			a.seen = t
		}
		return
	}
}

// Sample reads the car once.
func (r *Reporter) Sample() {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.o.Paths
	for _, x := range []struct {
		k string
		p []string
	}{{"soc", p.SOC}, {"soh", p.SOH}, {"range", p.Range}, {"v", p.Voltage}, {"i", p.Current},
		{"tmax", p.TempMax}, {"tmin", p.TempMin}, {"cmax", p.CellMax}, {"cmin", p.CellMin},
		{"lv", p.LowVoltage}, {"iso", p.Insulation}, {"odo", p.Odometer}, {"speed", p.Speed},
		{"chg", p.Charging}, {"plug", p.Plugged}} {
		r.read(x.k, x.p)
	}
	// Spreads from simultaneous readings.
	if mx, mn := r.accs["cmax"], r.accs["cmin"]; mx != nil && mn != nil && mx.n > 0 && mn.n > 0 {
		r.derived("cspread", (mx.last-mn.last)*1000)
	}
	if mx, mn := r.accs["tmax"], r.accs["tmin"]; mx != nil && mn != nil && mx.n > 0 && mn.n > 0 {
		r.derived("tspread", mx.last-mn.last)
	}
	r.samples++
}

func (r *Reporter) derived(k string, v float64) {
	a := r.accs[k]
	if a == nil {
		a = &acc{}
		r.accs[k] = a
	}
	a.add(v)
}

func last(a *acc) *float64 {
	if a == nil || a.n == 0 {
		return nil
	}
	v := round(a.last)
	return &v
}

func flag(a *acc) *bool {
	if a == nil || a.n == 0 {
		return nil
	}
	b := a.last != 0
	return &b
}

// build makes the report of the current window (mu held).
func (r *Reporter) build(env Envelope, detail string, to time.Time, next time.Duration) Health {
	a := r.accs
	h := Health{Envelope: env, Detail: detail, From: Stamp(r.from), To: Stamp(to), Samples: r.samples,
		DTCs: []string{}, Faults: []string{}, NextSeconds: next.Seconds()}
	h.Battery = Battery{SOC: last(a["soc"]), SOH: last(a["soh"]), RangeKm: last(a["range"]),
		Voltage: a["v"].stat(), Current: a["i"].stat(), TempMax: a["tmax"].stat(), TempMin: a["tmin"].stat(),
		CellSpreadMV: a["cspread"].stat()}
	h.LowVoltage = a["lv"].stat()
	h.Insulation = a["iso"].stat()
	h.OdometerKm = last(a["odo"])
	h.Charging, h.Plugged = flag(a["chg"]), flag(a["plug"])
	if detail == DetailFull {
		h.Battery.CellMax, h.Battery.CellMin = a["cmax"].stat(), a["cmin"].stat()
		h.Battery.TempSpread = a["tspread"].stat()
		h.Speed = a["speed"].stat()
		if r.o.Agent != nil {
			h.Agent = r.o.Agent()
		}
	}
	if r.o.DTCs != nil {
		if d := r.o.DTCs(); d != nil {
			h.DTCs = d
		}
	}
	if r.o.Faults != nil {
		if f := r.o.Faults(); f != nil {
			h.Faults = f
		}
	}
	return h
}

// fixedPerHour is what the link costs per hour without reports: keepalives
// and, on a flaky cellular link, about one reconnect.
func (r *Reporter) fixedPerHour() int {
	pings := int(time.Hour / r.u.o.KeepAlive)
	return pings*PingCost(r.u.tls) + ConnectCost(r.u.tls, r.u.o.ClientID, Topic(r.u.o.Vehicle, KindStatus), 200)
}

// Report publishes a report of the window so far now and starts a new
// window. It returns the report's envelope.
func (r *Reporter) Report() (Envelope, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reportLocked(r.o.Clock())
}

func (r *Reporter) reportLocked(now time.Time) (Envelope, error) {
	used, _ := r.u.o.Store.Counter(budgetCounter(r.u.o.Now()))
	interval, detail := r.o.Budget.Plan(r.u.o.Now(), used, r.lastCost[DetailFull], r.lastCost[DetailCompact], r.fixedPerHour())
	topic := Topic(r.u.o.Vehicle, KindHealth)
	var size int
	// Built before Publish: the build callback runs under the store's lock,
	// and the agent counters read the store.
	h := r.build(Envelope{}, detail, now, interval)
	env, err := r.u.Publish(KindHealth, SchemaHealth, topic, store.PriorityNormal, func(env Envelope) any {
		h.Envelope = env
		if b, err := json.Marshal(h); err == nil {
			size = len(b)
		}
		return h
	})
	if err != nil {
		return env, err
	}
	r.lastCost[detail] = PublishCost(topic, size, r.u.tls)
	if detail == DetailFull {
		// Keep the compact estimate in proportion until one is measured.
		r.lastCost[DetailCompact] = min(r.lastCost[DetailCompact], r.lastCost[DetailFull])
	}
	r.from, r.samples, r.accs = now, 0, map[string]*acc{}
	// Keep the cadence (a report every interval of the data clock) unless
	// it fell behind by more than one interval.
	next := r.next.Add(interval)
	if r.next.IsZero() || next.Before(now) {
		next = now.Add(interval)
	}
	r.next, r.detail = next, detail
	return env, nil
}

// Run samples and reports until ctx ends.
func (r *Reporter) Run(ctx context.Context) error {
	t := time.NewTicker(r.o.SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r.Tick()
	}
}

// Tick samples the car and publishes a report when one is due by the
// data clock. Run calls it every SampleEvery; simulations call it
// themselves.
func (r *Reporter) Tick() {
	r.Sample()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.o.Clock()
	r.u.hmu.Lock()
	g := r.u.clock
	r.u.hmu.Unlock()
	if g != nil && (!g.Sane() || now.Before(g.Min())) {
		// Wall time (or the data's) is not trusted yet: sample on and
		// report once it is, the window starting when it really began.
		if r.next.IsZero() && !r.held {
			r.held, r.fromMono = true, g.Mono()
		}
		return
	}
	if r.next.IsZero() {
		used, _ := r.u.o.Store.Counter(budgetCounter(r.u.o.Now()))
		interval, _ := r.o.Budget.Plan(r.u.o.Now(), used, r.lastCost[DetailFull], r.lastCost[DetailCompact], r.fixedPerHour())
		from := now
		if r.held {
			if w, ok := g.Wall(r.fromMono); ok && w.Before(now) {
				from = w
			}
			r.held = false
		}
		r.from, r.next = from, from.Add(interval)
		return
	}
	if !now.Before(r.next) {
		if _, err := r.reportLocked(now); err != nil {
			r.u.o.Logger.Error("uplink: health report", "err", err)
			r.next = now.Add(time.Minute)
		}
	}
}
