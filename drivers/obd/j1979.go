package obd

// SAE J1979 service 01: the PID table (j1979_table.go), PID lengths,
// multi-PID answers, supported-PID bitmaps and request grouping.

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
)

var j1979 = sync.OnceValue(func() *Signalset {
	s := &Signalset{Commands: j1979Commands(), Source: "SAE J1979 service 01 (built in)"}
	if err := s.compile(); err != nil {
		panic("obd: built-in J1979 table: " + err.Error())
	}
	for _, c := range s.Commands {
		j1979ByPID[c.param[0]] = c
	}
	return s
})

var j1979ByPID [256]*Command

// J1979 returns the SAE J1979 service 01 PIDs as a compiled signalset: one
// functional command (header 7DF, answered by any ECU) per PID, with the
// standard's abbreviations as signal ids (RPM, VSS, ECT, VPWR, AAT, ODO,
// BAT_SOC ...). It is built once and shared: callers must not modify it.
func J1979() *Signalset { return j1979() }

// J1979Command returns the J1979 command of a service 01 PID, or nil when
// the table does not decode that PID (the supported-PID bitmaps 00, 20 ...
// among them: see SupportedPIDs).
func J1979Command(pid byte) *Command {
	j1979()
	return j1979ByPID[pid]
}

// pidLens holds the number of data bytes of each service 01 PID (SAE
// J1979-DA; 0 = unknown). PIDs 06-09 and 55-58 carry bank 3/4 in a second
// byte that ECUs without those banks leave out: they are listed with 2 and
// SplitMode01 also accepts 1.
var pidLens = [256]uint8{
	0x00: 4, 0x01: 4, 0x02: 2, 0x03: 2, 0x04: 1, 0x05: 1, 0x06: 2, 0x07: 2,
	0x08: 2, 0x09: 2, 0x0A: 1, 0x0B: 1, 0x0C: 2, 0x0D: 1, 0x0E: 1, 0x0F: 1,
	0x10: 2, 0x11: 1, 0x12: 1, 0x13: 1, 0x14: 2, 0x15: 2, 0x16: 2, 0x17: 2,
	0x18: 2, 0x19: 2, 0x1A: 2, 0x1B: 2, 0x1C: 1, 0x1D: 1, 0x1E: 1, 0x1F: 2,
	0x20: 4, 0x21: 2, 0x22: 2, 0x23: 2, 0x24: 4, 0x25: 4, 0x26: 4, 0x27: 4,
	0x28: 4, 0x29: 4, 0x2A: 4, 0x2B: 4, 0x2C: 1, 0x2D: 1, 0x2E: 1, 0x2F: 1,
	0x30: 1, 0x31: 2, 0x32: 2, 0x33: 1, 0x34: 4, 0x35: 4, 0x36: 4, 0x37: 4,
	0x38: 4, 0x39: 4, 0x3A: 4, 0x3B: 4, 0x3C: 2, 0x3D: 2, 0x3E: 2, 0x3F: 2,
	0x40: 4, 0x41: 4, 0x42: 2, 0x43: 2, 0x44: 2, 0x45: 1, 0x46: 1, 0x47: 1,
	0x48: 1, 0x49: 1, 0x4A: 1, 0x4B: 1, 0x4C: 1, 0x4D: 2, 0x4E: 2, 0x4F: 4,
	0x50: 4, 0x51: 1, 0x52: 1, 0x53: 2, 0x54: 2, 0x55: 2, 0x56: 2, 0x57: 2,
	0x58: 2, 0x59: 2, 0x5A: 1, 0x5B: 1, 0x5C: 1, 0x5D: 2, 0x5E: 2, 0x5F: 1,
	0x60: 4, 0x61: 1, 0x62: 1, 0x63: 2, 0x64: 5, 0x65: 2, 0x66: 5, 0x67: 3,
	0x68: 7, 0x69: 7, 0x6A: 5, 0x6B: 5, 0x6C: 5, 0x6D: 11, 0x6E: 9, 0x6F: 3,
	0x70: 10, 0x71: 6, 0x72: 5, 0x73: 5, 0x74: 5, 0x75: 7, 0x76: 7, 0x77: 5,
	0x78: 9, 0x79: 9, 0x7A: 7, 0x7B: 7, 0x7C: 9, 0x7D: 1, 0x7E: 1, 0x7F: 13,
	0x80: 4, 0x81: 21, 0x82: 21, 0x83: 5, 0x84: 1, 0x85: 10, 0x86: 5, 0x87: 5,
	0x88: 13, 0x89: 41, 0x8A: 41, 0x8B: 7, 0x8C: 17, 0x8D: 1, 0x8E: 1, 0x8F: 7,
	0x90: 3, 0x91: 5, 0x92: 2, 0x93: 3, 0x94: 12, 0x98: 9, 0x99: 9, 0x9A: 6,
	0x9B: 4, 0x9C: 17, 0x9D: 4, 0x9E: 2, 0x9F: 9,
	0xA0: 4, 0xA1: 9, 0xA2: 2, 0xA3: 9, 0xA4: 4, 0xA5: 4, 0xA6: 4, 0xAA: 1,
	0xB2: 1, 0xC0: 4, 0xD2: 3, 0xD3: 4, 0xE0: 4,
}

