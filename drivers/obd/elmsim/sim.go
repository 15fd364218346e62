package elmsim

import (
	"errors"
	"io"
	"sync"
	"time"
)

// Sim is one simulated ELM327 adapter plugged into a Car. Set the exported
// fields before serving; change faults while serving with SetFaults. One Sim
// may serve several sessions (each Serve call is a fresh power-up of the
// chip, sharing the Car and the adapter's stored protocol).
type Sim struct {
	Car *Car
	// Version is what ATZ and ATI print (default "ELM327 v1.5").
	Version string
	// Device is what AT@1 prints (default "OBDII to RS232 Interpreter").
	Device string
	// Timing of the adapter and the car; the zero value answers at once.
	Timing Timing
	// AcceptAllIDs makes automatic receive (no ATCRA/ATCF) show answers
	// from any id. By default, as the ELM327 does, it accepts 11-bit ids
	// 7E8-7EF and 29-bit ids 18 DA tt xx (tt: tester address, F1), so an
	// answer from 7A8 needs "AT CRA 7A8" (or CF/CM) to be seen.
	AcceptAllIDs bool

	mu     sync.Mutex
	faults Faults
	// stored is the protocol kept in the chip's memory by ATSP (ELM327
	// "AT M1", the default): ATZ and ATD come back to it.
	stored    protoSel
	storedSet bool
}

// Timing of the simulation. Delays run on the real clock; the adapter
// timeout (ATST) is applied to them as the chip does: an ECU slower than
// the timeout gets NO DATA.
type Timing struct {
	// Answer is an ECU's reaction time before its first frame.
	Answer time.Duration
	// Pending is the time between a "response pending" (7F xx 78) answer
	// and the next one.
	Pending time.Duration
	// Frame is the gap between two frames of one ECU (at least the STmin
	// of the adapter's flow control). With a gap, answers of several ECUs
	// interleave; without, they follow each other in node order.
	Frame time.Duration
	// Search is how long an automatic protocol search takes before its
	// result (real adapters: 1-6 s).
	Search time.Duration
	// Reset is how long ATZ and ATWS take (real: about 1 s).
	Reset time.Duration
	// WaitTimeout makes the adapter wait the ATST timeout after the last
	// frame for more answers before the prompt, and before NO DATA, as
	// the chip does (unless a response count digit ends the wait early).
	WaitTimeout bool
	// Baud paces the output like a serial line at this speed (0: no
	// pacing) and drives the BUFFER FULL model: frames arrive from the bus
	// faster than a slow line prints them, and the adapter's 256-byte
	// buffer overflows.
	Baud int
}

// RealisticTiming is the timing of a common clone at 38400 baud on a car
// whose ECUs answer in 10-20 ms.
func RealisticTiming() Timing {
	return Timing{
		Answer:      15 * time.Millisecond,
		Pending:     100 * time.Millisecond,
		Frame:       time.Millisecond,
		Search:      1500 * time.Millisecond,
		Reset:       800 * time.Millisecond,
		WaitTimeout: true,
		Baud:        38400,
	}
}

// Faults injects adapter misbehaviour. The zero value is a healthy adapter.
type Faults struct {
	// Garbage is written before every answer (after the echo), like the
	// noise some clones emit.
	Garbage []byte
	// CANError answers every OBD request with "CAN ERROR".
	CANError bool
	// BufferFull cuts every answer of more than one frame after its
	// first frame with "BUFFER FULL" (see Timing.Baud for the realistic
	// model).
	BufferFull bool
	// Unknown answers "?" to everything.
	Unknown bool
	// Silent: the adapter reads and never answers, not even a prompt.
	Silent bool
	// DropMidAnswer writes half of the next OBD answer and closes the
	// connection (Serve returns ErrDropped; a PTY is unplugged).
	DropMidAnswer bool
	// SplitWrites writes the output in pieces of this many bytes, 1 ms
	// apart, so that a reader sees partial lines.
	SplitWrites int
	// Delay is waited before every answer (a slow or busy adapter).
	Delay time.Duration
}

// ErrDropped is returned by Serve when the DropMidAnswer fault closed the
// connection.
var ErrDropped = errors.New("elmsim: connection dropped mid-answer")

// ErrNotSupported is returned where pseudo-terminals do not exist.
var ErrNotSupported = errors.New("elmsim: pseudo-terminals not supported on this system")

// New returns an adapter plugged into car.
func New(car *Car) *Sim {
	return &Sim{Car: car}
}

// SetFaults replaces the injected faults; sessions see the change at their
// next command.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the injected faults.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

func (s *Sim) storedProto() protoSel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.storedSet {
		return protoSel{num: 0, auto: true}
	}
	return s.stored
}

func (s *Sim) setStoredProto(p protoSel) {
	s.mu.Lock()
	s.stored, s.storedSet = p, true
	s.mu.Unlock()
}

func (s *Sim) version() string {
	if s.Version == "" {
		return "ELM327 v1.5"
	}
	return s.Version
}

func (s *Sim) device() string {
	if s.Device == "" {
		return "OBDII to RS232 Interpreter"
	}
	return s.Device
}

// Serve runs one adapter session on rw, from power-up until rw's input
// ends (io.EOF: nil is returned) or fails. When it returns for another
// reason (a write error, ErrDropped) it closes rw if rw is an io.Closer, so
// that its reading goroutine ends; with other readers that goroutine lives
// until the pending Read returns.
func (s *Sim) Serve(rw io.ReadWriter) error {
	car := s.Car
	if car == nil {
		car = &Car{}
	}
	in := make(chan []byte)
	done := make(chan struct{})
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(in)
		buf := make([]byte, 512)
		for {
			n, err := rw.Read(buf)
			if n > 0 {
				select {
				case in <- append([]byte(nil), buf[:n]...):
				case <-done:
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr <- err
				}
				return
			}
		}
	}()
	ss := newSession(s, car, rw, in)
	err := ss.run()
	close(done)
	if err != nil {
		if c, ok := rw.(io.Closer); ok {
			c.Close()
			wg.Wait()
		}
		return err
	}
	wg.Wait()
	select {
	case err := <-readErr:
		return err
	default:
		return nil
	}
}
