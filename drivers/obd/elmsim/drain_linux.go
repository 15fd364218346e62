package elmsim

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// drain waits until the client has read what the slave holds, at most max.
func drain(slave *os.File, max time.Duration) {
	deadline := time.Now().Add(max)
	time.Sleep(5 * time.Millisecond) // the kernel moves written bytes to the slave asynchronously
	for time.Now().Before(deadline) {
		n, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
		if err != nil || n == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
