package obd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Client asks a car for standard OBD-II (SAE J1979) and UDS data over a
// Transport.
type Client struct {
	T Transport
	// Extended selects 29-bit functional requests (18DB33F1).
	Extended bool
	// singlePID is set once an ECU or adapter did not answer a multi-PID
	// request: PIDs are then asked one at a time.
	singlePID bool
}

func (c *Client) functional(data ...byte) Request {
	r := Request{TxID: FunctionalID, Data: data}
	if c.Extended {
		r.TxID, r.Extended = FunctionalID29, true
	}
	return r
}

// ECUPIDs lists the service 01 PIDs one ECU supports.
type ECUPIDs struct {
	ECU  uint32 `json:"-"`
	Name string `json:"ecu"`
	PIDs []byte `json:"-"`
}

// SupportedPIDs discovers the service 01 PIDs each ECU supports by walking
// the 00, 20, 40 ... bitmaps as long as an ECU says the next one exists.
func (c *Client) SupportedPIDs(ctx context.Context) ([]ECUPIDs, error) {
	maps := map[uint32][][]byte{}
	for base := byte(0); ; base += 0x20 {
		rs, err := c.T.Do(ctx, c.functional(0x01, base))
		if err != nil {
			if base == 0 {
				return nil, err
			}
			break
		}
		more := false
		for _, r := range rs {
			if len(r.Data) >= 6 && r.Data[0] == 0x41 && r.Data[1] == base {
				maps[r.ID] = append(maps[r.ID], r.Data)
				if r.Data[5]&1 != 0 {
					more = true
				}
			}
		}
		if !more || base == 0xE0 {
			break
		}
	}
	if len(maps) == 0 {
		return nil, ErrNoData
	}
	var out []ECUPIDs
	for id, m := range maps {
		out = append(out, ECUPIDs{ECU: id, Name: idString(id), PIDs: SupportedPIDs(m...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ECU < out[j].ECU })
	return out, nil
}

// ReadPIDs reads service 01 PIDs, at most 6 per request, and decodes them
// with the J1979 table. PIDs that a multi-PID request left unanswered are
// asked again one by one (some ECUs and adapters only take one).
func (c *Client) ReadPIDs(ctx context.Context, pids []byte) (*Decoded, []Response, error) {
	var all []Response
	got := map[byte]bool{}
	var lastErr error
	ask := func(group []byte) {
		rs, err := c.T.Do(ctx, c.functional(append([]byte{0x01}, group...)...))
		if err != nil {
			lastErr = err
			return
		}
		all = append(all, rs...)
		for _, r := range rs {
			parts, _ := SplitMode01(r.Data)
			for _, p := range parts {
				got[p.PID] = true
			}
		}
	}
	max := 6
	if c.singlePID {
		max = 1
	}
	for _, g := range GroupPIDs(pids, max) {
		ask(g)
		if len(g) > 1 {
			missing := false
			for _, p := range g {
				if !got[p] {
					missing = true
				}
			}
			if missing {
				c.singlePID = true
				for _, p := range g {
					if !got[p] {
						ask([]byte{p})
					}
				}
			}
		}
	}
	if len(all) == 0 {
		if lastErr == nil {
			lastErr = ErrNoData
		}
		return nil, nil, lastErr
	}
	return (*Signalset)(nil).DecodeResponses(nil, all), all, nil
}

// DTCReport holds the trouble codes of every ECU that answered.
type DTCReport struct {
	Stored    []ECUDTC `json:"stored"`
	Pending   []ECUDTC `json:"pending"`
	Permanent []ECUDTC `json:"permanent"`
	// UDS are codes read with UDS ReadDTCInformation (19 02) from ECUs the
	// caller lists; the ECU is the request id.
	UDS []ECUDTC `json:"uds,omitempty"`
	// Problems are services that failed (for example permanent codes on a
	// car older than 2010).
	Problems []string `json:"problems,omitempty"`
}

// ECUDTC is a trouble code with the ECU that reported it.
type ECUDTC struct {
	ECU         string `json:"ecu"`
	Code        string `json:"code"`
	Description string `json:"description"`
}

// DTCs reads stored (03), pending (07) and permanent (0A) trouble codes.
func (c *Client) DTCs(ctx context.Context) (*DTCReport, error) {
	rep := &DTCReport{Stored: []ECUDTC{}, Pending: []ECUDTC{}, Permanent: []ECUDTC{}}
	answered := 0
	for _, s := range []struct {
		svc byte
		out *[]ECUDTC
	}{{0x03, &rep.Stored}, {0x07, &rep.Pending}, {0x0A, &rep.Permanent}} {
		rs, err := c.T.Do(ctx, c.functional(s.svc))
		if err != nil {
			if !errors.Is(err, ErrNoData) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("service %02X: %v", s.svc, err))
			}
			continue
		}
		for _, r := range rs {
			if n := r.Negative(); n != nil {
				rep.Problems = append(rep.Problems, n.Error())
				continue
			}
			if len(r.Data) == 0 || r.Data[0] != s.svc+0x40 {
				continue
			}
			answered++
			codes, err := DecodeDTCs(r.Data)
			if err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("ECU %s service %02X: %v", idString(r.ID), s.svc, err))
			}
			for _, d := range codes {
				*s.out = append(*s.out, ECUDTC{ECU: idString(r.ID), Code: d.Code, Description: d.Description()})
			}
		}
	}
	if answered == 0 && len(rep.Problems) == 0 {
		// No ECU answered 03, 07 or 0A. Some ECUs (and emulators) stay
		// silent when they have no codes: if the car answers at all, that
		// is an empty list, else the car is not there.
		if _, err := c.T.Do(ctx, c.functional(0x01, 0x00)); err != nil {
			return rep, err
		}
		rep.Problems = append(rep.Problems, "no ECU answered services 03, 07 and 0A (taken as no trouble codes; the car answers service 01)")
	}
	return rep, nil
}

