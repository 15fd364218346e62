//go:build linux

package socketcan

import (
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evedge/evedge/drivers/can"
)

// mtuLink makes a vcan link of its own with MTU mtu: 72 (CANFD_MTU) runs
// CAN FD, 16 (CAN_MTU) classical CAN only, as `ip link set NAME mtu 72`
// does. It is created down (vcan refuses an MTU change while up), then
// brought up.
func mtuLink(t *testing.T, name string, mtu uint32) {
	t.Helper()
	const iflaMTU = 4
	vcanLink(t, name)
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rtnl(func(seq uint32) []byte {
		return linkMsg(rtmNewLink, seq, int32(ifc.Index), 0, 0, attr(nil, iflaMTU, u32(mtu)))
	}); err != nil {
		t.Fatalf("%s: mtu %d: %v", name, mtu, err)
	}
	if err := setUp(ifc.Index, true); err != nil {
		t.Fatalf("%s: up: %v", name, err)
	}
	if ifc, err = net.InterfaceByName(name); err != nil || ifc.MTU != int(mtu) {
		t.Fatalf("%s: MTU %d (%v), want %d", name, ifc.MTU, err, mtu)
	}
}

// rawFDSender is a plain CAN_RAW socket with CAN_RAW_FD_FRAMES, opened
// here without the package's code, that writes wire bytes as given.
func rawFDSender(t *testing.T, name string) func(b []byte) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_CAN, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.CAN_RAW)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptInt(fd, unix.SOL_CAN_RAW, unix.CAN_RAW_FD_FRAMES, 1); err != nil {
		t.Fatal(err)
	}
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrCAN{Ifindex: ifc.Index}); err != nil {
		t.Fatal(err)
	}
	return func(b []byte) {
		t.Helper()
		if n, err := unix.Write(fd, b); err != nil || n != len(b) {
			t.Fatalf("write %d bytes: %d, %v", len(b), n, err)
		}
	}
}

