package sim

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// Clock is the time source Run paces itself by.
type Clock interface {
	Now() time.Time
	// After delivers the time on the returned channel after d.
	After(d time.Duration) <-chan time.Time
}

// SystemClock returns the wall clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Sim is a simulated electric car. Its methods may be called from several
// goroutines (for example Inject or State while Run runs).
type Sim struct {
	mu      sync.Mutex
	cfg     Config
	clock   Clock
	start   int64         // unix ns
	elapsed time.Duration // simulated time since start
	m       model
	plant   Plant
	sc      *scenario
	tx      *transmitter
	faults  []injected
	decay   struct{ h, v float64 } // cached exp(-h/tau)
	body    body                   // body and cabin (body.go)
}

// New builds a simulated car from cfg (see Config for defaults). The error
// names the offending Config field.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, clock: cfg.Clock}
	if s.clock == nil {
		s.clock = SystemClock()
	}
	if cfg.Start.IsZero() {
		s.cfg.Start = s.clock.Now()
	}
	s.start = s.cfg.Start.UnixNano()
	tx, err := newTransmitter(&s.cfg, s.start)
	if err != nil {
		return nil, err
	}
	s.tx = tx
	s.plant = Plant{Cells: make([]CellEffect, cfg.Cells), db: cfg.DBC, sensors: make([]SensorEffect, len(cfg.DBC.Signals))}
	s.plant.reset()
	s.sc = newScenario(cfg.Scenario)
	s.initModel()
	s.body = newBody(&s.cfg)
	return s, nil
}

// initModel draws the cell spread from the seed and sets the initial state.
func (s *Sim) initModel() {
	c := &s.cfg
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9E3779B97F4A7C15))
	norm := func() float64 { return clamp(rng.NormFloat64(), -4, 4) }
	m := &s.m
	m.cells = make([]cell, c.Cells)
	sumSOC, sumCap := 0.0, 0.0
	for i := range m.cells {
		rf := 1 + c.ResistanceSpread*norm()
		m.cells[i] = cell{
			soc: clamp(c.InitialSOC/100+c.SOCSpread/100*norm(), 0, 1),
			cap: c.CellCapacity * c.SOH / 100 * (1 + c.CapacitySpread*norm()),
			r0:  c.CellR0 * rf,
			r1:  c.CellR1 * rf,
		}
		sumSOC += m.cells[i].soc
		sumCap += m.cells[i].cap
	}
	m.isoPhase = rng.Float64() * 2 * math.Pi
	// Damp weather: two slow waves with random periods (40..180 min and
	// 3..8 h) whose product is the humidity (InsulationWet).
	m.wetPeriod = [2]float64{2400 + 8400*rng.Float64(), 10800 + 18000*rng.Float64()}
	m.wetPhase = [2]float64{rng.Float64() * 2 * math.Pi, rng.Float64() * 2 * math.Pi}
	n := float64(c.Cells)
	m.socBMS = sumSOC / n
	m.capBMS = sumCap / n
	m.modT = make([]float64, c.Modules)
	m.heat = make([]float64, c.Modules)
	m.rf = make([]float64, c.Modules)
	for k := range m.modT {
		m.modT[k] = c.Ambient
	}
	m.coolT, m.coolIn, m.coolOut = c.Ambient, c.Ambient, c.Ambient
	m.motorT, m.invT, m.dcdcT = c.Ambient, c.Ambient, c.Ambient
	m.odo = c.Odometer
	m.consumption = 0.17
	m.hvil = true
	m.lvSOC = 0.85
	m.lvV = 11.9 + 0.85*m.lvSOC
	m.gear = GearP
	m.torqueLimit = c.MotorTorque
	for i := range m.cells {
		m.cells[i].ocv = OCV(m.cells[i].soc)
		m.cells[i].v = m.cells[i].ocv
	}
	s.stats()
	m.iso = s.insulationTarget(false)
	s.pack()
	s.bms()
}

// Config returns the configuration in use, with defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// Now returns the sim clock: Config.Start plus the simulated time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Unix(0, s.start+int64(s.elapsed))
}

// Elapsed returns the simulated time since the start.
func (s *Sim) Elapsed() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.elapsed
}

// Step advances the simulation by dt, integrating in steps of at most
// Config.Tick. It never sleeps.
func (s *Sim) Step(dt time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for dt > 0 {
		h := min(dt, s.cfg.Tick)
		s.tick(h)
		dt -= h
	}
}

