package obd

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestNewDTC(t *testing.T) {
	// Top two bits: 00 P, 01 C, 10 B, 11 U; then bits 13-12 and three
	// nibbles.
	for raw, want := range map[uint16]string{
		0x0133: "P0133", 0x4123: "C0123", 0xC100: "U0100", 0x8000: "B0000",
		0x0A7F: "P0A7F", 0x3456: "P3456", 0xFFFF: "U3FFF", 0x9603: "B1603", 0x5812: "C1812",
	} {
		d := NewDTC(raw)
		if d.Code != want || d.Raw != uint32(raw) || d.HasFailureType || d.HasStatus || d.Base() != want || d.J2012() != raw {
			t.Errorf("NewDTC(%04X) = %+v, want %s", raw, d, want)
		}
		p, err := ParseDTC(want)
		if err != nil || p != d {
			t.Errorf("ParseDTC(%s) = %+v, %v", want, p, err)
		}
	}
	d := NewUDSDTC(0x0A7F1B)
	if d.Code != "P0A7F-1B" || d.Base() != "P0A7F" || d.J2012() != 0x0A7F || d.FailureType != 0x1B || !d.HasFailureType || d.Raw != 0x0A7F1B {
		t.Errorf("NewUDSDTC(0A7F1B) = %+v", d)
	}
	if p, err := ParseDTC("p0a7f-1b"); err != nil || p != d {
		t.Errorf("ParseDTC(p0a7f-1b) = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "P013", "P4133", "X0133", "P0133-1", "P0133-XY", "P01G3"} {
		if _, err := ParseDTC(bad); err == nil {
			t.Errorf("ParseDTC(%q) accepted", bad)
		}
	}
}

func TestDecodeDTCs(t *testing.T) {
	for _, tc := range []struct {
		in    string
		codes string
		err   string
	}{
		{"43 00", "", ""},
		{"4A 00", "", ""},
		{"43 02 01 33 C1 00", "P0133 U0100", ""}, // CAN: count 2
		{"47 01 41 23", "C0123", ""},             // pending
		{"43 01 01 33 00 00", "P0133", ""},       // count 1, zero padding after
		{"43 02 01 33 00 00", "P0133", ""},       // a 0000 code is dropped
		{"43 01 33 00 00 00 00", "P0133", ""},    // pre-CAN: 3 codes, no count
		{"43 01 33 02 21 C1 00", "P0133 P0221 U0100", ""},
		{"43 00 00 00 00 00 00", "", ""},             // pre-CAN, nothing stored
		{"43 03 01 33", "P0133", "announces 3 DTCs"}, // short
		{"43 01 01 33 02 21", "P0133", "announces 1 DTCs"},
		{"41 00", "", "not a service 03"},
		{"", "", "not a service 03"},
	} {
		ds, err := DecodeDTCs(jHex(t, tc.in))
		var codes []string
		for _, d := range ds {
			codes = append(codes, d.Code)
		}
		if got := strings.Join(codes, " "); got != tc.codes {
			t.Errorf("DecodeDTCs(%s) = %q, want %q", tc.in, got, tc.codes)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("DecodeDTCs(%s): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("DecodeDTCs(%s) error %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestDTCDescription(t *testing.T) {
	for code, want := range map[string]string{
		// From the embedded table.
		"P0133": "02 Sensor Circuit Slow Response (Bank 1 Sensor 1)",
		"P0420": "Catalyst System Efficiency Below Threshold (Bank 1)",
		"P0109": "Manifold Absolute Pressure/Barometric Pressure Circuit Intermittent",
		"P0110": "Intake Air Temperature Circuit Malfunction", // listed as a second P0109
		"P0577": "Cruise Control Related Malfunction",         // listed as a second P0576
		// By class (SAE J2012 ranges).
		"P0A7F": "Hybrid/EV Battery Pack Deterioration",
		"P1234": "P1xxx: manufacturer-specific powertrain code",
		"P2345": "P2xxx: SAE-defined powertrain code",
		"P3123": "P31xx: manufacturer-specific powertrain code",
		"P33FF": "P33xx: manufacturer-specific powertrain code",
		"P3456": "P34xx: SAE-defined powertrain code",
		"C0123": "C0xxx: SAE-defined chassis code",
		"C1812": "C1xxx: manufacturer-specific chassis code",
		"B2801": "B2xxx: manufacturer-specific body code",
		"B3000": "B3xxx: SAE-defined body code",
		"U0100": "Lost Communication With ECM/PCM A",
		"U0400": "U0xxx: SAE-defined network code",
		"U1000": "U1xxx: manufacturer-specific network code",
		"U3000": "U3xxx: SAE-defined network code",
		// With failure types.
		"P0133-11": "02 Sensor Circuit Slow Response (Bank 1 Sensor 1) - circuit short to ground",
		"P0A7F-1B": "Hybrid/EV Battery Pack Deterioration - circuit resistance above threshold",
		"P0A6F":    "P0xxx: SAE-defined powertrain code",
		"C1812-87": "C1xxx: manufacturer-specific chassis code - missing message",
		"B1603-00": "B1xxx: manufacturer-specific body code",
	} {
		d, err := ParseDTC(code)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Description(); got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
}

func TestDTCTable(t *testing.T) {
	m := parseDTCTable(genericDTCcsv)
	// 469 code rows, P0109 and P0576 twice; read as P0110 and P0577 all
	// 469 codes are distinct.
	if len(m) != 469 {
		t.Errorf("%d codes in the table, want 469", len(m))
	}
	ev := parseDTCTable(evDTCcsv)
	all := genericDTCs()
	for c, s := range ev {
		if c>>14 != 0 && c>>14 != 3 || all[c] == "" {
			t.Errorf("EV table entry %04X %q missing or not P/U", c, s)
		}
	}
	if len(ev) < 50 || len(all) < len(m)+len(ev)-5 {
		t.Errorf("merged table has %d codes from %d + %d", len(all), len(m), len(ev))
	}
	for c, s := range m {
		if c>>12 != 0 || s == "" || strings.HasPrefix(s, "DTC Codes") {
			t.Errorf("table entry %04X %q", c, s)
		}
	}
	// Header, section titles, blank lines, quotes, CRLF, a BOM.
	got := parseDTCTable([]byte("\ufeffdtc, description\r\n\r\nDTC Codes - P0100-P0199 – Fuel\r\nP0100,\"Air \"\"Flow\"\" A\"\r\nP0101, spaced \r\nnonsense,x\r\nP0102,\r\nP0109,a\r\nP0109,b\r\nP0111,c\r\n"))
	want := map[uint16]string{0x0100: `Air "Flow" A`, 0x0101: "spaced", 0x0109: "a", 0x0110: "b", 0x0111: "c"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseDTCTable = %v, want %v", got, want)
	}
	if c, ok := decimalStep(0x0A99, 1); ok {
		t.Errorf("decimalStep(P0A99) = %04X", c)
	}
	if c, ok := decimalStep(0x0199, 1); !ok || c != 0x0200 {
		t.Errorf("decimalStep(P0199) = %04X, %v", c, ok)
	}
}

func TestDTCStatusNames(t *testing.T) {
	for st, want := range map[byte]string{
		0x00: "",
		0x08: "confirmedDTC",
		0x09: "testFailed confirmedDTC",
		0x28: "confirmedDTC testFailedSinceLastClear",
		0xFF: "testFailed testFailedThisOperationCycle pendingDTC confirmedDTC testNotCompletedSinceLastClear testFailedSinceLastClear testNotCompletedThisOperationCycle warningIndicatorRequested",
	} {
		if got := strings.Join(DTCStatusNames(st), " "); got != want {
			t.Errorf("DTCStatusNames(%02X) = %q, want %q", st, got, want)
		}
	}
	d := NewUDSDTC(0x581287)
	if d.StatusNames() != nil {
		t.Error("status names without a status")
	}
	d.Status, d.HasStatus = DTCStatusConfirmed|DTCStatusTestFailed, true
	if got := d.StatusNames(); !slices.Equal(got, []string{"testFailed", "confirmedDTC"}) {
		t.Errorf("StatusNames = %v", got)
	}
}

func TestFailureTypeName(t *testing.T) {
	for ftb, want := range map[byte]string{
		0x00: "no sub-type information",
		0x11: "circuit short to ground",
		0x12: "circuit short to battery",
		0x13: "circuit open",
		0x1B: "circuit resistance above threshold",
		0x1C: "circuit voltage out of range",
		0x87: "missing message",
		0x2A: "general signal failure, sub-type 0x2A",
		0x9F: "component failure, sub-type 0x9F",
		0xF5: "manufacturer-specific failure type 0xF5",
		0xA0: "reserved failure type 0xA0",
		0xFF: "reserved failure type 0xFF",
	} {
		if got := FailureTypeName(ftb); got != want {
			t.Errorf("FailureTypeName(%02X) = %q, want %q", ftb, got, want)
		}
	}
}

// FuzzDecodeDTCs: never panics; every code is non-zero, formatted from
// its two bytes, and there are no more codes than pairs of bytes.
func FuzzDecodeDTCs(f *testing.F) {
	for _, s := range []string{"4300", "4302013 3C100", "4301330000000000", "47014123", "4303 0133", "4A", "43", "7F0312"} {
		b, _ := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := DecodeDTCs(data)
		if len(data) == 0 || data[0] != 0x43 && data[0] != 0x47 && data[0] != 0x4A {
			if err == nil || len(ds) != 0 {
				t.Fatalf("accepted % X", data)
			}
			return
		}
		if len(ds) > (len(data)-1)/2 {
			t.Fatalf("%d codes from %d bytes", len(ds), len(data))
		}
		for _, d := range ds {
			if d.Raw == 0 || d.Raw > 0xFFFF || d.HasStatus || d.HasFailureType || d.Code != NewDTC(uint16(d.Raw)).Code || len(d.Code) != 5 {
				t.Fatalf("bad code %+v from % X", d, data)
			}
			if !bytes.Contains(data[1:], []byte{byte(d.Raw >> 8), byte(d.Raw)}) {
				t.Fatalf("code %s not in % X", d.Code, data)
			}
			if d.Description() == "" {
				t.Fatalf("%s: no description", d.Code)
			}
		}
	})
}
