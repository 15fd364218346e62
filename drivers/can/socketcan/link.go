package socketcan

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Link bring-up: what `ip link set can0 type can bitrate 500000
// listen-only on restart-ms 100; ip link set can0 up` does, through rtnetlink
// (RTM_GETLINK, RTM_NEWLINK with IFLA_LINKINFO/IFLA_INFO_DATA). The
// messages are built and parsed here in portable Go so that their layout
// is tested on any machine; link_linux.go sends them.
//
// einride's pkg/candevice covers part of this (bitrate, listen-only, up
// and down) but not restart-ms, the CAN FD data bitrate or the device
// statistics, its listen-only off clears every other control-mode flag,
// and it brings in three more modules (mdlayher/netlink and friends).

// ErrNotConfigurable marks a link that has no bit timing to set: a virtual
// CAN interface (vcan, vxcan), or one whose driver does not take the
// setting. The agent uses such a link as it is.
var ErrNotConfigurable = errors.New("link has no configurable bit timing")

// LinkConfig is what Configure sets on a CAN link.
type LinkConfig struct {
	// Bitrate is the nominal bitrate in bit/s (required).
	Bitrate uint32
	// ListenOnly: the controller neither acknowledges nor transmits.
	ListenOnly bool
	// RestartMs is the automatic restart delay after bus-off (0: none).
	RestartMs uint32
	// FD turns CAN FD on with DataBitrate for the data phase.
	FD          bool
	DataBitrate uint32
}

// CtrlState is the CAN controller's error state (enum can_state).
type CtrlState uint32

// Controller states.
const (
	StateErrorActive CtrlState = iota
	StateErrorWarning
	StateErrorPassive
	StateBusOff
	StateStopped
	StateSleeping
)

