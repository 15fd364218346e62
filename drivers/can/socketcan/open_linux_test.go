//go:build linux

package socketcan

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/evedge/evedge/drivers/can"
)

// TestOpenWithoutAFCAN runs where the kernel has no SocketCAN (many CI and
// container hosts): Open must say so with can.ErrNotSupported.
func TestOpenWithoutAFCAN(t *testing.T) {
	fd, err := unix.Socket(unix.AF_CAN, unix.SOCK_RAW, unix.CAN_RAW)
	if err == nil {
		unix.Close(fd)
		t.Skip("this kernel has AF_CAN; see TestVCAN* for the real thing")
	}
	c, err := Open(context.Background(), "vcan0", 0)
	if c != nil {
		c.Close()
		t.Fatal("Open succeeded although socket(AF_CAN) fails")
	}
	if !errors.Is(err, can.ErrNotSupported) {
		t.Errorf("error %q does not wrap can.ErrNotSupported", err)
	}
	if !errors.Is(err, unix.EAFNOSUPPORT) && !errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Errorf("error %q does not wrap the errno", err)
	}
	if !strings.Contains(err.Error(), "vcan0") || !strings.Contains(err.Error(), "AF_CAN") {
		t.Errorf("error %q should name the interface and AF_CAN", err)
	}
}

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	n := unix.CmsgLen(len(data))
	if unix.SizeofCmsghdr == 16 {
		binary.NativeEndian.PutUint64(b[0:], uint64(n))
		binary.NativeEndian.PutUint32(b[8:], uint32(level))
		binary.NativeEndian.PutUint32(b[12:], uint32(typ))
	} else {
		binary.NativeEndian.PutUint32(b[0:], uint32(n))
		binary.NativeEndian.PutUint32(b[4:], uint32(level))
		binary.NativeEndian.PutUint32(b[8:], uint32(typ))
	}
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestParseControl(t *testing.T) {
	ts64 := make([]byte, 16) // struct timespec, 64-bit time_t and long
	binary.NativeEndian.PutUint64(ts64[0:], 1700000000)
	binary.NativeEndian.PutUint64(ts64[8:], 123456789)
	ts32 := make([]byte, 8) // the same on 32-bit ARM
	binary.NativeEndian.PutUint32(ts32[0:], 1700000000)
	binary.NativeEndian.PutUint32(ts32[4:], 123456789)
	drops := binary.NativeEndian.AppendUint32(nil, 42)
	const want = 1700000000_123456789

	tests := []struct {
		name          string
		oob           []byte
		ts            int64
		drops         uint32
		haveTS, haveD bool
	}{
		{"none", nil, 0, 0, false, false},
		{"timestamp 64-bit", cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts64), want, 0, true, false},
		{"timestamp 32-bit", cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts32), want, 0, true, false},
		{"timestamp and drops", append(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts64), cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops)...), want, 42, true, true},
		{"drops only", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops), 0, 42, false, true},
		{"other level ignored", cmsg(unix.SOL_CAN_RAW, unix.SCM_TIMESTAMPNS, ts64), 0, 0, false, false},
		{"truncated", cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts64)[:6], 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, d, haveTS, haveD := parseControl(tt.oob)
			if ts != tt.ts || d != tt.drops || haveTS != tt.haveTS || haveD != tt.haveD {
				t.Errorf("got ts=%d drops=%d (%v %v), want ts=%d drops=%d (%v %v)",
					ts, d, haveTS, haveD, tt.ts, tt.drops, tt.haveTS, tt.haveD)
			}
		})
	}
}
