package elmsim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// State is a snapshot of what an OBD ECU reports.
type State struct {
	SpeedKmh float64 // PID 0D
	RPM      float64 // PID 0C (motor speed on EVs that report it)
	// SOC is the hybrid/EV battery pack remaining life in percent (PID 5B).
	SOC float64
	// ModuleVoltage is the control module (12 V system) voltage (PID 42).
	ModuleVoltage float64
	AmbientC      float64 // PID 46
	// CoolantC is reported as the engine coolant temperature (PID 05);
	// EVs use it for the battery or drive coolant.
	CoolantC             float64
	OdometerKm           float64 // PID A6
	RunTimeS             float64 // PID 1F, seconds since start
	DistanceMILKm        float64 // PID 21
	DistanceSinceClearKm float64 // PID 31
	// HVBatteryV and HVBatteryA are the hybrid/EV battery voltage and
	// current (PID 9A), answered only when HVBattery is set.
	HVBattery  bool
	HVBatteryV float64
	HVBatteryA float64
	// MIL is the malfunction indicator lamp (PID 01).
	MIL bool
	// Trouble codes as SAE J2012 strings ("P0A7F"): stored (service 03),
	// pending (07) and permanent (0A).
	Stored, Pending, Permanent []string
}

// DefaultPIDs are the service 01 PIDs an OBDECU answers unless told
// otherwise (PID 9A is added when State.HVBattery is set).
var DefaultPIDs = []byte{0x01, 0x05, 0x0C, 0x0D, 0x1C, 0x1F, 0x21, 0x31, 0x42, 0x46, 0x51, 0x5B, 0xA6}

// OBDECU answers SAE J1979 (ISO 15031-5) services 01, 03, 04, 07, 09 and 0A
// from a State snapshot. The encodings are written here from the standard,
// independently of the agent's decoder. Unsupported services and PIDs get
// no answer, as OBD ECUs do on functional requests.
type OBDECU struct {
	// State returns the current snapshot; nil means a zero State.
	State func() State
	// PIDs are the service 01 PIDs answered (nil: DefaultPIDs). The
	// supported-PID bitmaps (00, 20, ... E0) are derived from them.
	PIDs []byte
	// VIN (service 09 PID 02, 17 characters) and ECU name (PID 0A, up to
	// 20 characters, e.g. "BECM-BatteryEnergyCtl"); empty: not supported.
	VIN  string
	Name string
	// OBDStandard is PID 1C (default 0x01: OBD-II as defined by CARB).
	OBDStandard byte
	// OnClear is called by service 04.
	OnClear func()

	mu sync.Mutex
	// cleared holds the stored and pending codes service 04 cleared; they
	// stay hidden while the snapshot still lists them.
	cleared map[string]bool
}

func (e *OBDECU) state() State {
	if e.State == nil {
		return State{}
	}
	return e.State()
}

// pids returns the service 01 PIDs answered: those configured that this
// ECU can encode.
func (e *OBDECU) pids(s State) []byte {
	p := e.PIDs
	if p == nil {
		p = DefaultPIDs
	}
	if s.HVBattery && !slices.Contains(p, 0x9A) {
		p = append(slices.Clone(p), 0x9A)
	}
	return slices.DeleteFunc(slices.Clone(p), func(pid byte) bool { return pid%0x20 == 0 || e.pid(s, pid) == nil })
}

// Handle implements ECU.
func (e *OBDECU) Handle(req []byte) [][]byte {
	if len(req) == 0 {
		return nil
	}
	s := e.state()
	e.prune(s)
	switch req[0] {
	case 0x01:
		return one(e.service01(s, req[1:]))
	case 0x03:
		return one(dtcAnswer(0x43, e.visible(s.Stored)))
	case 0x07:
		return one(dtcAnswer(0x47, e.visible(s.Pending)))
	case 0x0A:
		return one(dtcAnswer(0x4A, s.Permanent))
	case 0x04:
		if len(req) != 1 {
			return nil
		}
		e.mu.Lock()
		if e.cleared == nil {
			e.cleared = map[string]bool{}
		}
		for _, c := range append(slices.Clone(s.Stored), s.Pending...) {
			e.cleared[strings.ToUpper(c)] = true
		}
		e.mu.Unlock()
		if e.OnClear != nil {
			e.OnClear()
		}
		return [][]byte{{0x44}}
	case 0x09:
		return one(e.service09(req[1:]))
	}
	return nil
}

func one(p []byte) [][]byte {
	if p == nil {
		return nil
	}
	return [][]byte{p}
}

// prune forgets cleared codes the snapshot no longer lists, so that they
// show again if they come back.
func (e *OBDECU) prune(s State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.cleared {
		in := func(codes []string) bool {
			return slices.ContainsFunc(codes, func(x string) bool { return strings.EqualFold(x, c) })
		}
		if !in(s.Stored) && !in(s.Pending) {
			delete(e.cleared, c)
		}
	}
}

// visible drops cleared codes.
func (e *OBDECU) visible(codes []string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, c := range codes {
		if !e.cleared[strings.ToUpper(c)] {
			out = append(out, c)
		}
	}
	return out
}

// supported returns the 4-byte bitmap answered for PID base (0x00, 0x20...)
// and whether that bitmap PID is itself supported: PID n is bit 31-(n-base-1);
// the last bit says the next bitmap exists.
func supportedBitmap(pids []byte, base byte) ([]byte, bool) {
	var v uint32
	maxPID := byte(0)
	for _, p := range pids {
		maxPID = max(maxPID, p)
		if p > base && int(p) <= int(base)+0x20 {
			v |= 1 << (31 - (p - base - 1))
		}
	}
	if int(maxPID) > int(base)+0x20 {
		v |= 1 // the next bitmap PID
	}
	if base != 0 && maxPID <= base {
		return nil, false
	}
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}, true
}