// Inject schedules a built-in fault. Faults act in the order injected.
func (s *Sim) Inject(spec FaultSpec) error {
	if spec.Start < 0 || spec.Ramp < 0 || spec.End < 0 || (spec.End > 0 && spec.End <= spec.Start) {
		return fmt.Errorf("sim: fault %s: Start %v, Ramp %v, End %v: expected Start, Ramp >= 0 and End 0 or after Start", spec.Kind, spec.Start, spec.Ramp, spec.End)
	}
	f, err := newFault(spec, s.cfg.Cells, s.cfg.DBC)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, injected{f: f, spec: spec})
	return nil
}

// InjectFault schedules a fault of one's own making: active from start
// until end (0: forever), ramping up over ramp.
func (s *Sim) InjectFault(f Fault, start, ramp, end time.Duration) error {
	if f == nil {
		return fmt.Errorf("sim: InjectFault: fault is nil")
	}
	spec := FaultSpec{Kind: FaultKind(f.Name()), Start: start, Ramp: ramp, End: end}
	if start < 0 || ramp < 0 || end < 0 || (end > 0 && end <= start) {
		return fmt.Errorf("sim: fault %s: Start %v, Ramp %v, End %v: expected Start, Ramp >= 0 and End 0 or after Start", f.Name(), start, ramp, end)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, injected{f: f, spec: spec})
	return nil
}

// MaxBacklog bounds how far back Frames catches up: frames due more than
// this before now are skipped (their alive counters and multiplexer groups
// move on as if sent), so a caller that steps hours without asking for
// frames does not get millions of copies of the same values.
const MaxBacklog = 10 * time.Second

// Frames appends to dst the frames of every message due at or before now
// (unix ns, sim time) and after now-MaxBacklog, each stamped with its due
// time, in time order (identifier order at equal times), and returns the
// extended slice. Values are those of
// the state at the last Step: call it after each Step (Run does so every
// Tick) so that frames carry fresh values.
func (s *Sim) Frames(now int64, dst []can.Frame) []can.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames(now, dst)
}