// TestVCANFD sends CAN FD frames of 0, 5, 8, 12 and 64 bytes and classical
// frames from a socket of its own on a CAN FD vcan link, and checks what
// a Conn delivers (the FD frames of up to 8 bytes, with the FD flag, and
// the classical ones) and counts (the longer FD frames, with the id of the
// last), what a classical-only Conn on the same link sees, and that a Conn
// sends CAN FD frames.
func TestVCANFD(t *testing.T) {
	vcanName(t, "EVEDGE_VCAN") // runs where vcan exists (scripts/vmtest.sh)
	const name, classicName = "evfd0", "evcc0"
	mtuLink(t, name, 72)
	mtuLink(t, classicName, 16)
	ctx := testCtx(t)
	rx := openT(t, ctx, name, 5)                     // FD from the MTU
	classic := openT(t, ctx, name, 5, WithFD(false)) // FD frames never reach it
	if !rx.FD() || classic.FD() {
		t.Fatalf("FD(): auto on an MTU 72 link %v (want true), WithFD(false) %v", rx.FD(), classic.FD())
	}
	send := rawFDSender(t, name)

	const brs = 0x01 // CANFD_BRS
	type step struct {
		wire []byte
		want *can.Frame // delivered by rx; nil: skipped and counted
	}
	fr := func(f can.Frame) *can.Frame { f.Bus, f.Flags = 5, f.Flags|can.TX; return &f }
	steps := []step{
		{wire(0x100, 3, 1, 2, 3), fr(can.Frame{ID: 0x100, Len: 3, Data: [8]byte{1, 2, 3}})},
		{fdWire(0x123, 8, brs, seq(8)...), fr(can.Frame{ID: 0x123, Len: 8, Flags: can.FD | can.BRS, Data: [8]byte(seq(8))})},
		{fdWire(effFlag|0x18DAF110, 64, brs, seq(64)...), nil},
		{wire(effFlag|0x18DAF1F1, 2, 0xAA, 0xBB), fr(can.Frame{ID: 0x18DAF1F1, Len: 2, Flags: can.Extended, Data: [8]byte{0xAA, 0xBB}})},
		{fdWire(0x7FF, 0, 0), fr(can.Frame{ID: 0x7FF, Flags: can.FD})},
		{fdWire(effFlag|0x42, 5, 0, 9, 8, 7, 6, 5), fr(can.Frame{ID: 0x42, Len: 5, Flags: can.FD | can.Extended, Data: [8]byte{9, 8, 7, 6, 5}})},
		{fdWire(0x124, 12, 0, seq(12)...), nil},
		{wire(0x101, 1, 0x55), fr(can.Frame{ID: 0x101, Len: 1, Data: [8]byte{0x55}})},
	}
	var wantStats Stats
	for i, s := range steps {
		before := time.Now().UnixNano()
		send(s.wire)
		if s.want == nil {
			wantStats.FDOversize++
			id := uint32(s.wire[0]) | uint32(s.wire[1])<<8 | uint32(s.wire[2])<<16 | uint32(s.wire[3])<<24
			wantStats.FDOversizeKey = id & 0x1FFFFFFF
			if id&effFlag != 0 {
				wantStats.FDOversizeKey |= can.KeyExtended
			}
			continue
		}
		got := recvT(t, rx)
		if got.Time < before || got.Time > time.Now().UnixNano() {
			t.Errorf("step %d: time %d outside the send", i, got.Time)
		}
		got.Time = 0
		if got != *s.want {
			t.Errorf("step %d:\n got %+v\nwant %+v", i, got, *s.want)
		}
		wantStats.Frames++
		if s.want.IsFD() {
			wantStats.FDFrames++
		}
		// Everything sent before this frame has been read by now.
		if st := rx.Stats(); st != wantStats {
			t.Errorf("step %d: stats\n got %+v\nwant %+v", i, st, wantStats)
		}
	}
	if wantStats.FDOversize != 2 || wantStats.FDFrames != 3 || wantStats.FDOversizeKey != 0x124 {
		t.Fatalf("test table: %+v", wantStats) // guards the expectations themselves
	}

	// The classical-only socket got the classical frames and nothing else.
	for _, id := range []uint32{0x100, 0x18DAF1F1, 0x101} {
		if got := recvT(t, classic); got.ID != id || got.IsFD() {
			t.Errorf("classic socket: got %v, want classical 0x%X", got, id)
		}
	}
	if st := classic.Stats(); st != (Stats{Frames: 3}) {
		t.Errorf("classic socket stats %+v, want 3 frames", st)
	}

	// A Conn sends CAN FD frames; the classical one refuses to.
	tx := openT(t, ctx, name, 5)
	out := can.Frame{ID: 0x321, Len: 4, Flags: can.FD, Data: [8]byte{4, 3, 2, 1}}
	if err := tx.WriteFrame(out); err != nil {
		t.Fatalf("WriteFrame FD: %v", err)
	}
	got := recvT(t, rx)
	got.Time = 0
	if want := *fr(out); got != want {
		t.Errorf("FD frame from a Conn:\n got %+v\nwant %+v", got, want)
	}
	if err := classic.WriteFrame(out); err == nil || !strings.Contains(err.Error(), "without CAN FD") {
		t.Errorf("classic socket WriteFrame FD: %v", err)
	}
	if err := tx.WriteFrame(can.Frame{ID: 0x10, Flags: can.FD | can.Remote}); err == nil {
		t.Error("remote CAN FD frame sent")
	}
	// The marker that follows shows classic never saw the FD frame.
	if err := tx.WriteFrame(can.Frame{ID: 0x102}); err != nil {
		t.Fatal(err)
	}
	if got := recvT(t, classic); got.ID != 0x102 {
		t.Errorf("classic socket: got %v, want the marker 0x102", got)
	}

	// On a classical link (MTU 16) FD stays off unless asked for; asked
	// for, the kernel takes the option and classical frames still flow.
	if c := openT(t, ctx, classicName, 0); c.FD() {
		t.Errorf("%s: FD on by default on an MTU 16 link", classicName)
	}
	forced := openT(t, ctx, classicName, 0, WithFD(true))
	if !forced.FD() {
		t.Fatalf("%s: WithFD(true) not applied", classicName)
	}
	ctx2 := openT(t, ctx, classicName, 0)
	if err := ctx2.WriteFrame(can.Frame{ID: 0x55, Len: 1, Data: [8]byte{1}}); err != nil {
		t.Fatal(err)
	}
	if got := recvT(t, forced); got.ID != 0x55 || got.IsFD() || got.Len != 1 {
		t.Errorf("%s with WithFD(true): got %v", classicName, got)
	}
}
