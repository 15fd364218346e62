// Package obd talks to a car's diagnostic port: OBD-II (SAE J1979) and UDS
// (ISO 14229) requests carried over ISO-TP, either through an ELM327-type
// adapter on a serial port (elm327.go) or directly on a SocketCAN bus
// (package isotpcan). It decodes mode 01 PIDs, trouble codes (SAE J2012),
// the VIN, UDS ReadDataByIdentifier and ReadDTCInformation answers, and
// manufacturer PIDs described by OBDb signalsets (signalset.go), and it
// schedules polling so that a sleeping car is never kept awake (poller.go).
//
// This package has no cgo and no OS-specific code; the serial port is opened
// through github.com/tarm/serial.
package obd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Well-known identifiers (ISO 15765-4).
const (
	// FunctionalID is the 11-bit functional request id every OBD ECU listens to.
	FunctionalID = 0x7DF
	// FunctionalID29 is the 29-bit functional request id.
	FunctionalID29 = 0x18DB33F1
)

// Request is one diagnostic request.
type Request struct {
	// TxID is the CAN id the request is sent with: 0x7DF (functional) or
	// 0x7E0.. (physical) for 11-bit, 0x18DB33F1 or 0x18DAxxF1 for 29-bit.
	TxID uint32
	// RxID is the id of the answer to wait for. 0 accepts any answer
	// (functional requests: 0x7E8-0x7EF, or 0x18DAF1xx for 29-bit).
	RxID uint32
	// Extended marks 29-bit ids.
	Extended bool
	// ExtAddr enables ISO 15765-2 extended addressing: TxExtAddr is the
	// first byte of every request frame, answers carry RxExtAddr there.
	ExtAddr   bool
	TxExtAddr byte
	RxExtAddr byte
	// Data is the service id and its parameters (the ISO-TP payload).
	Data []byte
	// Timeout bounds the wait for answers (0: the transport's default).
	Timeout time.Duration
	// FlowControl asks the transport to send flow-control frames itself
	// with the request id (OBDb "fc=1"); adapters otherwise use their
	// automatic flow control.
	FlowControl bool
}

// Functional reports whether the request goes to all ECUs.
func (r *Request) Functional() bool {
	return r.RxID == 0 && (r.TxID == FunctionalID || r.TxID == FunctionalID29)
}

func (r *Request) String() string {
	id := fmt.Sprintf("%03X", r.TxID)
	if r.Extended {
		id = fmt.Sprintf("%08X", r.TxID)
	}
	return fmt.Sprintf("%s % X", id, r.Data)
}

// Response is one complete answer from one ECU.
type Response struct {
	// ID is the CAN id the answer came with (0 when the adapter does not
	// show headers).
	ID uint32
	// ExtAddr is the extended address byte, with extended addressing.
	ExtAddr byte
	// Data is the reassembled ISO-TP payload: the response service id
	// (request + 0x40, or 0x7F) and its parameters.
	Data []byte
}

// Transport sends requests and collects answers. Implementations: *ELM327
// (serial adapters) and isotpcan.Transport (SocketCAN).
type Transport interface {
	// Do sends req and returns every complete answer received before the
	// timeout, or until the one expected ECU has answered. A negative
	// "response pending" answer (0x7F xx 0x78) extends the wait and is not
	// returned when the real answer follows. No answer is ErrNoData.
	Do(ctx context.Context, req Request) ([]Response, error)
	Close() error
}

// Errors shared by transports.
var (
	// ErrNoData: no ECU answered (ELM327 "NO DATA").
	ErrNoData = errors.New("obd: no data")
	// ErrUnableToConnect: the adapter found no OBD protocol on the car
	// (ELM327 "UNABLE TO CONNECT"), typically because the car sleeps.
	ErrUnableToConnect = errors.New("obd: unable to connect to the vehicle")
	// ErrBus: the bus reported an error (ELM327 "CAN ERROR", "BUS ERROR").
	ErrBus = errors.New("obd: bus error")
	// ErrAdapter: the adapter is gone or answers nonsense.
	ErrAdapter = errors.New("obd: adapter error")
	// ErrTimeout: the adapter did not finish its answer in time.
	ErrTimeout = errors.New("obd: timeout")
	// ErrClosed: the transport was closed.
	ErrClosed = errors.New("obd: closed")
)

