package socketcan

import (
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

var sinkFrame can.Frame

// BenchmarkDecodeClassical measures the per-frame work of Receive after the
// read: one 16-byte struct can_frame into a can.Frame, counters included.
func BenchmarkDecodeClassical(b *testing.B) {
	w := wire(0x123, 8, 1, 2, 3, 4, 5, 6, 7, 8)
	var st counters
	b.ReportAllocs()
	for b.Loop() {
		sinkFrame = decodeWire(w, &st)
	}
}

// BenchmarkDecodeFD8 is the same for a CAN FD frame of 8 bytes (struct
// canfd_frame, 72 bytes), delivered with the FD flag.
func BenchmarkDecodeFD8(b *testing.B) {
	w := fdWire(0x123, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8)
	var st counters
	b.ReportAllocs()
	for b.Loop() {
		sinkFrame, _ = decodeFD(w, &st)
	}
}

// BenchmarkDecodeFD64 is a CAN FD frame of 64 bytes: counted and skipped.
func BenchmarkDecodeFD64(b *testing.B) {
	w := fdWire(0x124, 64, 0, seq(64)...)
	var st counters
	b.ReportAllocs()
	for b.Loop() {
		sinkFrame, _ = decodeFD(w, &st)
	}
}