func (s CtrlState) String() string {
	switch s {
	case StateErrorActive:
		return "error-active"
	case StateErrorWarning:
		return "error-warning"
	case StateErrorPassive:
		return "error-passive"
	case StateBusOff:
		return "bus-off"
	case StateStopped:
		return "stopped"
	case StateSleeping:
		return "sleeping"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// DeviceStats are the CAN driver's own counters since the driver loaded
// (struct can_device_stats; `ip -details -statistics link show can0`):
// they count what happened also while no socket was open.
type DeviceStats struct {
	BusError        uint32 // bus errors
	ErrorWarning    uint32 // changes to error-warning state
	ErrorPassive    uint32 // changes to error-passive state
	BusOff          uint32 // changes to bus-off state
	ArbitrationLost uint32
	Restarts        uint32 // restarts after bus-off
}

// Link is a CAN link's configuration and health as the kernel reports it.
type Link struct {
	Name  string
	Index int
	// Kind is the link type: "can" for a real controller, "vcan", "vxcan".
	Kind string
	// Up is IFF_UP (administratively up).
	Up bool
	// Running is IFF_RUNNING (the controller is started).
	Running bool
	// The rest is only reported for Kind "can".
	State       CtrlState
	Bitrate     uint32
	DataBitrate uint32
	ListenOnly  bool
	FD          bool
	RestartMs   uint32
	// TxErrors and RxErrors are the controller's error counters (TEC, REC),
	// when the driver reports them.
	TxErrors, RxErrors uint16
	// Stats are the driver's counters, when it reports them.
	Stats    DeviceStats
	HasStats bool
}

// matches reports whether the link already runs with cfg, so that
// Configure need not take it down (which drops frames).
func (l *Link) matches(cfg LinkConfig) bool {
	if !l.Up || l.Bitrate != cfg.Bitrate || l.ListenOnly != cfg.ListenOnly || l.RestartMs != cfg.RestartMs || l.FD != cfg.FD {
		return false
	}
	return !cfg.FD || l.DataBitrate == cfg.DataBitrate
}

// rtnetlink constants (linux/rtnetlink.h, linux/if_link.h,
// linux/can/netlink.h); they are ABI, the same on every architecture.
const (
	nlmsgHdrLen    = 16
	ifinfomsgLen   = 16
	rtmNewLink     = 16
	rtmGetLink     = 18
	nlmsgError     = 2
	nlmDone        = 3
	nlmFRequest    = 0x1
	nlmFAck        = 0x4
	iffUp          = 0x1
	iffRunning     = 0x40
	arphrdCAN      = 280
	iflaIfname     = 3
	iflaLinkinfo   = 18
	iflaInfoKind   = 1
	iflaInfoData   = 2
	iflaInfoXstats = 3

	iflaCANBittiming     = 1
	iflaCANState         = 4
	iflaCANCtrlmode      = 5
	iflaCANRestartMs     = 6
	iflaCANBerrCounter   = 8
	iflaCANDataBittiming = 9

	ctrlmodeListenOnly = 0x02
	ctrlmodeFD         = 0x20

	bittimingLen = 32 // struct can_bittiming: eight u32, bitrate first
	nlaFNested   = 0x8000
)

var ne = binary.NativeEndian

func align4(n int) int { return (n + 3) &^ 3 }

// attr appends a netlink attribute (struct rtattr + payload, padded).
func attr(b []byte, typ uint16, payload []byte) []byte {
	n := 4 + len(payload)
	b = ne.AppendUint16(b, uint16(n))
	b = ne.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return ne.AppendUint32(nil, v) }

// linkMsg builds an rtnetlink message: nlmsghdr, ifinfomsg, attributes.
func linkMsg(typ uint16, seq uint32, index int32, flags, change uint32, attrs []byte) []byte {
	b := make([]byte, 0, nlmsgHdrLen+ifinfomsgLen+len(attrs))
	b = ne.AppendUint32(b, uint32(nlmsgHdrLen+ifinfomsgLen+len(attrs)))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, nlmFRequest|nlmFAck)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0) // port id: the kernel fills it in
	// struct ifinfomsg: family, pad, type, index, flags, change.
	b = append(b, 0, 0)
	b = ne.AppendUint16(b, 0)
	b = ne.AppendUint32(b, uint32(index))
	b = ne.AppendUint32(b, flags)
	b = ne.AppendUint32(b, change)
	return append(b, attrs...)
}

// canLinkAttrs is IFLA_LINKINFO { KIND "can", DATA { bittiming, ctrlmode,
// restart_ms, data bittiming } } for cfg, as iproute2 sends it.
func canLinkAttrs(cfg LinkConfig) []byte {
	bt := make([]byte, bittimingLen) // only the bitrate: the kernel computes the rest
	ne.PutUint32(bt, cfg.Bitrate)
	var data []byte
	data = attr(data, iflaCANBittiming, bt)
	var flags uint32
	if cfg.ListenOnly {
		flags |= ctrlmodeListenOnly
	}
	if cfg.FD {
		flags |= ctrlmodeFD
	}
	// struct can_ctrlmode { mask, flags }: set exactly the modes evedge
	// owns, leave the others (loopback, triple sampling ...) as they are.
	cm := append(u32(ctrlmodeListenOnly|ctrlmodeFD), u32(flags)...)
	data = attr(data, iflaCANCtrlmode, cm)
	data = attr(data, iflaCANRestartMs, u32(cfg.RestartMs))
	if cfg.FD {
		dbt := make([]byte, bittimingLen)
		ne.PutUint32(dbt, cfg.DataBitrate)
		data = attr(data, iflaCANDataBittiming, dbt)
	}
	var li []byte
	li = attr(li, iflaInfoKind, []byte("can"))
	li = attr(li, iflaInfoData, data)
	return attr(nil, iflaLinkinfo, li)
}

