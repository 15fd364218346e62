//go:build !linux

package elmsim

import (
	"os"
	"time"
)

// drain gives the client a moment to read what the slave holds (the
// queue length is not portable).
func drain(_ *os.File, max time.Duration) { time.Sleep(min(max, 50*time.Millisecond)) }
