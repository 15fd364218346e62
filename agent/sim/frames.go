package sim

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
	"go.einride.tech/can/pkg/dbc"
)

// LoadDBC reads the sim DBC at path: the compiled database and the message
// cycle times from its GenMsgCycleTime attributes, ready for Config.DBC and
// Config.Cycles.
func LoadDBC(path string) (*signals.Database, map[string]time.Duration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: %w", err)
	}
	db, err := signals.Parse(path, data)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: %w", err)
	}
	cycles, err := CycleTimes(path, data)
	if err != nil {
		return nil, nil, err
	}
	return db, cycles, nil
}

// CycleTimes returns the GenMsgCycleTime attribute (BA_ "GenMsgCycleTime"
// BO_ id ms;) of every message of DBC text that has one, by message name.
// name is used in error messages.
func CycleTimes(name string, data []byte) (out map[string]time.Duration, err error) {
	defer func() {
		// The upstream parser panics on some malformed inputs.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("sim: dbc %s: malformed file: %v", name, r)
		}
	}()
	p := dbc.NewParser(name, data)
	if perr := p.Parse(); perr != nil {
		pos := perr.Position()
		return nil, fmt.Errorf("sim: dbc %s:%d:%d: %s", name, pos.Line, pos.Column, perr.Reason())
	}
	names := map[dbc.MessageID]string{}
	for _, d := range p.Defs() {
		if m, ok := d.(*dbc.MessageDef); ok {
			names[m.MessageID] = string(m.Name)
		}
	}
	out = map[string]time.Duration{}
	for _, d := range p.Defs() {
		a, ok := d.(*dbc.AttributeValueForObjectDef)
		if !ok || a.AttributeName != "GenMsgCycleTime" || a.ObjectType != dbc.ObjectTypeMessage {
			continue
		}
		n, ok := names[a.MessageID]
		if !ok {
			return nil, fmt.Errorf("sim: dbc %s:%d: GenMsgCycleTime for undefined message id %d", name, a.Pos.Line, a.MessageID)
		}
		if a.IntValue > 0 {
			out[n] = time.Duration(a.IntValue) * time.Millisecond
		}
	}
	return out, nil
}

