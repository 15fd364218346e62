package obd

// Diagnostic trouble codes: SAE J2012 codes as OBD-II services 03, 07 and
// 0A report them (2 bytes), and as UDS ReadDTCInformation reports them (3
// bytes: the J2012 code and a failure type byte), with the ISO 14229-1
// status byte.

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// DTC is one diagnostic trouble code.
type DTC struct {
	// Code is the SAE J2012 code ("P0133", "C0123", "U0100"); with a
	// failure type byte it is followed by that byte in hex ("P0A7F-1B").
	Code string
	// Raw is the code as sent: two bytes (0x0133), or three with the
	// failure type (0x0A7F1B) when HasFailureType is set.
	Raw uint32
	// Status is the ISO 14229-1 DTC status byte (DTCStatus* bits), when
	// HasStatus is set (UDS answers; OBD-II services do not send one).
	Status    byte
	HasStatus bool
	// FailureType is the failure type byte (FTB) of a UDS DTC (SAE
	// J2012-DA / ISO 15031-6 categories, see FailureTypeName).
	FailureType    byte
	HasFailureType bool
}

// DTC status bits (ISO 14229-1 DTCStatusMask).
const (
	DTCStatusTestFailed                         = 0x01
	DTCStatusTestFailedThisOperationCycle       = 0x02
	DTCStatusPending                            = 0x04
	DTCStatusConfirmed                          = 0x08
	DTCStatusTestNotCompletedSinceLastClear     = 0x10
	DTCStatusTestFailedSinceLastClear           = 0x20
	DTCStatusTestNotCompletedThisOperationCycle = 0x40
	DTCStatusWarningIndicatorRequested          = 0x80
)

var dtcStatusNames = [8]string{
	"testFailed",
	"testFailedThisOperationCycle",
	"pendingDTC",
	"confirmedDTC",
	"testNotCompletedSinceLastClear",
	"testFailedSinceLastClear",
	"testNotCompletedThisOperationCycle",
	"warningIndicatorRequested",
}

