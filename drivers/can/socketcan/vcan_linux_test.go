//go:build linux

package socketcan

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evedge/evedge/drivers/can"
)

// The TestVCAN tests need a real vcan interface, named by EVEDGE_VCAN (and
// a second one by EVEDGE_VCAN2). Hosts without AF_CAN can run them in a VM
// with scripts/vmtest.sh. To run them on a Linux box with CAN support:
//
//	ip link add dev vcan0 type vcan && ip link set vcan0 up
//	EVEDGE_VCAN=vcan0 go test -run '^TestVCAN' -v ./drivers/can/socketcan/

func vcanName(t *testing.T, env string) string {
	t.Helper()
	name := os.Getenv(env)
	if name == "" {
		t.Skipf("set %s to a vcan interface (e.g. vcan0) to run; scripts/vmtest.sh does it in a VM", env)
	}
	return name
}

// testCtx bounds a test: if a frame never arrives, the context ends, which
// closes the Conns and makes Receive return false instead of hanging.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openT(t *testing.T, ctx context.Context, name string, bus uint8, opts ...Option) *Conn {
	t.Helper()
	c, err := Open(ctx, name, bus, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func recvT(t *testing.T, c *Conn) can.Frame {
	t.Helper()
	if !c.Receive() {
		t.Fatalf("%s: Receive ended (timeout?), Err = %v", c.Name(), c.Err())
	}
	return c.Frame()
}

func TestVCANRoundTrip(t *testing.T) {
	name := vcanName(t, "EVEDGE_VCAN")
	ctx := testCtx(t)
	rx := openT(t, ctx, name, 3)
	tx := openT(t, ctx, name, 3)

	frames := []can.Frame{
		{ID: 0x123, Len: 8, Data: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{ID: 0x7FF, Len: 3, Data: [8]byte{0xDE, 0xAD, 0xBE}},
		{ID: 0x000, Len: 0},
		{ID: 0x18DAF110, Len: 8, Flags: can.Extended, Data: [8]byte{0x02, 0x10, 0x03}},
		{ID: 0x1FFFFFFF, Len: 0, Flags: can.Extended},
		{ID: 0x00000042, Len: 1, Flags: can.Extended, Data: [8]byte{0xFF}},
		{ID: 0x7DF, Len: 8, Flags: can.Remote},
		{ID: 0x7E8, Len: 0, Flags: can.Remote},
		{ID: 0x1234567, Len: 4, Flags: can.Remote | can.Extended},
	}
	for _, want := range frames {
		before := time.Now().UnixNano()
		if err := tx.WriteFrame(want); err != nil {
			t.Fatalf("WriteFrame(%v): %v", want, err)
		}
		got := recvT(t, rx)
		after := time.Now().UnixNano()
		if got.Time < before || got.Time > after {
			t.Errorf("%v: Time %d outside [%d, %d]", want, got.Time, before, after)
		}
		got.Time = 0
		want.Bus = 3
		want.Flags |= can.TX // sent by a socket on this host
		if got != want {
			t.Errorf("round trip\n got %+v (%v)\nwant %+v (%v)", got, got, want, want)
		}
	}
	if s := rx.Stats(); s != (Stats{Frames: uint64(len(frames))}) {
		t.Errorf("rx stats %+v, want %d frames and nothing else", s, len(frames))
	}
	if s := tx.Stats(); s != (Stats{}) {
		t.Errorf("tx received its own frames: %+v", s)
	}
}

// burstFrame is frame i of a burst: alternately standard and extended, the
// sequence number in the payload.
func burstFrame(i int) can.Frame {
	f := can.Frame{ID: uint32(i) & 0x7FF, Len: 8}
	if i%2 == 1 {
		f.ID, f.Flags = uint32(i)<<9&0x1FFFFFFF|0x155, can.Extended
	}
	binary.BigEndian.PutUint32(f.Data[0:], uint32(i))
	binary.BigEndian.PutUint32(f.Data[4:], ^uint32(i))
	return f
}

func TestVCANBurst(t *testing.T) {
	name := vcanName(t, "EVEDGE_VCAN")
	ctx := testCtx(t)
	const n = 10000
	// Room for the whole burst: on one slow (emulated) CPU the writer can
	// run far ahead of the reader. TestVCANDropsCounted covers the opposite.
	rx := openT(t, ctx, name, 1, WithReceiveBuffer(32<<20))
	tx := openT(t, ctx, name, 1)

	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if err := tx.WriteFrame(burstFrame(i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	var last int64
	for i := range n {
		got := recvT(t, rx)
		if got.Time < last {
			t.Fatalf("frame %d: time went backwards (%d < %d)", i, got.Time, last)
		}
		last = got.Time
		got.Time = 0
		want := burstFrame(i)
		want.Bus, want.Flags = 1, want.Flags|can.TX
		if got != want {
			t.Fatalf("frame %d (lost or reordered):\n got %v seq %d\nwant %v",
				i, got, binary.BigEndian.Uint32(got.Data[:]), want)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if s := rx.Stats(); s.Frames != n || s.Dropped != 0 || s.ErrorFrames != 0 {
		t.Errorf("stats %+v, want %d frames, none dropped", s, n)
	}
	d := time.Since(start)
	t.Logf("%d frames in %v (%.0f frames/s)", n, d.Round(time.Millisecond), n/d.Seconds())
}

func TestVCANDropsCounted(t *testing.T) {
	name := vcanName(t, "EVEDGE_VCAN")
	ctx := testCtx(t)
	const n = 2000
	rx := openT(t, ctx, name, 0, WithReceiveBuffer(1)) // the kernel's minimum
	tx := openT(t, ctx, name, 0)
	for i := range n { // nobody reads yet: rx's queue overflows
		if err := tx.WriteFrame(burstFrame(i)); err != nil {
			t.Fatalf("WriteFrame %d: %v", i, err)
		}
	}
	frames := make(chan can.Frame, n+1)
	go func() {
		for rx.Receive() {
			frames <- rx.Frame()
		}
		close(frames)
	}()
	var seqs []uint32
drain:
	for {
		select {
		case f := <-frames:
			seqs = append(seqs, binary.BigEndian.Uint32(f.Data[:]))
		case <-time.After(500 * time.Millisecond):
			break drain
		}
	}
	// The drop count rides on the next frame queued: send a marker.
	marker := can.Frame{ID: 0x7FF, Len: 1, Data: [8]byte{0xEE}}
	if err := tx.WriteFrame(marker); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-frames:
		if f.ID != marker.ID || f.Data != marker.Data {
			t.Fatalf("got %v after the drain, want the marker %v", f, marker)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("marker not received")
	}
	s := rx.Stats()
	t.Logf("received %d of %d, dropped %d", len(seqs), n, s.Dropped)
	if s.Dropped == 0 {
		t.Errorf("no drops counted with a minimal receive buffer")
	}
	if uint64(len(seqs))+s.Dropped != n {
		t.Errorf("received %d + dropped %d != sent %d", len(seqs), s.Dropped, n)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("out of order: %d after %d", seqs[i], seqs[i-1])
		}
	}
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	for range frames { // the reader goroutine ends
	}
	if err := rx.Err(); err != nil {
		t.Errorf("Err after Close: %v", err)
	}
}

func TestVCANReceiveUnblocks(t *testing.T) {
	name := vcanName(t, "EVEDGE_VCAN")
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rx, err := Open(ctx, name, 0)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan bool, 1)
			go func() { done <- rx.Receive() }()
			time.Sleep(200 * time.Millisecond) // let Receive block
			select {
			case <-done:
				t.Fatal("Receive returned on a silent bus")
			default:
			}
			start := time.Now()
			if how == "cancel" {
				cancel()
			} else if err := rx.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			select {
			case ok := <-done:
				if ok {
					t.Fatal("Receive returned true")
				}
				t.Logf("Receive returned %v after %s", ok, how)
			case <-time.After(5 * time.Second):
				t.Fatalf("Receive still blocked 5s after %s", how)
			}
			if time.Since(start) > time.Second {
				t.Errorf("Receive took %v to return", time.Since(start))
			}
			if err := rx.Err(); err != nil {
				t.Errorf("Err after %s = %v, want nil", how, err)
			}
			if rx.Receive() {
				t.Error("Receive after the end returned true")
			}
			if err := rx.WriteFrame(can.Frame{ID: 1}); err == nil {
				t.Error("WriteFrame on a closed Conn succeeded")
			}
			if err := rx.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestVCANErrorFrames(t *testing.T) {
	name := vcanName(t, "EVEDGE_VCAN")
	ctx := testCtx(t)
	rx := openT(t, ctx, name, 2)
	tx := openT(t, ctx, name, 2)

	// vcan has no controller: inject what a controller driver sends.
	inject := [][]byte{
		wire(errFlag|errCtrl, 8, 0, ctrlRxWarning|ctrlTxWarning),
		wire(errFlag|errCtrl, 8, 0, ctrlTxPassive),
		wire(errFlag|errCtrl, 8, 0, ctrlRxOverflow),
		wire(errFlag|errBusOff, 8),
		wire(errFlag|errRestarted, 8),
	}
	for _, b := range inject {
		if err := tx.write(b); err != nil {
			t.Fatalf("inject % X: %v", b, err)
		}
		got := recvT(t, rx)
		if !got.IsError() || got.IsExtended() || got.IsRemote() || got.Bus != 2 {
			t.Errorf("% X: got %+v, want an error frame on bus 2", b, got)
		}
		if class := binary.LittleEndian.Uint32(b) &^ errFlag; got.ID != class {
			t.Errorf("ID 0x%X, want class 0x%X", got.ID, class)
		}
		if got.Len != 8 || string(got.Data[:]) != string(b[8:]) {
			t.Errorf("payload % X, want % X", got.Data, b[8:])
		}
	}
	// Data frames still flow, counted apart.
	if err := tx.WriteFrame(can.Frame{ID: 0x321, Len: 1, Data: [8]byte{7}}); err != nil {
		t.Fatal(err)
	}
	if got := recvT(t, rx); got.IsError() || got.ID != 0x321 {
		t.Errorf("after error frames: %+v", got)
	}
	want := Stats{Frames: 1, ErrorFrames: 5, BusOff: 1, ErrorPassive: 1, ErrorWarning: 1, RxOverflow: 1}
	if s := rx.Stats(); s != want {
		t.Errorf("stats\n got %+v\nwant %+v", s, want)
	}
	if err := tx.WriteFrame(can.Frame{ID: errBusOff, Len: 8, Flags: can.ErrorFrame}); err == nil {
		t.Error("WriteFrame sent an error frame")
	}
}

func TestVCANBusIsolation(t *testing.T) {
	name0 := vcanName(t, "EVEDGE_VCAN")
	name1 := vcanName(t, "EVEDGE_VCAN2")
	ctx := testCtx(t)
	rx0, tx0 := openT(t, ctx, name0, 0), openT(t, ctx, name0, 0)
	rx1, tx1 := openT(t, ctx, name1, 1), openT(t, ctx, name1, 1)

	if err := tx1.WriteFrame(can.Frame{ID: 0x111, Len: 1, Data: [8]byte{1}}); err != nil {
		t.Fatal(err)
	}
	if got := recvT(t, rx1); got.ID != 0x111 || got.Bus != 1 {
		t.Errorf("%s: got %+v, want 0x111 on bus 1", name1, got)
	}
	if err := tx0.WriteFrame(can.Frame{ID: 0x100}); err != nil {
		t.Fatal(err)
	}
	if got := recvT(t, rx0); got.ID != 0x100 || got.Bus != 0 {
		t.Errorf("%s: got %+v, want 0x100 on bus 0 (frames leak between interfaces?)", name0, got)
	}
}

func TestVCANOpenErrors(t *testing.T) {
	vcanName(t, "EVEDGE_VCAN") // needs a kernel with AF_CAN
	ctx := testCtx(t)
	tests := []struct {
		name, iface, want string
		errno             error
	}{
		{"missing interface", "evedgenope0", `no interface "evedgenope0"`, unix.ENODEV},
		{"not a CAN interface", "lo", `interface "lo" is not a CAN interface`, unix.ENODEV},
		{"name too long", strings.Repeat("x", 20), "bad interface name", unix.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Open(ctx, tt.iface, 0)
			if c != nil {
				c.Close()
				t.Fatal("Open succeeded")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("error %v does not wrap %v", err, tt.errno)
			}
			if errors.Is(err, can.ErrNotSupported) {
				t.Errorf("error %v wraps ErrNotSupported although AF_CAN works", err)
			}
		})
	}
}

func TestVCANReceiveBuffer(t *testing.T) {
	name := vcanName(t, "EVEDGE_VCAN")
	ctx := testCtx(t)
	rcvbuf := func(c *Conn) int {
		var n int
		var err error
		if cerr := c.plat.rc.Control(func(fd uintptr) {
			n, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		}); cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	kernel := rcvbuf(openT(t, ctx, name, 0, WithReceiveBuffer(0)))
	def := rcvbuf(openT(t, ctx, name, 0))
	big := rcvbuf(openT(t, ctx, name, 0, WithReceiveBuffer(4<<20)))
	t.Logf("SO_RCVBUF: kernel default %d, Open default %d, 4 MiB asked %d", kernel, def, big)
	if def <= kernel {
		t.Errorf("default buffer %d not above the kernel's %d", def, kernel)
	}
	if os.Geteuid() == 0 && (def != 2*DefaultReceiveBuffer || big != 8<<20) {
		t.Errorf("as root (SO_RCVBUFFORCE): got %d and %d, want %d and %d", def, big, 2*DefaultReceiveBuffer, 8<<20)
	}
}
