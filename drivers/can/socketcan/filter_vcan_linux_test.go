//go:build linux

package socketcan

import (
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

func TestVCANFilter(t *testing.T) {
	name := vcanName(t, "EVEDGE_VCAN")
	ctx := testCtx(t)
	rx := openT(t, ctx, name, 0, WithFilter(
		Filter{ID: 0x7E8, Mask: 0x7F8},
		Filter{ID: 0x18DAF100, Mask: 0x1FFFFF00, Extended: true},
	))
	none := openT(t, ctx, name, 0, WithFilter())
	tx := openT(t, ctx, name, 0)

	frames := []struct {
		f    can.Frame
		pass bool
	}{
		{can.Frame{ID: 0x7E8, Len: 1, Data: [8]byte{1}}, true},
		{can.Frame{ID: 0x7E0, Len: 1, Data: [8]byte{2}}, false},
		{can.Frame{ID: 0x7EF, Len: 1, Data: [8]byte{3}}, true},
		{can.Frame{ID: 0x7F0, Len: 1, Data: [8]byte{4}}, false},
		{can.Frame{ID: 0x7E8, Flags: can.Extended, Len: 1, Data: [8]byte{5}}, false},
		{can.Frame{ID: 0x18DAF110, Flags: can.Extended, Len: 1, Data: [8]byte{6}}, true},
		{can.Frame{ID: 0x18DA10F1, Flags: can.Extended, Len: 1, Data: [8]byte{7}}, false},
		{can.Frame{ID: 0x7E9, Flags: can.Remote}, true},
		{can.Frame{ID: 0x123, Len: 1, Data: [8]byte{9}}, false},
		{can.Frame{ID: 0x7EA, Len: 1, Data: [8]byte{10}}, true}, // the last one: it passes
	}
	var want []can.Frame
	for _, fr := range frames {
		if err := tx.WriteFrame(fr.f); err != nil {
			t.Fatalf("WriteFrame(%v): %v", fr.f, err)
		}
		if fr.pass {
			w := fr.f
			w.Flags |= can.TX
			want = append(want, w)
		}
	}
	for i, w := range want {
		got := recvT(t, rx)
		got.Time, got.Bus = 0, 0
		if got != w {
			t.Errorf("frame %d through the filter: %v, want %v", i, got, w)
		}
	}
	// Error frames pass any filter: one marks the end for the socket that
	// takes no data frame.
	if err := tx.write(wire(errFlag|errBusOff, 8)); err != nil {
		t.Fatal(err)
	}
	if got := recvT(t, none); !got.IsError() {
		t.Errorf("the socket with no filter received %v, want only the error frame", got)
	}
	if s := none.Stats(); s.Frames != 0 || s.ErrorFrames != 1 {
		t.Errorf("no-filter socket stats %+v", s)
	}
	if got := recvT(t, rx); !got.IsError() {
		t.Errorf("after the filtered frames: %v, want the error frame", got)
	}
}
