//go:build !linux

package socketcan

import (
	"fmt"

	"github.com/evedge/evedge/drivers/can"
)

// LinkStatus needs Linux: it returns an error wrapping can.ErrNotSupported.
func LinkStatus(name string) (Link, error) {
	return Link{}, fmt.Errorf("socketcan: link %s: %w", name, can.ErrNotSupported)
}

// Configure needs Linux: it returns an error wrapping can.ErrNotSupported.
func Configure(name string, cfg LinkConfig) error {
	return fmt.Errorf("socketcan: configure %s: %w", name, can.ErrNotSupported)
}

// Link reports the state of the Conn's interface (LinkStatus).
func (c *Conn) Link() (Link, error) { return LinkStatus(c.name) }