func (s *Sim) frames(now int64, dst []can.Frame) []can.Frame {
	first := len(dst)
	oldest := now - int64(MaxBacklog)
	for _, t := range s.tx.msgs {
		if t.next <= oldest {
			k := (oldest-t.next)/t.cycle + 1
			t.next += k * t.cycle
			t.seq += uint64(k)
		}
		for t.next <= now {
			if f, ok := s.build(t); ok {
				f.Time = t.next
				dst = append(dst, f)
			}
			t.next += t.cycle
		}
	}
	// Frames due at the same instant leave in identifier order, as bus
	// arbitration would send them.
	slices.SortFunc(dst[first:], func(a, b can.Frame) int {
		if c := cmp.Compare(a.Time, b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return dst
}

// Run steps the simulation by Config.Tick and writes the frames due to bus
// until ctx is done (it then returns nil) or Config.Duration of sim time
// has passed. speed is simulated seconds per real second (60: an hour a
// minute), paced by Config.Clock; speed <= 0 or +Inf runs as fast as it
// can. Frames carry the sim time, starting at Config.Start. The stream
// depends only on the Config, the faults and the sim time, not on the
// pacing.
func (s *Sim) Run(ctx context.Context, bus can.Sink, speed float64) error {
	paced := speed > 0 && !math.IsInf(speed, 1) && !math.IsNaN(speed)
	realStart := s.clock.Now()
	simStart := s.Now().UnixNano()
	buf := make([]can.Frame, 0, 512)
	const minSleep = 2 * time.Millisecond
	for {
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		if s.cfg.Duration > 0 && s.elapsed >= s.cfg.Duration {
			s.mu.Unlock()
			return nil
		}
		h := s.cfg.Tick
		if s.cfg.Duration > 0 {
			h = min(h, s.cfg.Duration-s.elapsed)
		}
		s.tick(h)
		buf = s.frames(s.start+int64(s.elapsed), buf[:0])
		s.mu.Unlock()
		for i := range buf {
			if paced {
				due := realStart.Add(time.Duration(float64(buf[i].Time-simStart) / speed))
				if d := due.Sub(s.clock.Now()); d > minSleep {
					select {
					case <-ctx.Done():
						return nil
					case <-s.clock.After(d):
					}
				}
			}
			if err := bus.WriteFrame(buf[i]); err != nil {
				return fmt.Errorf("sim: %w", err)
			}
		}
	}
}

// State returns a snapshot of the car.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &s.m
	pos, neg, pre := m.relays()
	st := State{
		Time:             time.Unix(0, s.start+int64(s.elapsed)),
		Elapsed:          s.elapsed,
		Phase:            s.sc.phase,
		Parked:           s.sc.parked,
		Speed:            m.v * 3.6,
		Accel:            m.a,
		Gear:             m.gear,
		Ready:            m.ready,
		AccelPedal:       m.accelPedal,
		BrakePedal:       m.brakePedal,
		Odometer:         m.odo,
		Trip:             m.trip,
		MotorSpeed:       m.motorRPM,
		MotorTorque:      m.motorTorque,
		MotorTorqueLimit: m.torqueLimit,
		MotorTemp:        m.motorT,
		InverterTemp:     m.invT,
		LinkVoltage:      m.linkV,
		DrivePower:       m.drivePower / 1000,
		PackVoltage:      m.packV,
		PackCurrent:      m.current,
		PackPower:        m.packV * m.current / 1000,
		SOC:              m.socBMS * 100,
		SOCDisplayed:     m.socDisplayed(),
		SOH:              m.soh,
		CapacityAh:       m.capBMS,
		Energy:           m.energy,
		Range:            m.rangeKm,
		Cells:            make([]float64, len(m.cells)),
		CellSOC:          make([]float64, len(m.cells)),
		CellMax:          m.cellMax,
		CellMin:          m.cellMin,
		CellAvg:          m.cellAvg,
		CellMaxIndex:     m.cellMaxIdx,
		CellMinIndex:     m.cellMinIdx,
		ModuleTemps:      slices.Clone(m.modT),
		TempMax:          m.tMax,
		TempMin:          m.tMin,
		TempAvg:          m.tAvg,
		TempMaxIndex:     m.tMaxIdx,
		TempMinIndex:     m.tMinIdx,
		MaxDischarge:     m.maxDisP / 1000,
		MaxCharge:        m.maxChgP / 1000,
		MaxDischargeI:    m.maxDisI,
		MaxChargeI:       m.maxChgI,
		ThermalMode:      m.thermalMode,
		CoolantInlet:     m.coolIn,
		CoolantOutlet:    m.coolOut,
		PumpDuty:         m.pumpDuty * 100,
		Chiller:          m.chillerOn,
		Contactor:        m.contactor,
		MainPositive:     pos,
		MainNegative:     neg,
		PrechargeRelay:   pre,
		HVIL:             m.hvil,
		Insulation:       m.iso,
		IsolationStatus:  m.isoStatus,
		DCDC:             m.dcdcState,
		DCDCVoltage:      m.dcdcV,
		DCDCCurrent:      m.dcdcI,
		DCDCTemp:         m.dcdcT,
		LVVoltage:        m.lvV,
		LVCurrent:        m.lvI,
		LVSOC:            m.lvSOC * 100,
		Charge:           m.chargeState,
		Plugged:          m.plugged,
		Charging:         m.charging(),
		ChargeTarget:     s.cfg.ChargeTarget,
		TimeToFull:       m.ttf,
		ChargerVoltage:   m.chgV,
		ChargerCurrent:   m.chgI,
		ChargerPower:     m.chgV * m.chgI / 1000,
		ACVoltage:        m.acV,
		ACCurrent:        m.acI,
		Ambient:          s.cfg.Ambient,
		EnergyOut:        m.eOut,
		EnergyIn:         m.eIn,
		ChargeOut:        m.ahOut,
		ChargeIn:         m.ahIn,
		Body:             s.bodyState(),
	}
	switch {
	case m.plugged:
		st.Mode = ModeCharging
	case m.contactor != ContactorOpen || m.ready:
		st.Mode = ModeReady
	}
	for i := range m.cells {
		st.Cells[i] = m.cells[i].v
		st.CellSOC[i] = m.cells[i].soc
		st.TrueSOC += m.cells[i].soc
	}
	st.TrueSOC *= 100 / float64(len(m.cells))
	for i := range s.faults {
		if l := s.faults[i].level(s.elapsed); l > 0 {
			st.Faults = append(st.Faults, ActiveFault{Name: s.faults[i].f.Name(), Spec: s.faults[i].spec, Level: l})
		}
	}
	return st
}
