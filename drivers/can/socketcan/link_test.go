package socketcan

import (
	"bytes"
	"testing"
)

// canLinkAttrs builds what `ip link set can0 type can bitrate 500000
// listen-only on restart-ms 100` sends (checked against iproute2's
// request layout: nested IFLA_LINKINFO, kind "can", IFLA_INFO_DATA with
// can_bittiming, can_ctrlmode {mask, flags}, restart_ms).
func TestCANLinkAttrs(t *testing.T) {
	got := canLinkAttrs(LinkConfig{Bitrate: 500000, ListenOnly: true, RestartMs: 100})
	var want []byte
	bt := make([]byte, 32)
	ne.PutUint32(bt, 500000)
	data := attr(nil, iflaCANBittiming, bt)
	data = attr(data, iflaCANCtrlmode, append(u32(0x22), u32(0x02)...))
	data = attr(data, iflaCANRestartMs, u32(100))
	li := attr(attr(nil, iflaInfoKind, []byte("can")), iflaInfoData, data)
	want = attr(nil, iflaLinkinfo, li)
	if !bytes.Equal(got, want) {
		t.Fatalf("attrs\n got %x\nwant %x", got, want)
	}
	// Sizes: rtattr 4 + payload, padded: "can" is 3 bytes -> 8.
	if len(got) != 4+8+(4+(4+32)+(4+8)+(4+4)) {
		t.Fatalf("length %d", len(got))
	}
	if got[4] != 7 || got[6] != iflaInfoKind || string(got[8:11]) != "can" || got[11] != 0 {
		t.Fatalf("kind attribute %x", got[4:12])
	}
}

// A link message built by canLinkAttrs and answered as the kernel does
// parses back into the same configuration; the other CAN attributes
// (state, error counters, device statistics) are read too.
func TestParseLink(t *testing.T) {
	cfg := LinkConfig{Bitrate: 500000, RestartMs: 100, FD: true, DataBitrate: 2000000}
	attrs := attr(nil, iflaIfname, []byte("can1\x00"))
	li := canLinkAttrs(cfg)
	// Append state, berr counter and xstats into the reply's linkinfo.
	var extra []byte
	extra = attr(extra, iflaCANState, u32(uint32(StateErrorPassive)))
	extra = attr(extra, iflaCANBerrCounter, []byte{0x81, 0, 0x05, 0}) // native u16s on little-endian hosts
	var xs []byte
	for _, v := range []uint32{7, 3, 2, 1, 0, 1} {
		xs = append(xs, u32(v)...)
	}
	inner := li[4:] // IFLA_LINKINFO payload
	var data []byte
	_ = forAttrs(inner, func(typ uint16, p []byte) {
		if typ == iflaInfoData {
			data = append(append([]byte(nil), p...), extra...)
		}
	})
	li2 := attr(attr(attr(nil, iflaInfoKind, []byte("can\x00")), iflaInfoData, data), iflaInfoXstats, xs)
	attrs = attr(attrs, iflaLinkinfo|nlaFNested, li2)
	msg := linkMsg(rtmNewLink, 9, 4, iffUp|iffRunning, 0, attrs)
	ne.PutUint16(msg[nlmsgHdrLen+2:], arphrdCAN)
	body, done, errno, err := parseReply(msg, 9)
	if err != nil || done || errno != 0 {
		t.Fatalf("parseReply: %v %v %v", err, done, errno)
	}
	l, err := parseLink(body)
	if err != nil {
		t.Fatal(err)
	}
	want := Link{Name: "can1", Index: 4, Kind: "can", Up: true, Running: true, State: StateErrorPassive,
		Bitrate: 500000, DataBitrate: 2000000, FD: true, RestartMs: 100,
		TxErrors: ne.Uint16([]byte{0x81, 0}), RxErrors: ne.Uint16([]byte{5, 0}),
		Stats: DeviceStats{BusError: 7, ErrorWarning: 3, ErrorPassive: 2, BusOff: 1, Restarts: 1}, HasStats: true}
	if l != want {
		t.Fatalf("link\n got %+v\nwant %+v", l, want)
	}
	if !l.matches(cfg) || l.matches(LinkConfig{Bitrate: 250000}) || l.matches(LinkConfig{Bitrate: 500000, RestartMs: 100, FD: true, DataBitrate: 5000000}) {
		t.Error("matches")
	}
	if l.State.String() != "error-passive" || StateBusOff.String() != "bus-off" {
		t.Error("state names")
	}

	// Not a CAN link (loopback's ARPHRD_LOOPBACK is 772).
	ne.PutUint16(body[2:], 772)
	if _, err := parseLink(body); err == nil {
		t.Error("non-CAN link accepted")
	}
	// An ACK, a refusal, and a reply to another request.
	ack := append(ne.AppendUint32(nil, 20), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	ne.PutUint16(ack[4:], nlmsgError)
	ne.PutUint32(ack[8:], 3)
	ne.PutUint32(ack[16:], uint32(0xffffffff)) // -EPERM
	if _, done, errno, _ := parseReply(ack, 3); !done || errno != 1 {
		t.Errorf("refusal: done %v errno %d", done, errno)
	}
	if _, done, _, _ := parseReply(ack, 4); done {
		t.Error("reply to another sequence number taken")
	}
	if _, _, _, err := parseReply([]byte{200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1); err == nil {
		t.Error("bad length accepted")
	}
}

func FuzzParseLink(f *testing.F) {
	f.Add(linkMsg(rtmNewLink, 1, 1, 0, 0, canLinkAttrs(LinkConfig{Bitrate: 125000}))[nlmsgHdrLen:])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseLink(b)
		_, _, _, _ = parseReply(b, 1)
	})
}
