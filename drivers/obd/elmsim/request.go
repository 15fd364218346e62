package elmsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/evedge/evedge/drivers/obd/isotp"
)

// pendingWait is how long the adapter keeps listening after a "response
// pending" answer (ISO 15765-4 P2*max: 5 s).
const pendingWait = 5 * time.Second

// Bounds of one request on the bus. A flow control that is itself a
// request (ATFCSD 02 09 02) makes an ECU answer forever; the adapter's
// memory fills up. Approximation: after maxShown received frames it prints
// BUFFER FULL.
const (
	maxBusFrames = 4096
	maxShown     = 1024
)

// minFrameTime is the bus time of one CAN frame for the BUFFER FULL model
// (8 data bytes at 500 kbit/s, with stuffing).
const minFrameTime = 250 * time.Microsecond

func is29(p byte) bool { return p == 7 || p == 9 || p == 10 }

func protoBitrate(p byte) int {
	switch p {
	case 6, 7:
		return 500
	case 8, 9, 10:
		return 250
	case 11:
		return 125
	case 12:
		return 50
	}
	return 0
}

// request handles a line of hex digits: an OBD request.
func (ss *session) request(cmd string) error {
	if strings.Trim(cmd, "0123456789ABCDEF") != "" {
		return ss.reply("?")
	}
	// An odd digit at the end is the number of answers to wait for.
	limit := 0
	if len(cmd)%2 == 1 {
		if len(cmd) < 3 || cmd[len(cmd)-1] == '0' {
			return ss.reply("?")
		}
		n, _ := strconv.ParseUint(cmd[len(cmd)-1:], 16, 8)
		limit = int(n)
		cmd = cmd[:len(cmd)-1]
	}
	data, _ := parseBytes(cmd)
	capacity := 8
	if ss.set.caf {
		capacity = 7 // the PCI byte
	}
	if ss.set.cea >= 0 {
		capacity--
	}
	if len(data) == 0 || len(data) > capacity {
		return ss.reply("?")
	}
	f := ss.sim.Faults()
	if f.CANError {
		return ss.reply("CAN ERROR")
	}

	p := ss.current()
	if ss.proto.auto && ss.detected == 0 {
		// Approximation: a setting "A6" (automatic starting with 6) tries
		// 6 quietly first; "SEARCHING..." is printed when a real search
		// starts, before its delay.
		if p >= 6 && p <= 9 && ss.car.awake() && ss.protocolWorks(p) {
			ss.detected = p
		} else {
			if err := ss.printLine("SEARCHING..."); err != nil {
				return err
			}
			if ss.wait(ss.sim.Timing.Search) {
				return ss.stopped()
			}
			found := byte(0)
			if ss.car.awake() {
				for _, q := range []byte{6, 8, 7, 9} {
					if ss.protocolWorks(q) {
						found = q
						break
					}
				}
			}
			if found == 0 {
				return ss.reply("UNABLE TO CONNECT")
			}
			ss.detected = found
		}
		p = ss.detected
	}
	switch {
	case p == 1 || p == 2:
		return ss.reply("NO DATA")
	case p >= 3 && p <= 5:
		return ss.reply("BUS INIT: ...ERROR")
	}
	if !ss.car.awake() {
		reply := ss.car.asleepReply()
		if ss.proto.auto {
			// Approximation: an automatic adapter that loses the car
			// searches again at the next request.
			ss.detected = 0
		}
		if ss.sim.Timing.WaitTimeout && reply == "NO DATA" && ss.wait(ss.timeout()) {
			return ss.stopped()
		}
		return ss.reply(reply)
	}
	if protoBitrate(p) != ss.car.bitrate() {
		if ss.proto.auto {
			ss.detected = 0
		}
		return ss.reply("CAN ERROR")
	}
	req := ss.requestFrame(p, data)
	shown, full := ss.transact(req, limit)
	return ss.printAnswer(shown, full)
}

// protocolWorks reports whether a search probe on protocol p gets an
// answer: the bitrate matches and an OBD node of that id width exists.
// Approximation: the search does not run the ECUs (they would see an extra
// 01 00); it checks that one would answer.
func (ss *session) protocolWorks(p byte) bool {
	if protoBitrate(p) != ss.car.bitrate() {
		return false
	}
	for _, ns := range ss.nodes {
		if ns.ext29 == is29(p) && ns.node.OBD {
			return true
		}
	}
	// A car without OBD nodes: anything answering the current header.
	id := ss.requestID(p)
	for _, ns := range ss.nodes {
		if ns.ext29 == is29(p) && ns.node.ReqID == id {
			return true
		}
	}
	return false
}