// msgSpec is one message the sim transmits: the signals it writes, in
// order, and the function that computes their values (DBC units).
type msgSpec struct {
	name  string
	cycle time.Duration
	sigs  []string
	vals  func(s *Sim, seq uint64, v []float64)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// specs are the messages of board/sim/sim-ev.dbc and how to fill them. The
// multiplexed cell-voltage and module-temperature messages are built from
// the DBC separately (muxSpecs).
var specs = []msgSpec{
	{"VCU_Drive", 20 * time.Millisecond,
		[]string{"VehicleSpeed", "Gear", "ReadyState", "AccelPedalPos", "BrakePedalPos", "LongAccel", "AliveCounter", "Checksum"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2] = math.Abs(m.v)*3.6, float64(m.gear), b2f(m.ready)
			v[3], v[4], v[5], v[6] = m.accelPedal, m.brakePedal, m.a, float64(seq%16)
		}},
	{"MCU_Status", 10 * time.Millisecond,
		[]string{"MotorSpeed", "MotorTorque", "InverterDCVoltage", "InverterDCCurrent", "AliveCounter", "MotorState"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2] = m.motorRPM, m.motorTorque, m.linkV
			v[3] = 0
			if m.linkV > 50 {
				v[3] = m.drivePower / m.linkV
			}
			v[4] = float64(seq % 16)
			switch {
			case !m.ready:
				v[5] = 0
			case m.torqueLimit < s.cfg.MotorTorque:
				v[5] = 3
			case m.motorTorque < 0:
				v[5] = 2
			default:
				v[5] = 1
			}
		}},
	{"BMS_PackStatus", 20 * time.Millisecond,
		[]string{"PackVoltage", "PackCurrent", "PackPower", "AliveCounter", "Checksum"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3] = m.packV, m.current, m.packV*m.current/1000, float64(seq%16)
		}},
	{"BMS_SOC", 100 * time.Millisecond,
		[]string{"SOC", "SOH", "RemainingEnergy", "EstimatedRange", "SOCDisplayed"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3], v[4] = m.socBMS*100, m.soh, m.energy, m.rangeKm, m.socDisplayed()
		}},
	{"BMS_CellStats", 100 * time.Millisecond,
		[]string{"CellVoltageMax", "CellVoltageMin", "CellVoltageMaxIdx", "CellVoltageMinIdx", "CellVoltageAvg"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3], v[4] = m.cellMax, m.cellMin, float64(m.cellMaxIdx+1), float64(m.cellMinIdx+1), m.cellAvg
		}},
	{"BMS_TempStats", 100 * time.Millisecond,
		[]string{"CellTempMax", "CellTempMin", "CellTempAvg", "CellTempMaxIdx", "CellTempMinIdx", "ThermalMode"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2] = m.tMax, m.tMin, m.tAvg
			v[3], v[4], v[5] = float64(m.tMaxIdx+1), float64(m.tMinIdx+1), float64(m.thermalMode)
		}},
	{"BMS_Limits", 100 * time.Millisecond,
		[]string{"MaxDischargePower", "MaxChargePower", "MaxDischargeCurrent", "MaxChargeCurrent"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3] = m.maxDisP/1000, m.maxChgP/1000, m.maxDisI, m.maxChgI
		}},
	{"BMS_HVStatus", 100 * time.Millisecond,
		[]string{"ContactorState", "MainPositiveClosed", "MainNegativeClosed", "PrechargeRelayClosed", "HVILStatus"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			pos, neg, pre := m.relays()
			v[0], v[1], v[2], v[3], v[4] = float64(m.contactor), b2f(pos), b2f(neg), b2f(pre), b2f(m.hvil)
		}},
	{"BMS_Thermal", 100 * time.Millisecond,
		[]string{"CoolantInletTemp", "CoolantOutletTemp", "CoolantPumpDuty", "ChillerActive"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3] = m.coolIn, m.coolOut, m.pumpDuty*100, b2f(m.chillerOn)
		}},
	{"IMD_Status", 500 * time.Millisecond,
		[]string{"InsulationResistance", "IsolationStatus"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1] = math.Min(m.iso/1000, 50000), float64(m.isoStatus)
		}},
	{"MCU_Temps", 100 * time.Millisecond,
		[]string{"MotorTemp", "InverterTemp", "MotorTorqueLimit", "DeratingActive", "CoolantTemp", "CoolantPumpDuty"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3] = m.motorT, m.invT, m.torqueLimit, b2f(m.torqueLimit < s.cfg.MotorTorque)
			// One loop: the drive unit's coolant is the pack's inlet.
			v[4], v[5] = m.coolIn, m.pumpDuty*100
		}},
	{"DCDC_Status", 100 * time.Millisecond,
		[]string{"DCDCState", "DCDCOutputVoltage", "DCDCOutputCurrent", "DCDCTemp"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3] = float64(m.dcdcState), m.dcdcV, m.dcdcI, m.dcdcT
		}},
	{"IBS_LVBattery", 100 * time.Millisecond,
		[]string{"LVBattVoltage", "LVBattCurrent", "LVBattSOC"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2] = m.lvV, m.lvI, m.lvSOC*100
		}},
	{"OBC_ChargeStatus", 100 * time.Millisecond,
		[]string{"ChargingState", "PlugConnected", "ChargingActive", "ChargeTargetSOC", "TimeToFull", "ChargerPower"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2] = float64(m.chargeState), b2f(m.plugged), b2f(m.charging())
			v[3], v[4], v[5] = s.cfg.ChargeTarget, math.Round(m.ttf), m.chgV*m.chgI/1000
		}},
	{"OBC_ChargeMeas", 100 * time.Millisecond,
		[]string{"ChargerVoltage", "ChargerCurrent", "ACVoltage", "ACCurrent"},
		func(s *Sim, seq uint64, v []float64) {
			m := &s.m
			v[0], v[1], v[2], v[3] = m.chgV, m.chgI, m.acV, m.acI
		}},
	{"IC_Odometer", time.Second,
		[]string{"Odometer", "TripDistance"},
		func(s *Sim, seq uint64, v []float64) {
			v[0], v[1] = s.m.odo, s.m.trip
		}},
	{"BCM_Ambient", time.Second,
		[]string{"AmbientTemp"},
		func(s *Sim, seq uint64, v []float64) {
			v[0] = s.cfg.Ambient
		}},
}