// PIDLen returns the number of data bytes (after the PID) of a service 01
// PID per SAE J1979, or 0 when it is not known.
func PIDLen(pid byte) int { return int(pidLens[pid]) }

// pidShortLen is the alternative length of the PIDs whose last byte is
// optional (bank 3/4 fuel trims), or 0.
func pidShortLen(pid byte) int {
	if pid >= 0x06 && pid <= 0x09 || pid >= 0x55 && pid <= 0x58 {
		return 1
	}
	return 0
}

// PIDAnswer is the part of a service 01 answer that belongs to one PID.
type PIDAnswer struct {
	PID byte
	// Data is the answer for this PID alone: 0x41, the PID, its data bytes.
	Data []byte
}

// SplitMode01 splits a service 01 answer (0x41 followed by one or more PID
// and data groups, up to six) into one answer per PID, using the J1979 PID
// lengths. An answer to a single PID whose length is unknown is returned
// whole. When the answer cannot be split, the error names the PID where it
// fails and the PIDs before it are returned.
func SplitMode01(data []byte) ([]PIDAnswer, error) {
	if len(data) < 2 || data[0] != 0x41 {
		return nil, fmt.Errorf("obd: % X is not a service 01 answer", head(data, 3))
	}
	if PIDLen(data[1]) == 0 {
		return []PIDAnswer{{PID: data[1], Data: append([]byte(nil), data...)}}, nil
	}
	// Lengths of each group: the J1979 ones when they fit, else the short
	// form of an optional bank 3/4 byte where it makes the rest fit.
	var lens [8]int
	ls, bad, err := splitLens(data, lens[:0])
	if err != nil && hasShortLen(data, bad) {
		if alt, ok := splitShort(data); ok {
			ls, err = alt, nil
		}
	}
	n := 0
	for _, l := range ls {
		n += 2 + l
	}
	buf := make([]byte, 0, n)
	out := make([]PIDAnswer, 0, len(ls))
	pos := 1
	for _, l := range ls {
		start := len(buf)
		buf = append(buf, 0x41)
		buf = append(buf, data[pos:pos+1+l]...)
		out = append(out, PIDAnswer{PID: data[pos], Data: buf[start:len(buf):len(buf)]})
		pos += 1 + l
	}
	return out, err
}

// splitLens walks the answer with the J1979 lengths. On failure it returns
// the lengths of the groups before the failing one and that group's offset.
func splitLens(data []byte, ls []int) ([]int, int, error) {
	pos := 1
	for pos < len(data) {
		pid := data[pos]
		l := PIDLen(pid)
		left := len(data) - pos - 1
		switch {
		case l == 0:
			return ls, pos, fmt.Errorf("obd: service 01 answer: PID %02X at byte %d has an unknown length", pid, pos)
		case l > left:
			if s := pidShortLen(pid); s > 0 && s <= left {
				// The bank 3/4 byte left out.
				l = s
			} else {
				return ls, pos, fmt.Errorf("obd: service 01 answer: PID %02X needs %d data bytes, %d left", pid, l, left)
			}
		}
		ls = append(ls, l)
		pos += 1 + l
	}
	return ls, pos, nil
}