// requestID is the CAN id requests are sent with.
func (ss *session) requestID(p byte) uint32 {
	st := &ss.set
	if !is29(p) {
		if !st.headerSet {
			return functional11
		}
		return st.header & 0x7FF
	}
	if !st.headerSet {
		return uint32(st.priority)<<24 | 0xDB3300 | uint32(st.tester)
	}
	if st.header29 {
		return st.header & 0x1FFFFFFF
	}
	return uint32(st.priority)<<24 | st.header&0xFFFFFF
}

// requestFrame builds the frame the adapter sends: with CAN auto
// formatting a single frame with its PCI byte, without it the bytes as
// given; padded to 8 bytes with 00, preceded by the CEA byte if set.
func (ss *session) requestFrame(p byte, data []byte) Frame {
	d := make([]byte, 0, 8)
	if ss.set.cea >= 0 {
		d = append(d, byte(ss.set.cea))
	}
	if ss.set.caf {
		d = append(d, byte(len(data)))
	}
	d = append(d, data...)
	for len(d) < 8 {
		d = append(d, 0)
	}
	return Frame{ID: ss.requestID(p), Extended: is29(p), Data: d}
}

func (ss *session) timeout() time.Duration {
	return time.Duration(ss.set.timeout) * 4 * time.Millisecond
}

// accept is the adapter's receive filter.
func (ss *session) accept(f Frame, monitor bool) bool {
	st := &ss.set
	if st.cea >= 0 && (len(f.Data) == 0 || f.Data[0] != st.tester) {
		return false
	}
	switch {
	case st.cra != "":
		id := formatID(f.ID, f.Extended, false)
		if len(id) != len(st.cra) {
			return false
		}
		for i := range id {
			if st.cra[i] != 'X' && st.cra[i] != id[i] {
				return false
			}
		}
		return true
	case st.filterSet || st.maskSet:
		mask := st.mask
		if !st.maskSet {
			mask = 0x1FFFFFFF
		}
		if !f.Extended {
			mask &= 0x7FF
		}
		return f.ID&mask == st.filter&mask
	case monitor || ss.sim.AcceptAllIDs:
		return true
	case f.Extended:
		return f.ID&0x1FFFFF00 == 0x18DA0000|uint32(st.tester)<<8
	default:
		return f.ID >= 0x7E8 && f.ID <= 0x7EF
	}
}

// flowControl is the frame the adapter sends after receiving a first frame.
func (ss *session) flowControl(rx Frame) Frame {
	st := &ss.set
	id := rx.ID - 8
	if rx.Extended {
		id = rx.ID&0x1FFF0000 | (rx.ID&0xFF)<<8 | (rx.ID>>8)&0xFF
	}
	if st.fcMode == 1 && st.fcHeaderSet {
		id = st.fcHeader
		if !rx.Extended {
			id &= 0x7FF
		} else if id <= 0xFFFFFF {
			id |= uint32(st.priority) << 24
		}
	}
	body := []byte{0x30, 0x00, 0x00}
	if st.fcMode != 0 && len(st.fcData) > 0 {
		body = st.fcData
	}
	d := make([]byte, 0, 8)
	if st.cea >= 0 {
		d = append(d, byte(st.cea))
	}
	d = append(d, body...)
	for len(d) < 8 {
		d = append(d, 0)
	}
	return Frame{ID: id, Extended: rx.Extended, Data: d}
}

