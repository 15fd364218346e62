package socketcan

import "testing"

func TestFilterRaw(t *testing.T) {
	tests := []struct {
		f        Filter
		id, mask uint32
	}{
		{Filter{ID: 0x7E8, Mask: 0x7F8}, 0x7E8, 0x800007F8},
		{Filter{ID: 0x7EF, Mask: 0x7F8}, 0x7E8, 0x800007F8}, // id bits outside the mask dropped
		{Filter{ID: 0x123, Mask: 0x7FF}, 0x123, 0x800007FF},
		{Filter{ID: 0x18DAF100, Mask: 0x1FFFFF00, Extended: true}, 0x98DAF100, 0x9FFFFF00},
		{Filter{ID: 0, Mask: 0, Extended: true}, 0x80000000, 0x80000000},   // every 29-bit frame
		{Filter{ID: 0, Mask: 0}, 0, 0x80000000},                            // every 11-bit frame
		{Filter{ID: 0xFFFFFFFF, Mask: 0xFFFFFFFF}, 0x1FFFFFFF, 0x9FFFFFFF}, // flag bits of the caller ignored
	}
	for _, tt := range tests {
		id, mask := tt.f.raw()
		if id != tt.id || mask != tt.mask {
			t.Errorf("%+v: can_id %#x can_mask %#x, want %#x %#x", tt.f, id, mask, tt.id, tt.mask)
		}
	}
}
