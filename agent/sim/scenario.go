package sim

// scenario sequences the phases: drive cycles, idling, parking and
// charging sessions, with a parked pause (high voltage off) between them.
type scenario struct {
	list     []string
	loop     bool
	idx      int // next entry of list, or of loopDrives
	phase    string
	parked   bool    // in the pause before phase
	t        float64 // time in phase, s (drive: profile time)
	hint     int
	prof     *profile
	done     float64 // s since charging completed or failed
	profiles map[string]*profile
}

// loopDrives are the drive cycles "loop" takes in turn.
var loopDrives = []string{PhaseWLTP, PhaseUrban, PhaseHighway}

// want is what the scenario asks of the car for one tick.
type want struct {
	hv     bool        // high voltage on
	drive  bool        // in a drive phase
	vref   float64     // m/s
	charge ChargeState // ChargeAC, ChargeDC, or ChargeNotConnected
}

func newScenario(spec string) *scenario {
	list, loop, _ := parseScenario(spec) // validated before
	sc := &scenario{list: list, loop: loop, profiles: map[string]*profile{
		PhaseWLTP: wltpProfile(), PhaseUrban: urbanProfile(), PhaseHighway: highwayProfile(),
	}}
	first := loopDrives[0]
	if !loop {
		first = list[0]
	}
	sc.start(first)
	sc.idx = 1
	if !loop {
		sc.idx = 1 % len(list)
	}
	return sc
}

func (sc *scenario) start(phase string) {
	sc.phase, sc.t, sc.hint, sc.done, sc.parked = phase, 0, 0, 0, false
	sc.prof = sc.profiles[phase]
}

func isDrive(phase string) bool {
	return phase == PhaseWLTP || phase == PhaseUrban || phase == PhaseHighway
}

func (sc *scenario) want(m *model) want {
	if sc.parked {
		return want{}
	}
	switch sc.phase {
	case PhaseWLTP, PhaseUrban, PhaseHighway:
		return want{hv: true, drive: true, vref: sc.prof.at(sc.t, &sc.hint) / 3.6}
	case PhaseIdle:
		return want{hv: true}
	case PhaseAC, PhaseDC:
		kind := ChargeAC
		if sc.phase == PhaseDC {
			kind = ChargeDC
		}
		hv := m.chargeState == ChargeNotConnected || m.chargeState == kind
		return want{hv: hv, charge: kind}
	}
	return want{} // park
}

// advance moves the phase clock after a tick of h seconds.
func (s *Sim) advanceScenario(h float64) {
	sc := s.sc
	m := &s.m
	if sc.parked {
		sc.t += h
		if sc.t >= s.cfg.ParkTime.Seconds() {
			sc.parked, sc.t = false, 0
		}
		return
	}
	switch sc.phase {
	case PhaseWLTP, PhaseUrban, PhaseHighway:
		if m.contactor == ContactorClosed {
			sc.t += h
		}
		if (sc.t >= sc.prof.duration() && m.v == 0) || m.socBMS < 0.02 {
			s.endPhase()
		}
	case PhaseIdle:
		sc.t += h
		if sc.t >= s.cfg.IdleTime.Seconds() {
			s.endPhase()
		}
	case PhasePark:
		sc.t += h
		if sc.t >= s.cfg.ParkTime.Seconds() {
			s.endPhase()
		}
	case PhaseAC, PhaseDC:
		sc.t += h
		if m.chargeState == ChargeComplete || m.chargeState == ChargeFault {
			sc.done += h
			if sc.done >= 60 {
				s.endPhase()
			}
		}
	}
}

func (s *Sim) endPhase() {
	sc := s.sc
	prev := sc.phase
	var next string
	switch {
	case sc.loop && isDrive(prev) && s.m.socBMS*100 < s.cfg.ChargeBelow:
		next = PhaseDC
	case sc.loop:
		next = loopDrives[sc.idx%len(loopDrives)]
		sc.idx++
	default:
		next = sc.list[sc.idx]
		sc.idx = (sc.idx + 1) % len(sc.list)
	}
	sc.start(next)
	if s.cfg.ParkTime > 0 && prev != PhasePark && next != PhasePark {
		sc.parked = true
	}
}