// VIN reads the vehicle identification number (service 09 InfoType 02).
func (c *Client) VIN(ctx context.Context) (string, string, error) {
	rs, err := c.T.Do(ctx, c.functional(0x09, 0x02))
	if err != nil {
		return "", "", err
	}
	var last error = ErrNoData
	for _, r := range rs {
		if len(r.Data) > 0 && r.Data[0] == 0x49 {
			v, err := ParseVIN(r.Data)
			if err == nil {
				return v, idString(r.ID), nil
			}
			last = err
		}
	}
	return "", "", last
}

// ClearGate decides whether trouble codes may be cleared now. Clearing
// erases the evidence a workshop needs and resets readiness monitors, so it
// takes an authorised request and a car at standstill.
type ClearGate interface {
	AllowClear(ctx context.Context) error
}

// ErrNotAllowed is returned when the safety gate refuses an action.
var ErrNotAllowed = errors.New("obd: not allowed")

// StandstillGate allows clearing when Authorised returns nil (who asked,
// and whether they may) and the vehicle speed read now (PID 0D) is 0.
type StandstillGate struct {
	Client     *Client
	Authorised func(ctx context.Context) error
}

// AllowClear implements ClearGate.
func (g *StandstillGate) AllowClear(ctx context.Context) error {
	if g.Authorised == nil {
		return fmt.Errorf("%w: clearing trouble codes needs an authorised request", ErrNotAllowed)
	}
	if err := g.Authorised(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	d, _, err := g.Client.ReadPIDs(ctx, []byte{0x0D})
	if err != nil {
		return fmt.Errorf("%w: cannot confirm standstill: %v", ErrNotAllowed, err)
	}
	v, ok := d.ByID["VSS"]
	if !ok {
		return fmt.Errorf("%w: cannot confirm standstill: no vehicle speed", ErrNotAllowed)
	}
	if v.Num != 0 {
		return fmt.Errorf("%w: vehicle moving at %.0f km/h", ErrNotAllowed, v.Num)
	}
	return nil
}

// ClearDTCs clears emission-related trouble codes (service 04) after the
// gate allows it.
func (c *Client) ClearDTCs(ctx context.Context, gate ClearGate) error {
	if gate == nil {
		return fmt.Errorf("%w: no safety gate", ErrNotAllowed)
	}
	if err := gate.AllowClear(ctx); err != nil {
		return err
	}
	rs, err := c.T.Do(ctx, c.functional(0x04))
	if err != nil {
		return err
	}
	for _, r := range rs {
		if len(r.Data) > 0 && r.Data[0] == 0x44 {
			return nil
		}
		if n := r.Negative(); n != nil {
			return n
		}
	}
	return fmt.Errorf("%w: no positive answer to clear", ErrNoData)
}

// ReadDID reads one UDS data identifier from one ECU (service 0x22).
func ReadDID(ctx context.Context, t Transport, tx, rx uint32, extended bool, did uint16) ([]byte, error) {
	r := Request{TxID: tx, RxID: rx, Extended: extended, Data: ReadDataByIdentifierRequest(did), Timeout: 2 * time.Second}
	rs, err := t.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	var last error = ErrNoData
	for _, resp := range rs {
		b, err := ParseReadDataByIdentifier(resp.Data, did)
		if err == nil {
			return b, nil
		}
		last = err
	}
	return nil, last
}

// ReadUDSDTCs reads an ECU's trouble codes with UDS ReadDTCInformation
// 0x19 0x02 (by status mask; 0xFF for all).
func ReadUDSDTCs(ctx context.Context, t Transport, tx, rx uint32, extended bool, mask byte) ([]DTC, error) {
	r := Request{TxID: tx, RxID: rx, Extended: extended, Data: ReportDTCByStatusMaskRequest(mask), Timeout: 2 * time.Second}
	rs, err := t.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	var last error = ErrNoData
	for _, resp := range rs {
		_, dtcs, err := ParseReportDTCs(resp.Data)
		if err == nil {
			return dtcs, nil
		}
		last = err
	}
	return nil, last
}
