//go:build linux

package socketcan

import (
	"errors"
	"net"
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

// vcanLink creates a vcan interface of its own over netlink (as `ip link
// add NAME type vcan`; it starts down) and deletes it when the test ends.
func vcanLink(t *testing.T, name string) {
	t.Helper()
	const (
		rtmDelLink = 17
		nlmFCreate = 0x400
		nlmFExcl   = 0x200
	)
	li := attr(nil, iflaLinkinfo, attr(nil, iflaInfoKind, []byte("vcan")))
	attrs := append(attr(nil, iflaIfname, append([]byte(name), 0)), li...)
	_, err := rtnl(func(seq uint32) []byte {
		m := linkMsg(rtmNewLink, seq, 0, 0, 0, attrs)
		ne.PutUint16(m[6:], nlmFRequest|nlmFAck|nlmFCreate|nlmFExcl)
		return m
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			t.Errorf("delete %s: %v", name, err)
			return
		}
		if _, err := rtnl(func(seq uint32) []byte { return linkMsg(rtmDelLink, seq, int32(ifc.Index), 0, 0, nil) }); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	})
}

// Bring-up on a virtual link: vcan has no bit timing, so Configure brings
// a down link up, says ErrNotConfigurable, and the link works as is. What
// vcan cannot show (bitrate, listen-only, restart-ms, FD reaching a real
// controller) is covered by the message tests in link_test.go.
func TestVCANLink(t *testing.T) {
	vcanName(t, "EVEDGE_VCAN") // runs where vcan exists (scripts/vmtest.sh)
	const name = "evlink0"
	vcanLink(t, name)
	l, err := LinkStatus(name)
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != "vcan" || l.Up || l.Name != name || l.Index == 0 {
		t.Fatalf("new link: %+v", l)
	}
	cfg := LinkConfig{Bitrate: 500000, ListenOnly: true, RestartMs: 100}
	if err := Configure(name, cfg); !errors.Is(err, ErrNotConfigurable) {
		t.Fatalf("Configure vcan: %v, want ErrNotConfigurable", err)
	}
	if l, err = LinkStatus(name); err != nil || !l.Up || l.Bitrate != 0 {
		t.Fatalf("after Configure: %+v %v", l, err)
	}
	// Again, on the link that is now up: nothing changes.
	if err := Configure(name, cfg); !errors.Is(err, ErrNotConfigurable) {
		t.Fatalf("Configure vcan again: %v", err)
	}
	// The link is used as is: frames flow, error frames are counted.
	ctx := testCtx(t)
	rx := openT(t, ctx, name, 3)
	tx := openT(t, ctx, name, 3)
	if err := tx.WriteFrame(can.Frame{ID: 0x123, Len: 2, Data: [can.MaxDataLen]byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if f := recvT(t, rx); f.ID != 0x123 || f.Bus != 3 {
		t.Fatalf("frame %v", f)
	}
	if err := tx.write(wire(errFlag|errBusOff, 8)); err != nil {
		t.Fatal(err)
	}
	recvT(t, rx)
	if st := rx.Stats(); st.BusOff != 1 || st.ErrorFrames != 1 || st.Frames != 1 {
		t.Fatalf("stats %+v", st)
	}
	if l, err := rx.Link(); err != nil || l.Name != name || !l.Up || l.HasStats {
		t.Fatalf("Conn.Link: %+v %v", l, err)
	}
}