// service01 answers up to six PIDs in one message.
func (e *OBDECU) service01(s State, pids []byte) []byte {
	if len(pids) == 0 || len(pids) > 6 {
		return nil
	}
	supported := e.pids(s)
	out := []byte{0x41}
	for _, pid := range pids {
		var data []byte
		if pid%0x20 == 0 {
			data, _ = supportedBitmap(supported, pid)
		} else if slices.Contains(supported, pid) {
			data = e.pid(s, pid)
		}
		if data != nil {
			out = append(out, pid)
			out = append(out, data...)
		}
	}
	if len(out) == 1 {
		return nil
	}
	return out
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, math.Round(v))) }

func u8(v float64) byte { return byte(clamp(v, 0, 255)) }

func u16(v float64) []byte {
	x := uint16(clamp(v, 0, 65535))
	return []byte{byte(x >> 8), byte(x)}
}

// pid encodes one service 01 PID (SAE J1979-DA formulas).
func (e *OBDECU) pid(s State, pid byte) []byte {
	switch pid {
	case 0x01: // monitor status: A7 MIL, A6-0 number of stored DTCs
		n := min(len(e.visible(s.Stored)), 0x7F)
		a := byte(n)
		if s.MIL && n > 0 {
			a |= 0x80
		}
		return []byte{a, 0x00, 0x00, 0x00}
	case 0x05: // coolant temperature: A - 40 °C
		return []byte{u8(s.CoolantC + 40)}
	case 0x0C: // speed: (256A + B) / 4 rpm
		return u16(s.RPM * 4)
	case 0x0D: // vehicle speed: A km/h
		return []byte{u8(s.SpeedKmh)}
	case 0x1C: // OBD standard
		if e.OBDStandard == 0 {
			return []byte{0x01}
		}
		return []byte{e.OBDStandard}
	case 0x1F: // run time since start: 256A + B seconds
		return u16(s.RunTimeS)
	case 0x21: // distance with MIL on: 256A + B km
		return u16(s.DistanceMILKm)
	case 0x31: // distance since codes cleared: 256A + B km
		return u16(s.DistanceSinceClearKm)
	case 0x42: // control module voltage: (256A + B) / 1000 V
		return u16(s.ModuleVoltage * 1000)
	case 0x46: // ambient air temperature: A - 40 °C
		return []byte{u8(s.AmbientC + 40)}
	case 0x51: // fuel type: 08 electric
		return []byte{0x08}
	case 0x5B: // hybrid battery pack remaining life: 100/255 A %
		return []byte{u8(s.SOC * 255 / 100)}
	case 0x9A:
		// Hybrid/EV system data: A support bits (1: voltage, 2: current),
		// B charging state, C-D voltage in 1/64 V, E-F current in 0.1 A
		// (signed). Approximation: the layout follows J1979-DA 2017 as
		// far as it is publicly described.
		v := uint16(clamp(s.HVBatteryV*64, 0, 65535))
		a := int16(clamp(s.HVBatteryA*10, -32768, 32767))
		return []byte{0x06, 0x00, byte(v >> 8), byte(v), byte(uint16(a) >> 8), byte(a)}
	case 0xA6: // odometer: 32 bits, 0.1 km
		x := uint32(math.Max(0, math.Min(math.Round(s.OdometerKm*10), math.MaxUint32)))
		return []byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}
	}
	return nil
}

// dtcAnswer is the CAN format of services 03, 07 and 0A: the number of
// codes, then two bytes per code.
func dtcAnswer(sid byte, codes []string) []byte {
	out := []byte{sid, 0}
	for _, c := range codes {
		v, err := ParseDTC(c)
		if err != nil {
			continue
		}
		out = append(out, byte(v>>8), byte(v))
		out[1]++
	}
	return out
}

func (e *OBDECU) service09(req []byte) []byte {
	if len(req) != 1 {
		return nil
	}
	switch req[0] {
	case 0x00:
		var pids []byte
		if e.VIN != "" {
			pids = append(pids, 0x02)
		}
		if e.Name != "" {
			pids = append(pids, 0x0A)
		}
		bm, _ := supportedBitmap(pids, 0)
		return append([]byte{0x49, 0x00}, bm...)
	case 0x02:
		if e.VIN == "" {
			return nil
		}
		return append([]byte{0x49, 0x02, 0x01}, fixed(e.VIN, 17, 0x00)...)
	case 0x0A:
		if e.Name == "" {
			return nil
		}
		return append([]byte{0x49, 0x0A, 0x01}, fixed(e.Name, 20, 0x00)...)
	}
	return nil
}

// fixed pads or truncates s to n bytes.
func fixed(s string, n int, pad byte) []byte {
	b := []byte(s)
	if len(b) > n {
		return b[:n]
	}
	for len(b) < n {
		b = append(b, pad)
	}
	return b
}

// ParseDTC encodes an SAE J2012 code such as "P0A7F" in its two bytes:
// the letter (P, C, B, U) in the top two bits, then the digit 0-3, then
// three hex digits.
func ParseDTC(code string) (uint16, error) {
	if len(code) != 5 {
		return 0, fmt.Errorf("elmsim: invalid DTC %q", code)
	}
	sys := strings.IndexByte("PCBU", code[0]&^0x20)
	d, err := strconv.ParseUint(code[1:], 16, 16)
	if sys < 0 || err != nil || code[1] > '3' {
		return 0, fmt.Errorf("elmsim: invalid DTC %q", code)
	}
	return uint16(sys)<<14 | uint16(d), nil
}
