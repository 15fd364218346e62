package isotpcan_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can/socketcan"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/isotpcan"
)

// The TestVCAN tests run a tester and an ECU over a real SocketCAN vcan
// interface, each with its own socket (vcan loops a socket's frames back to
// the other sockets). They need EVEDGE_VCAN; scripts/vmtest.sh runs them in
// a VM. On a Linux box with CAN support:
//
//	ip link add dev vcan0 type vcan && ip link set vcan0 up
//	EVEDGE_VCAN=vcan0 go test -run '^TestVCAN' -v ./drivers/obd/isotpcan/

// vcanPair opens the tester's and the ECU's sockets, starts Serve on the
// ECU's and returns a Transport on the tester's. Cleanup closes everything
// and waits for it to stop.
func vcanPair(t *testing.T, rxID, txID uint32, h isotpcan.Handler, serveOpts ...isotpcan.Option) *isotpcan.Transport {
	t.Helper()
	name := os.Getenv("EVEDGE_VCAN")
	if name == "" {
		t.Skip("set EVEDGE_VCAN to a vcan interface (e.g. vcan0) to run; scripts/vmtest.sh does it in a VM")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	// The tester's socket takes only OBD answers, as the agent opens it.
	tester, err := socketcan.Open(ctx, name, 0, socketcan.WithFilter(
		socketcan.Filter{ID: 0x7E8, Mask: 0x7F8},
		socketcan.Filter{ID: 0x18DAF100, Mask: 0x1FFFFF00, Extended: true},
	))
	if err != nil {
		cancel()
		t.Fatalf("open tester socket: %v", err)
	}
	ecu, err := socketcan.Open(ctx, name, 0)
	if err != nil {
		cancel()
		tester.Close()
		t.Fatalf("open ECU socket: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- isotpcan.Serve(ctx, ecu, ecu, rxID, txID, h, serveOpts...) }()
	tr := isotpcan.New(tester, tester, isotpcan.WithCloseSource())
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Errorf("Transport.Close: %v", err)
		}
		if err := ecu.Close(); err != nil {
			t.Errorf("ECU socket Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		cancel()
	})
	return tr
}

func vcanDo(t *testing.T, tr *isotpcan.Transport, req obd.Request, want ...obd.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resps, err := tr.Do(ctx, req)
	if err != nil {
		t.Fatalf("%v: %v", &req, err)
	}
	checkResponses(t, resps, want...)
}

// TestVCANISOTP11Bit: single and multi-frame answers, a multi-frame request
// with block size and STmin, and a functional request, on 11-bit ids.
func TestVCANISOTP11Bit(t *testing.T) {
	longReq := append(hx("2E 01 02"), seq(0, 37)...)
	tr := vcanPair(t, 0x7E4, 0x7EC, table(map[string][]byte{
		"01 0C":                     hx("41 0C 1A F8"),
		"22 01 01":                  bmsAnswer,
		"09 02":                     vinAnswer,
		fmt.Sprintf("% X", longReq): hx("6E 01 02"),
	}), isotpcan.WithFlowControl(2, 0x01))
	vcanDo(t, tr, obd.Request{TxID: 0x7E4, Data: hx("01 0C")}, obd.Response{ID: 0x7EC, Data: hx("41 0C 1A F8")})
	vcanDo(t, tr, obd.Request{TxID: 0x7E4, RxID: 0x7EC, Data: hx("22 01 01")}, obd.Response{ID: 0x7EC, Data: bmsAnswer})
	vcanDo(t, tr, obd.Request{TxID: 0x7E4, Data: longReq}, obd.Response{ID: 0x7EC, Data: hx("6E 01 02")})
	vcanDo(t, tr, obd.Request{TxID: obd.FunctionalID, Data: hx("09 02")}, obd.Response{ID: 0x7EC, Data: vinAnswer})
	for range 20 { // back to back, as a poller does
		vcanDo(t, tr, obd.Request{TxID: 0x7E4, Data: hx("22 01 01")}, obd.Response{ID: 0x7EC, Data: bmsAnswer})
	}
	if st := tr.Stats(); st.Requests != 24 || st.Responses != 24 || st.FrameErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestVCANISOTP29Bit: physical multi-frame and functional requests on
// 29-bit ids.
func TestVCANISOTP29Bit(t *testing.T) {
	tr := vcanPair(t, 0x18DA10F1, 0x18DAF110, table(map[string][]byte{
		"09 02":    vinAnswer,
		"22 01 01": bmsAnswer,
	}))
	vcanDo(t, tr, obd.Request{TxID: 0x18DA10F1, Extended: true, Data: hx("09 02")}, obd.Response{ID: 0x18DAF110, Data: vinAnswer})
	vcanDo(t, tr, obd.Request{TxID: obd.FunctionalID29, Extended: true, Data: hx("22 01 01")}, obd.Response{ID: 0x18DAF110, Data: bmsAnswer})
}