// transact sends req on the bus and returns the frames the adapter shows,
// with their bus times. limit > 0 stops after that many answers.
// full reports that the adapter's memory overflowed.
func (ss *session) transact(req Frame, limit int) (shown []timedFrame, full bool) {
	tm := busTiming{answer: ss.sim.Timing.Answer, pending: ss.sim.Timing.Pending, frame: ss.sim.Timing.Frame}
	for _, ns := range ss.nodes {
		if ns.listens(req) {
			ns.deliver(req, 0, tm)
		}
	}
	var last time.Duration
	wait := ss.timeout()
	popped := 0
	left := map[uint32]int{} // multi-frame bytes still expected, per sender
	answers := 0
	for {
		ns, t := nextSender(ss.nodes)
		if ns == nil {
			break
		}
		if t-last > wait {
			break // the adapter stopped listening
		}
		if popped++; popped > maxBusFrames || len(shown) >= maxShown {
			full = len(shown) >= maxShown
			break
		}
		of := ns.pop(t)
		f := of.f
		if !ss.accept(f, false) {
			continue
		}
		last = t
		shown = append(shown, timedFrame{Frame: f, at: t})
		data := f.Data
		if ss.set.cea >= 0 && len(data) > 0 {
			data = data[1:]
		}
		pci, body, err := isotp.Parse(data)
		if err != nil {
			continue
		}
		wait = ss.timeout()
		switch pci.Type {
		case isotp.Single:
			answers++
			if isPending(body) {
				wait = pendingWait
			}
		case isotp.First:
			left[f.ID] = pci.Len - len(body)
			if ss.set.cfc {
				fc := ss.flowControl(f)
				for _, other := range ss.nodes {
					if other.listens(fc) {
						other.deliver(fc, t, tm)
					}
				}
			}
		case isotp.Consecutive:
			if n, ok := left[f.ID]; ok {
				n -= len(body)
				left[f.ID] = n
				if n <= 0 {
					delete(left, f.ID)
					answers++
				}
			}
		}
		if limit > 0 && answers >= limit {
			break
		}
	}
	// Frames sent after the adapter stopped listening are lost; a node
	// still waiting for flow control keeps waiting (a client may send it
	// by hand with CAF0). The bus clock restarts with the next request.
	for _, ns := range ss.nodes {
		if !ns.blocked {
			ns.out = nil
		}
		ns.ready = 0
	}
	return shown, full
}

// printAnswer prints the frames the adapter received, with the timing of
// the bus, the serial line and the faults, and the prompt.
func (ss *session) printAnswer(shown []timedFrame, full bool) error {
	if !ss.set.responses {
		return ss.prompt()
	}
	start := time.Now()
	sleepUntil := func(at time.Duration) bool {
		return ss.wait(at - time.Since(start))
	}
	fm := newFormatter(ss)
	var lines [][]string
	count := 0
	for _, tf := range shown {
		ls := fm.format(tf.Frame)
		lines = append(lines, ls)
		count += len(ls)
	}
	if count == 0 {
		if ss.sim.Timing.WaitTimeout && sleepUntil(ss.timeout()) {
			return ss.stopped()
		}
		return ss.reply("NO DATA")
	}
	f := ss.sim.Faults()
	if f.DropMidAnswer {
		var all strings.Builder
		for _, ls := range lines {
			for _, l := range ls {
				all.WriteString(l + ss.eol())
			}
		}
		s := all.String()
		if err := ss.write([]byte(s[:max(1, len(s)/2)])); err != nil {
			return err
		}
		return ErrDropped
	}
	// BUFFER FULL model: bytes queue in the adapter's buffer as frames
	// arrive and drain at the line speed.
	queued, drainedAt := 0.0, time.Duration(0)
	rate := float64(ss.sim.Timing.Baud) / 10 / float64(time.Second) // bytes per ns
	for i, tf := range shown {
		if sleepUntil(tf.at) {
			return ss.stopped()
		}
		if f.BufferFull && i > 0 {
			return ss.reply("BUFFER FULL")
		}
		if rate > 0 {
			at := max(tf.at, time.Duration(i)*minFrameTime)
			queued = max(0, queued-float64(at-drainedAt)*rate)
			drainedAt = at
			for _, l := range lines[i] {
				queued += float64(len(l) + len(ss.eol()))
			}
			if queued > txBuffer {
				return ss.reply("BUFFER FULL")
			}
		}
		for _, l := range lines[i] {
			if ss.interrupted() {
				return ss.stopped()
			}
			if err := ss.printLine(l); err != nil {
				return err
			}
		}
	}
	if full {
		return ss.reply("BUFFER FULL")
	}
	if ss.sim.Timing.WaitTimeout {
		if sleepUntil(shown[len(shown)-1].at + ss.timeout()) {
			return ss.stopped()
		}
	}
	return ss.prompt()
}