// NegativeResponse is a UDS/OBD negative answer (0x7F sid nrc).
type NegativeResponse struct {
	Service byte
	Code    byte
	ECU     uint32
}

func (e *NegativeResponse) Error() string {
	return fmt.Sprintf("obd: ECU %03X refused service 0x%02X: %s (0x%02X)", e.ECU, e.Service, NRCName(e.Code), e.Code)
}

// NRC codes (ISO 14229-1 table A.1) that the code treats specially.
const (
	NRCResponsePending = 0x78
)

var nrcNames = map[byte]string{
	0x10: "general reject",
	0x11: "service not supported",
	0x12: "sub-function not supported",
	0x13: "incorrect message length or invalid format",
	0x14: "response too long",
	0x21: "busy, repeat request",
	0x22: "conditions not correct",
	0x24: "request sequence error",
	0x25: "no response from sub-net component",
	0x26: "failure prevents execution of requested action",
	0x31: "request out of range",
	0x33: "security access denied",
	0x35: "invalid key",
	0x36: "exceeded number of attempts",
	0x37: "required time delay not expired",
	0x70: "upload/download not accepted",
	0x71: "transfer data suspended",
	0x72: "general programming failure",
	0x73: "wrong block sequence counter",
	0x78: "request correctly received, response pending",
	0x7E: "sub-function not supported in active session",
	0x7F: "service not supported in active session",
	0x81: "rpm too high",
	0x82: "rpm too low",
	0x83: "engine is running",
	0x84: "engine is not running",
	0x85: "engine run time too low",
	0x86: "temperature too high",
	0x87: "temperature too low",
	0x88: "vehicle speed too high",
	0x89: "vehicle speed too low",
	0x8A: "throttle/pedal too high",
	0x8B: "throttle/pedal too low",
	0x8C: "transmission range not in neutral",
	0x8D: "transmission range not in gear",
	0x8F: "brake switch(es) not closed",
	0x90: "shifter lever not in park",
	0x91: "torque converter clutch locked",
	0x92: "voltage too high",
	0x93: "voltage too low",
}

// NRCName names a negative response code.
func NRCName(code byte) string {
	if s, ok := nrcNames[code]; ok {
		return s
	}
	switch {
	case code >= 0x38 && code <= 0x4F:
		return "reserved by extended data link security"
	case code >= 0x94 && code <= 0xEF:
		return "reserved for specific conditions not correct"
	case code >= 0xF0 && code <= 0xFE:
		return "vehicle manufacturer specific conditions not correct"
	}
	return "unknown negative response"
}

// IsPending reports whether a response is "response pending" (0x7F xx 0x78).
func (r *Response) IsPending() bool {
	return len(r.Data) >= 3 && r.Data[0] == 0x7F && r.Data[2] == NRCResponsePending
}

// Negative returns the negative response carried by r, or nil.
func (r *Response) Negative() *NegativeResponse {
	if len(r.Data) >= 3 && r.Data[0] == 0x7F {
		return &NegativeResponse{Service: r.Data[1], Code: r.Data[2], ECU: r.ID}
	}
	return nil
}

// ResponseID returns the usual physical response id for a physical request
// id: 0x7E0-0x7E7 -> +8; 0x18DAxxyy -> 0x18DAyyxx. Other 11-bit ids follow
// the common manufacturer convention of +8.
func ResponseID(tx uint32, extended bool) uint32 {
	if extended {
		if tx&0xFFFF0000 == 0x18DA0000 {
			return 0x18DA0000 | (tx&0xFF)<<8 | (tx>>8)&0xFF
		}
		return 0
	}
	if tx == FunctionalID {
		return 0
	}
	return tx + 8
}
