//go:build unix

package elmsim

import (
	"fmt"
	"os"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// openPTY opens a pseudo-terminal pair with the slave in raw mode (no echo,
// no CR/LF translation, as a serial port opened by a driver). The master
// is made non-blocking so that closing it ends a pending Read.
func openPTY() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("elmsim: open pty: %w", err)
	}
	defer m.Close()
	// pty.Open leaves the master in blocking mode, where Close does not
	// interrupt a Read: use a non-blocking duplicate, which the runtime
	// poller manages.
	fd, err := syscall.Dup(int(m.Fd()))
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("elmsim: dup pty: %w", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		s.Close()
		return nil, nil, fmt.Errorf("elmsim: pty: %w", err)
	}
	master = os.NewFile(uintptr(fd), m.Name())
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		master.Close()
		s.Close()
		return nil, nil, fmt.Errorf("elmsim: raw mode: %w", err)
	}
	return master, s, nil
}