// hasShortLen reports whether a PID with an optional byte precedes offset
// end: only then can another split succeed.
func hasShortLen(data []byte, end int) bool {
	pos := 1
	for pos < end && pos < len(data) {
		if pidShortLen(data[pos]) > 0 {
			return true
		}
		l := PIDLen(data[pos])
		if l == 0 {
			return false
		}
		pos += 1 + l
	}
	return false
}

// splitShort finds a split of the whole answer where some PIDs with an
// optional byte use their short form, preferring the short form (ECUs
// without bank 3/4 are the common case). It runs in linear time: ok[i]
// says whether data[i:] splits completely.
func splitShort(data []byte) ([]int, bool) {
	n := len(data)
	ok := make([]bool, n+1)
	choice := make([]int, n+1)
	ok[n] = true
	for i := n - 1; i >= 1; i-- {
		pid := data[i]
		for _, l := range [2]int{pidShortLen(pid), PIDLen(pid)} {
			if l > 0 && i+1+l <= n && ok[i+1+l] {
				ok[i], choice[i] = true, l
				break
			}
		}
	}
	if !ok[1] {
		return nil, false
	}
	var ls []int
	for i := 1; i < n; i += 1 + choice[i] {
		ls = append(ls, choice[i])
	}
	return ls, true
}

// SupportedPIDs decodes the supported-PID bitmaps (service 01 PIDs 00, 20,
// 40 ... E0) found in the given answers, from one or several ECUs, and
// returns the supported PIDs in order. In the four data bytes A-D after
// PID n, bit 7 of A says whether PID n+1 is supported ... bit 0 of D PID
// n+32, which is itself the next bitmap. Other PIDs and malformed answers
// are ignored.
func SupportedPIDs(answers ...[]byte) []byte {
	var set [256]bool
	for _, a := range answers {
		parts, _ := SplitMode01(a)
		for _, p := range parts {
			if p.PID%0x20 != 0 || len(p.Data) != 6 {
				continue
			}
			for i := range 32 {
				if p.Data[2+i/8]&(0x80>>(i%8)) != 0 && int(p.PID)+i+1 <= 0xFF {
					set[int(p.PID)+i+1] = true
				}
			}
		}
	}
	var out []byte
	for pid, ok := range set {
		if ok {
			out = append(out, byte(pid))
		}
	}
	return out
}

// MaxPIDsPerRequest is the most PIDs one service 01 request may carry
// (J1979 allows six; some old ECUs reject more, see GroupPIDs).
const MaxPIDsPerRequest = 6

// GroupPIDs splits PIDs into service 01 requests of at most max PIDs each
// (max <= 0 or above 6 means 6: J1979 allows six per request, and an ECU
// seen by AWS IoT FleetWise rejected seven). Duplicates are dropped and the
// order kept; the supported-PID bitmaps (00, 20 ...) are grouped only with
// each other, as J1979 asks.
func GroupPIDs(pids []byte, max int) [][]byte {
	if max <= 0 || max > MaxPIDsPerRequest {
		max = MaxPIDsPerRequest
	}
	var seen [256]bool
	var maps, data []byte
	for _, p := range pids {
		if seen[p] {
			continue
		}
		seen[p] = true
		if p%0x20 == 0 {
			maps = append(maps, p)
		} else {
			data = append(data, p)
		}
	}
	var out [][]byte
	for _, l := range [][]byte{maps, data} {
		for c := range slices.Chunk(l, max) {
			out = append(out, c)
		}
	}
	return out
}

// Service 09 (vehicle information).

// vinAlphabet reports whether c may appear in a VIN (ISO 3779: digits and
// capital letters except I, O and Q).
func vinAlphabet(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q'
}

