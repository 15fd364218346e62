//go:build linux

package agent

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evedge/evedge/drivers/can/socketcan"
)

// TestVCANAgentFD runs the agent on a CAN FD link of a real Linux CAN
// stack (make vmtest: vcan0, whose MTU is CANFD_MTU by default). A plain
// socket of the test's own sends the Kona BMS message as CAN FD frames of
// 8 bytes, CAN FD frames of 64 bytes and classical frames; the agent must
// decode the FD frames of 8 bytes like classical ones, and the long ones
// must be counted by the socket (fd_oversize), not delivered.
func TestVCANAgentFD(t *testing.T) {
	ifname := os.Getenv("EVEDGE_VCAN")
	if ifname == "" {
		t.Skip("needs a vcan interface: set EVEDGE_VCAN (make vmtest does, inside its VM)")
	}
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if ifc.MTU != 72 {
		t.Fatalf("%s has MTU %d: this test needs a CAN FD link (ip link set %s mtu 72)", ifname, ifc.MTU, ifname)
	}
	db := konaDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rx, err := socketcan.Open(ctx, ifname, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !rx.FD() {
		t.Fatal("CAN FD not enabled on an MTU 72 link")
	}
	fd, err := unix.Socket(unix.AF_CAN, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.CAN_RAW)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_CAN_RAW, unix.CAN_RAW_FD_FRAMES, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrCAN{Ifindex: ifc.Index}); err != nil {
		t.Fatal(err)
	}
	send := func(id uint32, fdFrame bool, data []byte) {
		t.Helper()
		size := 16 // struct can_frame
		if fdFrame {
			size = 72 // struct canfd_frame
		}
		b := make([]byte, size)
		binary.NativeEndian.PutUint32(b, id)
		b[4] = byte(len(data))
		copy(b[8:], data)
		if _, err := unix.Write(fd, b); err != nil {
			t.Fatalf("write %d bytes: %v", size, err)
		}
	}
	a, _ := New(Options{DB: db})
	a.Add(Source{Name: ifname, Src: rx, Close: rx.Close})
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	// Batt_HV_Status 0x595: VBatt 48|16@1+ (0.1), IBatt 32|16@1- (0.1).
	// 0x0E10 = 360.0 V, -100 = -10.0 A as classical frames; then CAN FD
	// frames with 0x0E18 = 360.8 V and 0x0032 = 5.0 A, which must win
	// (VSS -5 A: the map's scale -1 turns the BMS's discharge-positive
	// current into VSS's charge-positive one).
	const fdFrames, longFrames = 300, 50
	send(0x595, false, []byte{0x0B, 0, 0xB8, 0xB8, 0x9C, 0xFF, 0x10, 0x0E})
	for i := range fdFrames {
		send(0x595, true, []byte{0x0B, 0, 0xB8, 0xB8, 0x32, 0x00, 0x18, 0x0E})
		if i%6 == 0 {
			long := make([]byte, 64)
			long[0] = byte(i)
			send(0x595, true, long) // would decode as 0 V and 0 A if it got through
		}
	}
	const sent = 1 + fdFrames
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := a.Stats()
		if len(st) == 1 && st[0].Frames == sent {
			if st[0].Bus != 4 || st[0].Unknown != 0 {
				t.Fatalf("stats %+v, want bus 4, all known", st[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent stats %+v, socket %+v after 10 s; want %d frames", st, rx.Stats(), sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := rx.Stats(); st.Frames != sent || st.FDFrames != fdFrames || st.FDOversize != longFrames || st.FDOversizeKey != 0x595 {
		t.Fatalf("socket stats %+v, want %d frames of which %d CAN FD, %d oversize (last 0x595)", st, sent, fdFrames, longFrames)
	}
	v, ok := a.Table().Get("Vehicle.Powertrain.TractionBattery.CurrentVoltage")
	if !ok || math.Abs(v.Value-360.8) > 1e-9 {
		t.Fatalf("pack voltage %+v, want 360.8", v)
	}
	i, ok := a.Table().Get("Vehicle.Powertrain.TractionBattery.CurrentCurrent")
	if !ok || math.Abs(i.Value-(-5)) > 1e-9 {
		t.Fatalf("pack current %+v, want -5", i)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
