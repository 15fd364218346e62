//go:build !linux

package socketcan

import (
	"context"
	"errors"
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

func TestOpenNotSupported(t *testing.T) {
	c, err := Open(context.Background(), "can0", 0)
	if c != nil || !errors.Is(err, can.ErrNotSupported) {
		t.Fatalf("Open = %v, %v; want nil and an error wrapping can.ErrNotSupported", c, err)
	}
}