// forAttrs calls fn for each attribute in b.
func forAttrs(b []byte, fn func(typ uint16, payload []byte)) error {
	for len(b) >= 4 {
		n := int(ne.Uint16(b))
		if n < 4 || n > len(b) {
			return fmt.Errorf("bad attribute length %d of %d bytes", n, len(b))
		}
		fn(ne.Uint16(b[2:])&^nlaFNested, b[4:n])
		b = b[min(align4(n), len(b)):]
	}
	return nil
}

// parseLink reads an RTM_NEWLINK message body (ifinfomsg + attributes).
func parseLink(body []byte) (Link, error) {
	var l Link
	if len(body) < ifinfomsgLen {
		return l, fmt.Errorf("short link message (%d bytes)", len(body))
	}
	if typ := ne.Uint16(body[2:]); typ != arphrdCAN {
		return l, fmt.Errorf("not a CAN interface (link type %d)", typ)
	}
	l.Index = int(int32(ne.Uint32(body[4:])))
	fl := ne.Uint32(body[8:])
	l.Up, l.Running = fl&iffUp != 0, fl&iffRunning != 0
	var perr error
	err := forAttrs(body[ifinfomsgLen:], func(typ uint16, p []byte) {
		switch typ {
		case iflaIfname:
			l.Name = cstring(p)
		case iflaLinkinfo:
			perr = errors.Join(perr, forAttrs(p, func(typ uint16, p []byte) {
				switch typ {
				case iflaInfoKind:
					l.Kind = cstring(p)
				case iflaInfoData:
					perr = errors.Join(perr, forAttrs(p, l.canAttr))
				case iflaInfoXstats:
					if len(p) >= 24 {
						l.HasStats = true
						l.Stats = DeviceStats{ne.Uint32(p), ne.Uint32(p[4:]), ne.Uint32(p[8:]), ne.Uint32(p[12:]), ne.Uint32(p[16:]), ne.Uint32(p[20:])}
					}
				}
			}))
		}
	})
	return l, errors.Join(err, perr)
}

func (l *Link) canAttr(typ uint16, p []byte) {
	switch {
	case typ == iflaCANBittiming && len(p) >= 4:
		l.Bitrate = ne.Uint32(p)
	case typ == iflaCANDataBittiming && len(p) >= 4:
		l.DataBitrate = ne.Uint32(p)
	case typ == iflaCANState && len(p) >= 4:
		l.State = CtrlState(ne.Uint32(p))
	case typ == iflaCANCtrlmode && len(p) >= 8:
		f := ne.Uint32(p[4:])
		l.ListenOnly, l.FD = f&ctrlmodeListenOnly != 0, f&ctrlmodeFD != 0
	case typ == iflaCANRestartMs && len(p) >= 4:
		l.RestartMs = ne.Uint32(p)
	case typ == iflaCANBerrCounter && len(p) >= 4:
		l.TxErrors, l.RxErrors = ne.Uint16(p), ne.Uint16(p[2:])
	}
}

func cstring(p []byte) string {
	for i, c := range p {
		if c == 0 {
			return string(p[:i])
		}
	}
	return string(p)
}

// parseReply reads one datagram of netlink replies to request seq: the
// body of an RTM_NEWLINK answer if there is one, and done with the errno
// once the NLMSG_ERROR that ends the request came (errno 0: an ACK).
func parseReply(b []byte, seq uint32) (body []byte, done bool, errno int32, err error) {
	for len(b) >= nlmsgHdrLen {
		n := int(ne.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			return nil, false, 0, fmt.Errorf("bad netlink message length %d", n)
		}
		typ, s := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		msg := b[nlmsgHdrLen:n]
		b = b[min(align4(n), len(b)):]
		if s != seq {
			continue
		}
		switch typ {
		case nlmsgError:
			if len(msg) < 4 {
				return nil, false, 0, errors.New("short netlink error message")
			}
			return body, true, -int32(ne.Uint32(msg)), nil
		case rtmNewLink:
			body = msg
		case nlmDone:
			return body, true, 0, nil
		}
	}
	return body, false, 0, nil
}