// info09 returns the data of a service 09 answer for InfoType it: the bytes
// after 49 it, without the number-of-data-items byte (01) that CAN answers
// carry. Pre-CAN answers (ISO 9141, KWP, J1850) come as numbered messages
// 49 it 01 .., 49 it 02 .. of four bytes each; joined back to back they are
// recognised and their headers dropped.
func info09(data []byte, it byte) ([]byte, error) {
	if nr := udsNegative(data, 0x09); nr != nil {
		return nil, nr
	}
	if len(data) < 2 || data[0] != 0x49 || data[1] != it {
		return nil, fmt.Errorf("obd: % X is not a service 09 InfoType %02X answer", head(data, 3), it)
	}
	if len(data)%7 == 0 && len(data) >= 14 {
		joined, ok := make([]byte, 0, len(data)/7*4), true
		for i := 0; i < len(data); i += 7 {
			if data[i] != 0x49 || data[i+1] != it || int(data[i+2]) != i/7+1 {
				ok = false
				break
			}
			joined = append(joined, data[i+3:i+7]...)
		}
		if ok {
			return joined, nil
		}
	}
	b := data[2:]
	if len(b) > 0 && b[0] == 0x01 {
		// Number of data items (CAN) or message number (pre-CAN): never a
		// character of the text InfoTypes read here.
		b = b[1:]
	}
	return b, nil
}

// ParseVIN reads the vehicle identification number from a service 09
// InfoType 02 answer: 49 02 01 and 17 characters on CAN; the 0x00 padding
// that pre-CAN answers put before the VIN (and trailing 0x00) is ignored.
// The characters must be a VIN's (ISO 3779); some ECUs answer InfoType 02
// with other text (a 2021 Hyundai Kona's battery controller sends
// "OSEV__ BMS "), which is an error. A wrong check digit is not an error:
// see VINWarning.
func ParseVIN(data []byte) (string, error) {
	b, err := info09(data, 0x02)
	if err != nil {
		return "", err
	}
	b = bytes.TrimLeft(b, "\x00")
	b = bytes.TrimRight(b, "\x00")
	if len(b) != 17 {
		return "", fmt.Errorf("obd: VIN %q has %d characters, want 17", b, len(b))
	}
	for i, c := range b {
		if !vinAlphabet(c) {
			return "", fmt.Errorf("obd: VIN %q: character %d (%q) is not allowed in a VIN", b, i+1, c)
		}
	}
	return string(b), nil
}

// VINCheckDigit computes the check digit (position 9) of a 17-character
// VIN per ISO 3779 / 49 CFR 565: '0'-'9' or 'X'. ok is false when vin is
// not 17 VIN characters.
func VINCheckDigit(vin string) (digit byte, ok bool) {
	const weights = "\x08\x07\x06\x05\x04\x03\x02\x0a\x00\x09\x08\x07\x06\x05\x04\x03\x02"
	// Letter values A-Z (I, O, Q are not used).
	const letters = "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x02\x03\x04\x05\x00\x07\x00\x09\x02\x03\x04\x05\x06\x07\x08\x09"
	if len(vin) != 17 {
		return 0, false
	}
	sum := 0
	for i := range 17 {
		c := vin[i]
		if !vinAlphabet(c) {
			return 0, false
		}
		v := int(c - '0')
		if c >= 'A' {
			v = int(letters[c-'A'])
		}
		sum += v * int(weights[i])
	}
	if r := sum % 11; r < 10 {
		return byte('0' + r), true
	}
	return 'X', true
}

// VINWarning checks the check digit of a North American VIN (world
// manufacturer identifier starting with 1-5, where the digit is
// mandatory) and describes a mismatch; it returns "" when the digit is
// right or not required. A mismatch is a warning, not an error: the VIN is
// what the car reports.
func VINWarning(vin string) string {
	if len(vin) != 17 || vin[0] < '1' || vin[0] > '5' {
		return ""
	}
	want, ok := VINCheckDigit(vin)
	if !ok || want == vin[8] {
		return ""
	}
	return fmt.Sprintf("VIN %s: check digit is %c, ISO 3779 gives %c", vin, vin[8], want)
}

// ParseECUName reads the ECU name from a service 09 InfoType 0A answer:
// 49 0A 01 and 20 bytes, an acronym of up to four characters, '-', and a
// name of up to 15 characters, padded with 0x00 ("BECM-B+EnergyCtrl").
// An answer with no name (some ECUs send a single 0x00) is an error.
func ParseECUName(data []byte) (string, error) {
	b, err := info09(data, 0x0A)
	if err != nil {
		return "", err
	}
	b = bytes.TrimRight(b, "\x00 ")
	if len(b) == 0 {
		return "", fmt.Errorf("obd: ECU name answer holds no name")
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return "", fmt.Errorf("obd: ECU name %q is not printable ASCII", b)
		}
	}
	return string(b), nil
}
