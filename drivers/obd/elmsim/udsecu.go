package elmsim

import (
	"slices"
	"sync"
)

// UDS negative response codes the simulator sends (ISO 14229-1 table A.1).
const (
	NRCServiceNotSupported     = 0x11
	NRCSubFunctionNotSupported = 0x12
	NRCIncorrectLength         = 0x13
	NRCRequestOutOfRange       = 0x31
	NRCResponsePending         = 0x78
)

// DTC is one UDS trouble code: 3 bytes (the 2-byte SAE J2012 code and the
// failure type byte), its status byte, and extended data records by
// number (ReadDTCInformation 0x06).
type DTC struct {
	Code   uint32
	Status byte
	Ext    map[byte][]byte
}

// UDSDTC builds a 3-byte code from an SAE J2012 string and a failure type
// byte: UDSDTC("P0A7F", 0x00) = 0x0A7F00.
func UDSDTC(code string, failureType byte) (uint32, error) {
	v, err := ParseDTC(code)
	return uint32(v)<<8 | uint32(failureType), err
}

// UDSECU answers ISO 14229 requests: ReadDataByIdentifier (0x22, several
// DIDs per request), ReadDTCInformation (0x19: 0x01 count, 0x02 by status
// mask, 0x06 extended data, 0x0A supported), ClearDiagnosticInformation
// (0x14), DiagnosticSessionControl (0x10) and TesterPresent (0x3E), with
// negative responses for anything else.
type UDSECU struct {
	// DIDs maps data identifiers to their data.
	DIDs map[uint16][]byte
	// ReadDID, when set, is asked first (live values).
	ReadDID func(did uint16) ([]byte, bool)
	// DTCs are reported by 0x19 and cleared by 0x14.
	DTCs []DTC
	// StatusAvailability is the DTC status availability mask (0: 0xFF).
	StatusAvailability byte
	// Pending is the number of "response pending" (7F sid 78) answers sent
	// before each positive answer to 0x22 and 0x19.
	Pending int

	mu sync.Mutex
}

func negative(sid, nrc byte) [][]byte { return [][]byte{{0x7F, sid, nrc}} }

func (e *UDSECU) withPending(sid byte, answer []byte) [][]byte {
	var out [][]byte
	for range e.Pending {
		out = append(out, []byte{0x7F, sid, NRCResponsePending})
	}
	return append(out, answer)
}

// Handle implements ECU.
func (e *UDSECU) Handle(req []byte) [][]byte {
	if len(req) == 0 {
		return nil
	}
	sid := req[0]
	switch sid {
	case 0x22:
		return e.readDID(req)
	case 0x19:
		return e.readDTC(req)
	case 0x14:
		if len(req) != 4 {
			return negative(sid, NRCIncorrectLength)
		}
		e.mu.Lock()
		e.DTCs = nil
		e.mu.Unlock()
		return [][]byte{{0x54}}
	case 0x10:
		if len(req) != 2 {
			return negative(sid, NRCIncorrectLength)
		}
		sub := req[1] & 0x7F
		if sub < 1 || sub > 3 {
			return negative(sid, NRCSubFunctionNotSupported)
		}
		if req[1]&0x80 != 0 {
			return nil
		}
		// P2 50 ms, P2* 5000 ms (10 ms units).
		return [][]byte{{0x50, sub, 0x00, 0x32, 0x01, 0xF4}}
	case 0x3E:
		if len(req) != 2 {
			return negative(sid, NRCIncorrectLength)
		}
		if req[1]&0x7F != 0 {
			return negative(sid, NRCSubFunctionNotSupported)
		}
		if req[1]&0x80 != 0 {
			return nil // suppress positive response
		}
		return [][]byte{{0x7E, 0x00}}
	}
	return negative(sid, NRCServiceNotSupported)
}

func (e *UDSECU) readDID(req []byte) [][]byte {
	if len(req) < 3 || (len(req)-1)%2 != 0 {
		return negative(0x22, NRCIncorrectLength)
	}
	out := []byte{0x62}
	found := false
	for i := 1; i < len(req); i += 2 {
		did := uint16(req[i])<<8 | uint16(req[i+1])
		var data []byte
		ok := false
		if e.ReadDID != nil {
			data, ok = e.ReadDID(did)
		}
		if !ok {
			e.mu.Lock()
			data, ok = e.DIDs[did]
			e.mu.Unlock()
		}
		if !ok {
			continue
		}
		found = true
		out = append(out, req[i], req[i+1])
		out = append(out, data...)
	}
	if !found {
		return negative(0x22, NRCRequestOutOfRange)
	}
	return e.withPending(0x22, out)
}

func (e *UDSECU) readDTC(req []byte) [][]byte {
	if len(req) < 2 {
		return negative(0x19, NRCIncorrectLength)
	}
	e.mu.Lock()
	dtcs := slices.Clone(e.DTCs)
	e.mu.Unlock()
	avail := e.StatusAvailability
	if avail == 0 {
		avail = 0xFF
	}
	put3 := func(b []byte, c uint32) []byte { return append(b, byte(c>>16), byte(c>>8), byte(c)) }
	sub := req[1]
	switch sub {
	case 0x01, 0x02:
		if len(req) != 3 {
			return negative(0x19, NRCIncorrectLength)
		}
		mask := req[2]
		var n int
		out := []byte{0x59, sub, avail}
		for _, d := range dtcs {
			if d.Status&mask&avail != 0 {
				n++
				out = append(put3(out, d.Code), d.Status&avail)
			}
		}
		if sub == 0x01 {
			// Format 01: ISO 14229-1 DTC format.
			out = []byte{0x59, 0x01, avail, 0x01, byte(n >> 8), byte(n)}
		}
		return e.withPending(0x19, out)
	case 0x0A:
		if len(req) != 2 {
			return negative(0x19, NRCIncorrectLength)
		}
		out := []byte{0x59, 0x0A, avail}
		for _, d := range dtcs {
			out = append(put3(out, d.Code), d.Status&avail)
		}
		return e.withPending(0x19, out)
	case 0x06:
		if len(req) != 6 {
			return negative(0x19, NRCIncorrectLength)
		}
		code := uint32(req[2])<<16 | uint32(req[3])<<8 | uint32(req[4])
		rec := req[5]
		i := slices.IndexFunc(dtcs, func(d DTC) bool { return d.Code == code })
		if i < 0 {
			return negative(0x19, NRCRequestOutOfRange)
		}
		d := dtcs[i]
		out := append(put3([]byte{0x59, 0x06}, d.Code), d.Status&avail)
		if rec == 0xFF {
			nums := make([]byte, 0, len(d.Ext))
			for k := range d.Ext {
				nums = append(nums, k)
			}
			slices.Sort(nums)
			for _, k := range nums {
				out = append(append(out, k), d.Ext[k]...)
			}
		} else {
			data, ok := d.Ext[rec]
			if !ok {
				return negative(0x19, NRCRequestOutOfRange)
			}
			out = append(append(out, rec), data...)
		}
		return e.withPending(0x19, out)
	}
	return negative(0x19, NRCSubFunctionNotSupported)
}

// SetDID changes the data of a DID while sessions run.
func (e *UDSECU) SetDID(did uint16, data []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.DIDs == nil {
		e.DIDs = map[uint16][]byte{}
	}
	e.DIDs[did] = slices.Clone(data)
}