// monitor runs AT MA: print every frame on the bus until a character is
// received.
func (ss *session) monitor() error {
	if ss.proto.auto && ss.detected == 0 {
		if err := ss.printLine("SEARCHING..."); err != nil {
			return err
		}
		if ss.wait(ss.sim.Timing.Search) {
			return ss.stopped()
		}
		for _, q := range []byte{6, 8, 7, 9} {
			if ss.car.awake() && ss.protocolWorks(q) {
				ss.detected = q
				break
			}
		}
		if ss.detected == 0 {
			return ss.reply("UNABLE TO CONNECT")
		}
	}
	p := ss.current()
	if ss.car.Traffic != nil && ss.car.awake() && protoBitrate(p) == ss.car.bitrate() {
		interval := ss.car.TrafficInterval
		if interval <= 0 {
			interval = 10 * time.Millisecond
		}
		fm := newFormatter(ss)
		for f := range ss.car.Traffic {
			if ss.interrupted() {
				return ss.stopped()
			}
			if f.Extended == is29(p) && ss.accept(f, true) {
				if err := ss.printLine(fm.monitorLine(f)); err != nil {
					return err
				}
			}
			if ss.wait(interval) {
				return ss.stopped()
			}
			if ss.eof {
				return ss.reply("STOPPED")
			}
		}
	}
	ss.waitInput()
	return ss.stopped()
}

// formatter prints received frames as the adapter does.
type formatter struct {
	ss   *session
	left map[uint32]int // multi-frame bytes still expected, per sender
}

func newFormatter(ss *session) *formatter { return &formatter{ss: ss, left: map[uint32]int{}} }

func formatID(id uint32, ext, spaces bool) string {
	if !ext {
		return fmt.Sprintf("%03X", id&0x7FF)
	}
	if spaces {
		return fmt.Sprintf("%02X %02X %02X %02X", byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	}
	return fmt.Sprintf("%08X", id&0x1FFFFFFF)
}

func (fm *formatter) hex(b []byte) string {
	sep := ""
	if fm.ss.set.spaces {
		sep = " "
	}
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteString(sep)
		}
		fmt.Fprintf(&s, "%02X", c)
	}
	return s.String()
}

// raw prints a frame as received: header (with ATH1), length (with ATD1),
// every data byte.
func (fm *formatter) raw(f Frame, header bool) string {
	var parts []string
	if header {
		parts = append(parts, formatID(f.ID, f.Extended, fm.ss.set.spaces))
	}
	if fm.ss.set.dlc {
		parts = append(parts, fmt.Sprintf("%X", len(f.Data)))
	}
	if len(f.Data) > 0 {
		parts = append(parts, fm.hex(f.Data))
	}
	sep := ""
	if fm.ss.set.spaces {
		sep = " "
	}
	return strings.Join(parts, sep)
}

// format returns the lines one received frame prints: with headers or
// without auto formatting the frame as received; otherwise the ISO-TP
// payload (single frames), or the length line and "0:" for a first frame
// and "n:" lines for consecutive frames. Frames with an invalid PCI are
// not shown (ELM327 v1.2 and later).
func (fm *formatter) format(f Frame) []string {
	st := &fm.ss.set
	if st.headers || !st.caf {
		return []string{fm.raw(f, st.headers)}
	}
	data := f.Data
	if st.cea >= 0 && len(data) > 0 {
		data = data[1:]
	}
	pci, body, err := isotp.Parse(data)
	if err != nil {
		return nil
	}
	sep := ""
	if st.spaces {
		sep = " "
	}
	switch pci.Type {
	case isotp.Single:
		return []string{fm.hex(body)}
	case isotp.First:
		fm.left[f.ID] = pci.Len - len(body)
		return []string{fmt.Sprintf("%03X", pci.Len), "0:" + sep + fm.hex(body)}
	case isotp.Consecutive:
		n, ok := fm.left[f.ID]
		if !ok {
			return nil
		}
		if len(body) > n {
			body = body[:n]
		}
		n -= len(body)
		if n <= 0 {
			delete(fm.left, f.ID)
		} else {
			fm.left[f.ID] = n
		}
		return []string{fmt.Sprintf("%X:", pci.SN) + sep + fm.hex(body)}
	}
	return nil // flow control frames are not shown with CAF1
}

// monitorLine prints a frame seen by AT MA. Approximation: with ATH1 or
// CAF0 the frame is printed as received; with CAF1 and headers off a valid
// single frame shows its payload and anything else its bytes followed by
// "<DATA ERROR" (the ELM327 marks invalid PCI bytes so while monitoring).
func (fm *formatter) monitorLine(f Frame) string {
	st := &fm.ss.set
	if st.headers || !st.caf {
		return fm.raw(f, st.headers)
	}
	if len(f.Data) > 0 && f.Data[0]>>4 == 0 {
		if n := int(f.Data[0]); n > 0 && n < len(f.Data) {
			return fm.hex(f.Data[1 : 1+n])
		}
	}
	sep := ""
	if st.spaces {
		sep = " "
	}
	return fm.hex(f.Data) + sep + "<DATA ERROR"
}
