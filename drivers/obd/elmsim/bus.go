package elmsim

import (
	"fmt"
	"iter"
	"time"

	"github.com/evedge/evedge/drivers/obd/isotp"
)

// Frame is one classical CAN frame on the simulated bus.
type Frame struct {
	ID uint32
	// Extended marks a 29-bit identifier.
	Extended bool
	// Data is 0 to 8 bytes.
	Data []byte
}

func (f Frame) String() string {
	if f.Extended {
		return fmt.Sprintf("%08X % X", f.ID, f.Data)
	}
	return fmt.Sprintf("%03X % X", f.ID, f.Data)
}

// ECU is one electronic control unit: given a request payload (service id and
// parameters, already reassembled from ISO-TP) it returns the answer payloads
// in order, e.g. a "7F 22 78" response-pending answer followed by the real
// one. nil means no answer. Handle may be called from several adapter
// sessions at once.
type ECU interface {
	Handle(req []byte) [][]byte
}

// ECUFunc adapts a function to the ECU interface.
type ECUFunc func(req []byte) [][]byte

// Handle calls f.
func (f ECUFunc) Handle(req []byte) [][]byte { return f(req) }

// FrameAnswerer is implemented by ECUs that answer with recorded CAN frames
// (PCI, padding and id exactly as recorded) instead of payloads. When
// AnswerFrames returns ok, the bus sends those frames (still waiting for the
// adapter's flow control after a first frame); otherwise Handle is used.
type FrameAnswerer interface {
	AnswerFrames(req []byte) (frames []Frame, ok bool)
}

// Node places an ECU on the bus.
type Node struct {
	// Name is for error messages and tests.
	Name string
	ECU  ECU
	// ReqID is the physical request id the ECU listens to (0x7E0,
	// 0x18DA10F1) and RespID the id it answers with (0x7E8, 0x18DAF110).
	// Ids above 0x7FF make the node a 29-bit one.
	ReqID, RespID uint32
	// OBD nodes also answer functional requests (0x7DF, 0x18DB33F1).
	OBD bool
	// ExtAddr enables ISO 15765-2 extended addressing: requests must carry
	// ReqAddr as their first data byte (ELM327 "AT CEA hh"), answers carry
	// RespAddr there (the tester address, usually 0xF1).
	ExtAddr  bool
	ReqAddr  byte
	RespAddr byte
	// PadByte fills answer frames up to 8 bytes (ISO 15765-4 asks for
	// padding; cars use 0x00, 0x55 or 0xAA). NoPad sends short frames.
	PadByte byte
	NoPad   bool
}

func (n *Node) extended() bool { return n.ReqID > 0x7FF || n.RespID > 0x7FF }

func (n *Node) frameOptions() isotp.FrameOptions {
	return isotp.FrameOptions{ExtAddr: n.ExtAddr, Addr: n.RespAddr, Pad: !n.NoPad, PadByte: n.PadByte}
}

// Car is the simulated vehicle: its ECUs and its bus.
type Car struct {
	// Nodes are the ECUs. Several nodes may listen to the same request id:
	// each gets the request, which is a way to layer a TranscriptECU over
	// a generic one (answer only what the other does not).
	Nodes []Node
	// Awake reports whether the car's buses are up; nil means always. A
	// sleeping car acknowledges nothing: the adapter prints
	// "SEARCHING...", "UNABLE TO CONNECT" while searching for a protocol,
	// AsleepReply otherwise.
	Awake func() bool
	// AsleepReply is what a request to a sleeping car prints once the
	// protocol is set: "NO DATA" (default) or "CAN ERROR" (the adapter
	// sees no acknowledgement, as most do on a dead bus).
	AsleepReply string
	// Bitrate of the bus in kbit/s: 500 (default) or 250. Protocols with
	// another bitrate get "CAN ERROR".
	Bitrate int
	// BatteryVolts is what ATRV reads; nil means 12.6 V.
	BatteryVolts func() float64
	// Traffic is what AT MA prints: frames broadcast on the bus, one every
	// TrafficInterval (default 10 ms). It is iterated afresh by each ATMA;
	// when it ends the adapter keeps monitoring silently. See Loop.
	Traffic         iter.Seq[Frame]
	TrafficInterval time.Duration
}

// NewCar returns a car with these nodes.
func NewCar(nodes ...Node) *Car { return &Car{Nodes: nodes} }

func (c *Car) awake() bool { return c.Awake == nil || c.Awake() }

func (c *Car) bitrate() int {
	if c.Bitrate == 0 {
		return 500
	}
	return c.Bitrate
}

func (c *Car) asleepReply() string {
	if c.AsleepReply == "" {
		return "NO DATA"
	}
	return c.AsleepReply
}

// Loop returns a traffic source that repeats frames forever.
func Loop(frames ...Frame) iter.Seq[Frame] {
	return func(yield func(Frame) bool) {
		if len(frames) == 0 {
			return
		}
		for {
			for _, f := range frames {
				if !yield(f) {
					return
				}
			}
		}
	}
}

const (
	functional11 = 0x7DF
	// 29-bit functional ids are 18 DB 33 tt (tt: tester address).
	functional29Mask = 0x1FFFFF00
	functional29     = 0x18DB3300
)

func isFunctional(f Frame) bool {
	if f.Extended {
		return f.ID&functional29Mask == functional29
	}
	return f.ID == functional11
}