// Names and periods of the multiplexed messages.
const (
	cellMsgName   = "BMS_CellVoltages"
	moduleMsgName = "BMS_ModuleTemps"
)

var muxCycles = map[string]time.Duration{cellMsgName: 20 * time.Millisecond, moduleMsgName: 100 * time.Millisecond}

// DefaultCycles returns the transmit periods the sim uses when
// Config.Cycles is nil; they equal the GenMsgCycleTime attributes of
// board/sim/sim-ev.dbc.
func DefaultCycles() map[string]time.Duration {
	out := make(map[string]time.Duration, len(specs)+len(bodySpecs)+len(muxCycles))
	for _, sp := range specs {
		out[sp.name] = sp.cycle
	}
	for _, sp := range bodySpecs {
		out[sp.name] = sp.cycle
	}
	for n, c := range muxCycles {
		out[n] = c
	}
	return out
}

// txMsg is the transmit state of one message.
type txMsg struct {
	msg    *signals.Message
	cycle  int64 // ns
	next   int64 // unix ns of the next transmission
	seq    uint64
	spec   *msgSpec
	sigs   []*signals.Signal // for spec messages, in spec order
	vals   []float64
	crc    *signals.Signal
	groups []muxGroup // for multiplexed messages
	kind   int        // 0 spec, 1 cells, 2 modules
}

// muxGroup is one multiplexer value and the element (cell or module) each
// of its signals carries.
type muxGroup struct {
	value uint64
	sigs  []*signals.Signal
	elems []int
}

// transmitter turns the model into frames.
type transmitter struct {
	msgs []*txMsg
	// held values of stuck signals, by signal index
	held    []float64
	hasHeld []bool
}

func newTransmitter(cfg *Config, start int64) (*transmitter, error) {
	db := cfg.DBC
	cycles := cfg.Cycles
	if cycles == nil {
		cycles = DefaultCycles()
	}
	tx := &transmitter{held: make([]float64, len(db.Signals)), hasHeld: make([]bool, len(db.Signals))}
	period := func(name string) (int64, error) {
		c, ok := cycles[name]
		if !ok || c <= 0 {
			return 0, fmt.Errorf("sim: Cycles: no period for message %s (expected BA_ \"GenMsgCycleTime\" BO_ <id> <ms>; in the DBC)", name)
		}
		return int64(c), nil
	}
	all := make([]*msgSpec, 0, len(specs)+len(bodySpecs))
	for i := range specs {
		all = append(all, &specs[i])
	}
	for i := range bodySpecs {
		// The body's messages are optional (body.go).
		if db.Message(bodySpecs[i].name) != nil {
			all = append(all, &bodySpecs[i])
		}
	}
	for _, sp := range all {
		msg := db.Message(sp.name)
		if msg == nil {
			return nil, fmt.Errorf("sim: DBC %s: message %s missing (expected the sim DBC, board/sim/sim-ev.dbc)", db.File, sp.name)
		}
		t := &txMsg{msg: msg, spec: sp, vals: make([]float64, len(sp.sigs))}
		for _, n := range sp.sigs {
			sig := msg.Signal(n)
			if sig == nil {
				return nil, fmt.Errorf("sim: DBC %s: signal %s.%s missing (expected the sim DBC, board/sim/sim-ev.dbc)", db.File, sp.name, n)
			}
			t.sigs = append(t.sigs, sig)
			if n == "Checksum" {
				if sig.Size != 8 || (sig.BigEndian && sig.StartBit != 63) || (!sig.BigEndian && sig.StartBit != 56) {
					return nil, fmt.Errorf("sim: DBC %s: signal %s.Checksum: expected 8 bits in byte 7", db.File, sp.name)
				}
				t.crc = sig
			}
		}
		var err error
		if t.cycle, err = period(sp.name); err != nil {
			return nil, err
		}
		tx.msgs = append(tx.msgs, t)
	}
	for _, mx := range []struct {
		name, format string
		kind, count  int
	}{
		{cellMsgName, "Cell%02dVoltage", 1, cfg.Cells},
		{moduleMsgName, "Module%02dTemp", 2, cfg.Modules},
	} {
		msg := db.Message(mx.name)
		if msg == nil || msg.Multiplexer() == nil {
			return nil, fmt.Errorf("sim: DBC %s: multiplexed message %s missing (expected the sim DBC, board/sim/sim-ev.dbc)", db.File, mx.name)
		}
		t := &txMsg{msg: msg, kind: mx.kind}
		byValue := map[uint64]int{}
		for e := 0; e < mx.count; e++ {
			sig := msg.Signal(fmt.Sprintf(mx.format, e+1))
			if sig == nil || !sig.Multiplexed {
				if e == 0 {
					return nil, fmt.Errorf("sim: DBC %s: signal %s.%s missing", db.File, mx.name, fmt.Sprintf(mx.format, 1))
				}
				break // the DBC carries fewer elements than configured
			}
			gi, ok := byValue[sig.MuxValue]
			if !ok {
				gi = len(t.groups)
				byValue[sig.MuxValue] = gi
				t.groups = append(t.groups, muxGroup{value: sig.MuxValue})
			}
			g := &t.groups[gi]
			g.sigs = append(g.sigs, sig)
			g.elems = append(g.elems, e)
		}
		slices.SortFunc(t.groups, func(a, b muxGroup) int { return cmp.Compare(a.value, b.value) })
		var err error
		if t.cycle, err = period(mx.name); err != nil {
			return nil, err
		}
		tx.msgs = append(tx.msgs, t)
	}
	// Keep DBC order and stagger the first transmissions by 1 ms per
	// message, as ECUs that start at slightly different moments do.
	slices.SortStableFunc(tx.msgs, func(a, b *txMsg) int {
		return cmp.Compare(slices.Index(db.Messages, a.msg), slices.Index(db.Messages, b.msg))
	})
	for i, t := range tx.msgs {
		t.next = start + (int64(i+1)*int64(time.Millisecond))%t.cycle
	}
	return tx, nil
}

