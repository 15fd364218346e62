//go:build !unix

package elmsim

import "os"

func openPTY() (master, slave *os.File, err error) { return nil, nil, ErrNotSupported }