// nodeState is the bus-side state of one node during an adapter session:
// its ISO-TP receiver and the frames it still has to send.
type nodeState struct {
	node  *Node
	ext29 bool
	rx    isotp.Reassembler
	out   []outFrame
	ready time.Duration // bus time at which it sent its last frame
	// blocked: a first frame (or a full block) was sent, waiting for flow
	// control.
	blocked   bool
	blockLeft int // consecutive frames left in this block, -1 unlimited
	stmin     time.Duration
}

type outFrame struct {
	f      Frame
	delay  time.Duration // after the node's previous frame
	first  bool          // an ISO-TP first frame: wait for flow control
	consec bool          // a consecutive frame: block size and STmin apply
}

func (ns *nodeState) listens(f Frame) bool {
	if f.Extended != ns.ext29 {
		return false
	}
	return f.ID == ns.node.ReqID || ns.node.OBD && isFunctional(f)
}

// timedFrame is a frame the adapter received, at a time on the bus clock
// that starts when the request is sent.
type timedFrame struct {
	Frame
	at time.Duration
}

// busTiming is the part of Timing the bus needs.
type busTiming struct {
	answer, pending, frame time.Duration
}

// deliver hands a frame sent by the adapter at bus time t to a node.
func (ns *nodeState) deliver(f Frame, t time.Duration, tm busTiming) {
	data := f.Data
	if ns.node.ExtAddr {
		if len(data) == 0 || data[0] != ns.node.ReqAddr {
			return
		}
		data = data[1:]
	}
	pci, _, err := isotp.Parse(data)
	if err != nil {
		return
	}
	if pci.Type == isotp.FlowControl {
		if !ns.blocked {
			return
		}
		switch pci.Status {
		case isotp.ContinueToSend:
			ns.blocked = false
			ns.blockLeft = -1
			if pci.BlockSize > 0 {
				ns.blockLeft = int(pci.BlockSize)
			}
			ns.stmin = isotp.STmin(pci.STmin)
			ns.ready = max(ns.ready, t)
		case isotp.Overflow:
			ns.out, ns.blocked = nil, false
		}
		return
	}
	res, err := ns.rx.Feed(data)
	if err != nil {
		return
	}
	if res.First {
		// The ECU accepts the segmented request: flow control, send all.
		fc := isotp.FlowControlFrame(isotp.ContinueToSend, 0, 0, ns.node.frameOptions())
		ns.out = []outFrame{{f: Frame{ID: ns.node.RespID, Extended: ns.ext29, Data: fc}}}
		ns.blocked, ns.ready = false, t
		return
	}
	if res.Payload == nil {
		return
	}
	// A new request abandons an answer in progress.
	ns.out, ns.blocked, ns.ready = nil, false, t
	ns.answer(res.Payload, tm)
}

// answer queues the ECU's answer to payload.
func (ns *nodeState) answer(payload []byte, tm busTiming) {
	if fa, ok := ns.node.ECU.(FrameAnswerer); ok {
		if frames, ok := fa.AnswerFrames(payload); ok {
			for i, f := range frames {
				of := outFrame{f: f, delay: tm.frame}
				if i == 0 {
					of.delay = tm.answer
				}
				data := f.Data
				if ns.node.ExtAddr && len(data) > 0 {
					data = data[1:]
				}
				if len(data) > 0 {
					of.first = data[0]>>4 == byte(isotp.First)
					of.consec = data[0]>>4 == byte(isotp.Consecutive)
				}
				ns.out = append(ns.out, of)
			}
			return
		}
	}
	msgs := ns.node.ECU.Handle(payload)
	for i, m := range msgs {
		frames, err := isotp.Segment(m, ns.node.frameOptions())
		if err != nil {
			continue
		}
		delay := tm.answer
		if i > 0 {
			delay = tm.frame
			if isPending(msgs[i-1]) {
				delay = tm.pending
			}
		}
		for j, d := range frames {
			of := outFrame{f: Frame{ID: ns.node.RespID, Extended: ns.ext29, Data: d}, delay: tm.frame}
			if j == 0 {
				of.delay = delay
				of.first = len(frames) > 1
			} else {
				of.consec = true
			}
			ns.out = append(ns.out, of)
		}
	}
}

// isPending reports a negative "response pending" answer (7F xx 78).
func isPending(p []byte) bool { return len(p) == 3 && p[0] == 0x7F && p[2] == 0x78 }

// next picks the node whose next frame comes first on the bus (ties: node
// order) and the time it is sent.
func nextSender(nodes []*nodeState) (*nodeState, time.Duration) {
	var best *nodeState
	var bt time.Duration
	for _, ns := range nodes {
		if ns.blocked || len(ns.out) == 0 {
			continue
		}
		of := ns.out[0]
		d := of.delay
		if of.consec {
			d = max(d, ns.stmin)
		}
		t := ns.ready + d
		if best == nil || t < bt {
			best, bt = ns, t
		}
	}
	return best, bt
}

// pop removes the sender's next frame and updates its flow-control state.
func (ns *nodeState) pop(t time.Duration) outFrame {
	of := ns.out[0]
	ns.out = ns.out[1:]
	ns.ready = t
	if of.first {
		ns.blocked = true
	}
	if of.consec && ns.blockLeft > 0 {
		ns.blockLeft--
		if ns.blockLeft == 0 && len(ns.out) > 0 && ns.out[0].consec {
			ns.blocked = true
		}
	}
	return of
}