// put encodes v into signal sig of f, applying the sensor effect; false
// means the frame must not be sent (dropout).
func (tx *transmitter) put(p *Plant, f *can.Frame, sig *signals.Signal, v float64) bool {
	if p.sensorDirty {
		e := p.sensors[sig.Index]
		switch e.Mode {
		case SensorDropout:
			return false
		case SensorStuck:
			if tx.hasHeld[sig.Index] {
				v = tx.held[sig.Index]
			} else {
				tx.held[sig.Index], tx.hasHeld[sig.Index] = v, true
			}
		case SensorDrift:
			v += e.Offset
		}
		if e.Mode != SensorStuck {
			tx.hasHeld[sig.Index] = false
		}
	}
	sig.Encode(f, v)
	return true
}

// build makes the next frame of t; false when a dropout suppresses it.
func (s *Sim) build(t *txMsg) (can.Frame, bool) {
	f := t.msg.NewFrame()
	p := &s.plant
	switch t.kind {
	case 0:
		t.spec.vals(s, t.seq, t.vals)
		for i, sig := range t.sigs {
			if sig == t.crc {
				continue
			}
			if !s.tx.put(p, &f, sig, t.vals[i]) {
				return f, false
			}
		}
		if t.crc != nil {
			t.crc.EncodeRaw(&f, uint64(crc8(f.Data[:7])))
		}
	default:
		g := &t.groups[t.seq%uint64(len(t.groups))]
		t.msg.Multiplexer().EncodeRaw(&f, g.value)
		for i, sig := range g.sigs {
			var v float64
			if t.kind == 1 {
				v = s.m.cells[g.elems[i]].v
			} else {
				v = s.m.modT[g.elems[i]]
			}
			if !s.tx.put(p, &f, sig, v) {
				// The cell group's slot passes; the next group follows.
				t.seq++
				return f, false
			}
		}
	}
	t.seq++
	return f, true
}

// crc8 is CRC-8 SAE J1850: polynomial 0x1D, initial 0xFF, final XOR 0xFF.
func crc8(b []byte) uint8 {
	c := uint8(0xFF)
	for _, x := range b {
		c ^= x
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x1D
			} else {
				c <<= 1
			}
		}
	}
	return c ^ 0xFF
}
