//go:build !linux

package socketcan

import (
	"fmt"
	"runtime"

	"github.com/evedge/evedge/drivers/can"
)

// platform is empty: Open never returns a Conn outside Linux.
type platform struct{}

func (c *Conn) open(*options) error {
	return fmt.Errorf("socketcan: open %s: %w: SocketCAN needs Linux, this is %s/%s",
		c.name, can.ErrNotSupported, runtime.GOOS, runtime.GOARCH)
}

func (platform) close() error { return nil }

func (c *Conn) receive() bool { return false }

func (c *Conn) write([]byte) error {
	return fmt.Errorf("socketcan: %s: write: %w", c.name, can.ErrNotSupported)
}