// DTCStatusNames names the bits set in a DTC status byte, lowest bit
// first, with the ISO 14229-1 names ("testFailed", "confirmedDTC" ...).
func DTCStatusNames(status byte) []string {
	var out []string
	for i, n := range dtcStatusNames {
		if status&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// NewDTC returns the DTC of a 2-byte J2012 code (OBD-II services 03, 07,
// 0A, and PID 02): the top two bits are the system (P, C, B, U), then the
// first digit (0-3) and three hex digits.
func NewDTC(code uint16) DTC {
	return DTC{Code: formatJ2012(code), Raw: uint32(code)}
}

// NewUDSDTC returns the DTC of a 3-byte UDS code (ISO 14229-1 DTC format
// ISO 15031-6 / SAE J2012-DA): the J2012 code and a failure type byte.
func NewUDSDTC(dtc uint32) DTC {
	dtc &= 0xFFFFFF
	ftb := byte(dtc)
	return DTC{
		Code:           formatJ2012(uint16(dtc>>8)) + "-" + dtcHex2(ftb),
		Raw:            dtc,
		FailureType:    ftb,
		HasFailureType: true,
	}
}

const dtcHexDigits = "0123456789ABCDEF"

func dtcHex2(b byte) string { return string([]byte{dtcHexDigits[b>>4], dtcHexDigits[b&15]}) }

func formatJ2012(c uint16) string {
	return string([]byte{
		"PCBU"[c>>14],
		dtcHexDigits[c>>12&3],
		dtcHexDigits[c>>8&15],
		dtcHexDigits[c>>4&15],
		dtcHexDigits[c&15],
	})
}

// ParseDTC reads a code written as J2012 ("P0133") or with a failure type
// ("P0A7F-1B").
func ParseDTC(s string) (DTC, error) {
	base, ftb, hasFTB := strings.Cut(strings.ToUpper(strings.TrimSpace(s)), "-")
	if len(base) != 5 || !strings.ContainsRune("PCBU", rune(base[0])) || base[1] < '0' || base[1] > '3' {
		return DTC{}, fmt.Errorf("obd: %q is not a trouble code (want P0133 or P0A7F-1B)", s)
	}
	v, err := strconv.ParseUint(base[1:], 16, 16)
	if err != nil {
		return DTC{}, fmt.Errorf("obd: %q is not a trouble code (want P0133 or P0A7F-1B)", s)
	}
	code := uint16(strings.IndexByte("PCBU", base[0]))<<14 | uint16(v)
	if !hasFTB {
		return NewDTC(code), nil
	}
	f, err := strconv.ParseUint(ftb, 16, 8)
	if err != nil || len(ftb) != 2 {
		return DTC{}, fmt.Errorf("obd: %q: failure type %q is not two hex digits", s, ftb)
	}
	return NewUDSDTC(uint32(code)<<8 | uint32(f)), nil
}

// J2012 returns the 2-byte J2012 code without the failure type.
func (d DTC) J2012() uint16 {
	if d.HasFailureType {
		return uint16(d.Raw >> 8)
	}
	return uint16(d.Raw)
}

// Base returns the five-character J2012 code ("P0A7F" for "P0A7F-1B").
func (d DTC) Base() string { return formatJ2012(d.J2012()) }

// String returns the code.
func (d DTC) String() string { return d.Code }

// StatusNames names the bits of the status byte (nil without one).
func (d DTC) StatusNames() []string {
	if !d.HasStatus {
		return nil
	}
	return DTCStatusNames(d.Status)
}

// SAEDefined reports whether the code's meaning is set by SAE J2012 rather
// than by the vehicle manufacturer: P0, P2, P34-P3F; B0, B3, C0, C3, U0, U3.
func (d DTC) SAEDefined() bool {
	c := d.J2012()
	switch d1 := c >> 12 & 3; c >> 14 {
	case 0: // P
		return d1 == 0 || d1 == 2 || d1 == 3 && c>>8&15 >= 4
	default:
		return d1 == 0 || d1 == 3
	}
}

var dtcSystems = [4]string{"powertrain", "chassis", "body", "network"}

// Description describes the code: the generic description of an SAE P0
// code from the embedded table, else its class ("P1xxx: manufacturer-
// specific powertrain code"). A failure type other than 0 is appended
// ("... - circuit short to ground").
func (d DTC) Description() string {
	c := d.J2012()
	s, ok := genericDTCs()[c]
	if !ok {
		base := d.Base()
		pattern := base[:2] + "xxx"
		if base[0] == 'P' && base[1] == '3' {
			pattern = base[:3] + "xx"
		}
		owner := "manufacturer-specific"
		if d.SAEDefined() {
			owner = "SAE-defined"
		}
		s = pattern + ": " + owner + " " + dtcSystems[c>>14] + " code"
	}
	if d.HasFailureType && d.FailureType != 0 {
		s += " - " + FailureTypeName(d.FailureType)
	}
	return s
}

// Failure type bytes (SAE J2012-DA / ISO 15031-6 via ISO 14229-1 DTC
// format 0x00): the high nibble is the category.
var failureTypes = map[byte]string{
	0x00: "no sub-type information",
	0x01: "general electrical failure",
	0x02: "general signal failure",
	0x03: "FM/PWM failure",
	0x04: "system internal failure",
	0x05: "system programming failure",
	0x06: "algorithm based failure",
	0x07: "mechanical failure",
	0x08: "bus signal/message failure",
	0x09: "component failure",
	0x11: "circuit short to ground",
	0x12: "circuit short to battery",
	0x13: "circuit open",
	0x14: "circuit short to ground or open",
	0x15: "circuit short to battery or open",
	0x16: "circuit voltage below threshold",
	0x17: "circuit voltage above threshold",
	0x18: "circuit current below threshold",
	0x19: "circuit current above threshold",
	0x1A: "circuit resistance below threshold",
	0x1B: "circuit resistance above threshold",
	0x1C: "circuit voltage out of range",
	0x1D: "circuit current out of range",
	0x1E: "circuit resistance out of range",
	0x1F: "circuit intermittent",
	0x21: "signal amplitude below minimum",
	0x22: "signal amplitude above maximum",
	0x23: "signal stuck low",
	0x24: "signal stuck high",
	0x25: "signal shape/waveform failure",
	0x26: "signal rate of change below threshold",
	0x27: "signal rate of change above threshold",
	0x28: "signal bias level out of range/zero adjustment failure",
	0x29: "signal invalid",
	0x2F: "signal erratic",
	0x31: "no signal",
	0x32: "signal low time below minimum",
	0x33: "signal low time above maximum",
	0x34: "signal high time below minimum",
	0x35: "signal high time above maximum",
	0x36: "signal frequency too low",
	0x37: "signal frequency too high",
	0x38: "signal frequency incorrect",
	0x39: "too few pulses",
	0x3A: "too many pulses",
	0x41: "general checksum failure",
	0x42: "general memory failure",
	0x43: "special memory failure",
	0x44: "data memory failure",
	0x45: "program memory failure",
	0x46: "calibration/parameter memory failure",
	0x47: "watchdog/safety controller failure",
	0x48: "supervision software failure",
	0x49: "internal electronic failure",
	0x4A: "incorrect component installed",
	0x4B: "over temperature",
	0x51: "not programmed",
	0x52: "not activated",
	0x53: "deactivated",
	0x54: "missing calibration",
	0x55: "not configured",
	0x61: "signal calculation failure",
	0x62: "signal compare failure",
	0x63: "circuit/component protection time-out",
	0x64: "signal plausibility failure",
	0x65: "signal has too few transitions/events",
	0x66: "signal has too many transitions/events",
	0x67: "signal incorrect after event",
	0x68: "event information",
	0x71: "actuator stuck",
	0x72: "actuator stuck open",
	0x73: "actuator stuck closed",
	0x74: "actuator slipping",
	0x75: "emergency position not reachable",
	0x76: "wrong mounting position",
	0x77: "commanded position not reachable",
	0x78: "alignment or adjustment incorrect",
	0x79: "mechanical linkage failure",
	0x7A: "fluid leak or seal failure",
	0x7B: "low fluid level",
	0x81: "invalid serial data received",
	0x82: "alive/sequence counter incorrect or not updated",
	0x83: "signal protection value (checksum) incorrect",
	0x84: "signal below allowable range",
	0x85: "signal above allowable range",
	0x86: "signal invalid",
	0x87: "missing message",
	0x88: "bus off",
	0x8F: "erratic",
	0x91: "parametric",
	0x92: "performance or incorrect operation",
	0x93: "no operation",
	0x94: "unexpected operation",
	0x95: "incorrect assembly",
	0x96: "component internal failure",
	0x97: "component or system operation obstructed or blocked",
	0x98: "component or system over temperature",
}

var failureCategories = [16]string{
	"general failure information",
	"general electrical failure",
	"general signal failure",
	"FM/PWM failure",
	"system internal failure",
	"system programming failure",
	"algorithm based failure",
	"mechanical failure",
	"bus signal/message failure",
	"component failure",
}

// FailureTypeName names a failure type byte; bytes without a name of their
// own are described by category ("circuit failure, sub-type 0x2A"), 0xF0-0xFE
// as manufacturer-specific.
func FailureTypeName(ftb byte) string {
	if s, ok := failureTypes[ftb]; ok {
		return s
	}
	switch {
	case ftb >= 0xF0 && ftb != 0xFF:
		return fmt.Sprintf("manufacturer-specific failure type 0x%02X", ftb)
	case failureCategories[ftb>>4] != "":
		return fmt.Sprintf("%s, sub-type 0x%02X", failureCategories[ftb>>4], ftb)
	}
	return fmt.Sprintf("reserved failure type 0x%02X", ftb)
}

// DecodeDTCs decodes the trouble codes of an OBD-II service 03 (stored),
// 07 (pending) or 0A (permanent) answer (0x43, 0x47, 0x4A). On CAN (ISO
// 15765-4) the byte after the service id is the number of codes, then two
// bytes per code. The older formats (ISO 9141, KWP, J1850) have no count:
// three codes per message padded with 0x0000; they are recognised by their
// length (an even number of bytes after the service id, where the CAN
// format always has an odd one). 0x0000 entries are dropped. On error the
// codes read so far are returned with it.
func DecodeDTCs(data []byte) ([]DTC, error) {
	if len(data) == 0 || data[0] != 0x43 && data[0] != 0x47 && data[0] != 0x4A {
		return nil, fmt.Errorf("obd: % X is not a service 03, 07 or 0A answer", head(data, 3))
	}
	body := data[1:]
	var codes []byte
	var err error
	if len(body)%2 == 1 {
		n := int(body[0])
		codes = body[1:]
		switch {
		case len(codes) < 2*n:
			err = fmt.Errorf("obd: service %02X answer announces %d DTCs but holds %d bytes of codes", data[0]-0x40, n, len(codes))
			codes = codes[:len(codes)&^1]
		case len(codes) > 2*n:
			if !dtcAllBytes(codes[2*n:], 0x00) {
				err = fmt.Errorf("obd: service %02X answer announces %d DTCs but holds %d bytes of codes", data[0]-0x40, n, len(codes))
			}
			codes = codes[:2*n]
		}
	} else {
		codes = body
	}
	var out []DTC
	for i := 0; i+1 < len(codes); i += 2 {
		c := uint16(codes[i])<<8 | uint16(codes[i+1])
		if c == 0 {
			continue
		}
		out = append(out, NewDTC(c))
	}
	return out, err
}

func dtcAllBytes(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}

//go:embed dtcdata/generic-dtc.csv
var genericDTCcsv []byte

// evDTCcsv adds SAE J2012 titles the generic table lacks: the hybrid/EV
// P0Axx-P0Dxx codes, 12 V system voltage and the common U0xxx network
// codes (written for evedge).
//
//go:embed dtcdata/ev-dtc.csv
var evDTCcsv []byte

// genericDTCs parses the embedded tables once.
var genericDTCs = sync.OnceValue(func() map[uint16]string {
	m := parseDTCTable(genericDTCcsv)
	for k, v := range parseDTCTable(evDTCcsv) {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
})

// parseDTCTable reads "P0100,Description" rows, skipping the header,
// blank lines and section titles ("DTC Codes - P0100-P0199 – Fuel and Air
// Metering"). A code that repeats the previous row's code while the next
// row is two further on is a typo for the code in between (the table has
// P0109 twice, the second being P0110): it is read as that code.
func parseDTCTable(b []byte) map[uint16]string {
	type row struct {
		code uint16
		desc string
	}
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		code, desc, ok := strings.Cut(line, ",")
		if !ok {
			continue
		}
		d, err := ParseDTC(code)
		if err != nil || d.HasFailureType {
			continue // header or section line
		}
		desc = strings.TrimSpace(desc)
		if len(desc) >= 2 && desc[0] == '"' && desc[len(desc)-1] == '"' {
			desc = strings.ReplaceAll(desc[1:len(desc)-1], `""`, `"`)
		}
		if desc == "" {
			continue
		}
		rows = append(rows, row{d.J2012(), desc})
	}
	m := make(map[uint16]string, len(rows))
	for i, r := range rows {
		if i > 0 && i+1 < len(rows) && r.code == rows[i-1].code {
			if c1, ok := decimalStep(r.code, 1); ok {
				if c2, ok := decimalStep(r.code, 2); ok && rows[i+1].code == c2 {
					r.code = c1
				}
			}
		}
		if _, dup := m[r.code]; !dup {
			m[r.code] = r.desc
		}
	}
	return m
}

// decimalStep adds k to the last three digits of a code counted in
// decimal, as tables number codes (P0109, P0110), when they are decimal.
func decimalStep(c uint16, k int) (uint16, bool) {
	h, t, o := int(c>>8&15), int(c>>4&15), int(c&15)
	if h > 9 || t > 9 || o > 9 {
		return 0, false
	}
	d := 100*h + 10*t + o + k
	if d > 999 {
		return 0, false
	}
	return c&0xF000 | uint16(d/100)<<8 | uint16(d/10%10)<<4 | uint16(d%10), true
}
