//go:build linux

package socketcan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/evedge/evedge/drivers/can"
)

// platform is the socket, registered with the runtime poller so that a
// blocked read yields its thread and ends when the file is closed.
type platform struct {
	f   *os.File
	rc  syscall.RawConn
	buf [fdWireLen]byte // a struct can_frame, or a struct canfd_frame on an FD socket
	oob [128]byte       // room for SCM_TIMESTAMPNS and SO_RXQ_OVFL messages
}

func (c *Conn) open(o *options) (err error) {
	fail := func(what string, err error) error {
		return fmt.Errorf("socketcan: open %s: %s: %w", c.name, what, err)
	}
	fd, err := unix.Socket(unix.AF_CAN, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.CAN_RAW)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EPROTONOSUPPORT) {
			return fmt.Errorf("socketcan: open %s: %w: the kernel has no SocketCAN (AF_CAN, CAN_RAW): %w",
				c.name, can.ErrNotSupported, err)
		}
		return fail("socket", err)
	}
	owned := true // until os.File takes the fd over
	defer func() {
		if err != nil && owned {
			_ = unix.Close(fd)
		}
	}()

	ifr, err := unix.NewIfreq(c.name)
	if err != nil {
		return fail(fmt.Sprintf("bad interface name %q", c.name), err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fail(fmt.Sprintf("no interface %q", c.name), err)
	}
	ifindex := int(ifr.Uint32())

	switch o.fd {
	case fdOn:
		c.fd = true
	case fdAuto:
		c.fd = interfaceMTU(fd, c.name) == fdWireLen
	}
	if c.fd {
		if err := unix.SetsockoptInt(fd, unix.SOL_CAN_RAW, unix.CAN_RAW_FD_FRAMES, 1); err != nil {
			return fail("receive CAN FD frames (CAN_RAW_FD_FRAMES)", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_CAN_RAW, unix.CAN_RAW_ERR_FILTER, unix.CAN_ERR_MASK); err != nil {
		return fail("receive error frames (CAN_RAW_ERR_FILTER)", err)
	}
	if o.setFilter {
		fs := make([]unix.CanFilter, len(o.filters))
		for i, f := range o.filters {
			fs[i].Id, fs[i].Mask = f.raw()
		}
		if err := unix.SetsockoptCanRawFilter(fd, unix.SOL_CAN_RAW, unix.CAN_RAW_FILTER, fs); err != nil {
			return fail(fmt.Sprintf("receive filter of %d entries (CAN_RAW_FILTER)", len(fs)), err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("kernel timestamps (SO_TIMESTAMPNS)", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return fail("drop counter (SO_RXQ_OVFL)", err)
	}
	if o.rcvbuf > 0 {
		err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, o.rcvbuf)
		if errors.Is(err, unix.EPERM) {
			err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvbuf)
		}
		if err != nil {
			return fail(fmt.Sprintf("receive buffer %d bytes", o.rcvbuf), err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrCAN{Ifindex: ifindex}); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fail(fmt.Sprintf("interface %q is not a CAN interface", c.name), err)
		}
		return fail("bind", err)
	}

	// The fd is non-blocking, so os.NewFile registers it with the poller.
	f := os.NewFile(uintptr(fd), "socketcan:"+c.name)
	owned = false
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return fail("raw conn", err)
	}
	c.plat.f, c.plat.rc = f, rc
	return nil
}

// interfaceMTU returns the MTU of interface name (CAN_MTU 16 for a
// classical CAN link, CANFD_MTU 72 for a CAN FD one), or 0 when it cannot
// be read.
func interfaceMTU(fd int, name string) uint32 {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFMTU, ifr); err != nil {
		return 0
	}
	return ifr.Uint32()
}

func (p *platform) close() error { return p.f.Close() }

// receive reads one frame with recvmsg, taking the kernel timestamp and the
// drop counter from the ancillary data.
func (c *Conn) receive() bool {
	p := &c.plat
	for {
		var n, oobn, flags int
		var rerr error
		err := p.rc.Read(func(fd uintptr) bool {
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), p.buf[:], p.oob[:], 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if c.closed.Load() {
				return false // closed on purpose: not an error
			}
			c.err = fmt.Errorf("socketcan: %s: receive: %w", c.name, err)
			return false
		}
		if flags&unix.MSG_TRUNC != 0 {
			continue // larger than a CAN FD frame (CAN XL): not for us
		}
		var f can.Frame
		switch n {
		case wireLen:
			f = decodeWire(p.buf[:wireLen], &c.stats)
		case fdWireLen:
			var ok bool
			if f, ok = decodeFD(p.buf[:], &c.stats); !ok {
				continue // payload over 8 bytes: counted in Stats.FDOversize
			}
		default:
			continue // not a CAN frame of a size we know
		}
		f.Bus = c.bus
		if flags&unix.MSG_DONTROUTE != 0 {
			f.Flags |= can.TX // sent by a socket on this host
		}
		ts, drops, haveTS, haveDrops := parseControl(p.oob[:oobn])
		if !haveTS {
			ts = c.now().UnixNano()
		}
		f.Time = ts
		if haveDrops {
			c.stats.dropped.Store(uint64(drops))
		}
		c.frame = f
		return true
	}
}

// parseControl extracts SCM_TIMESTAMPNS (a struct timespec, 32- or 64-bit
// fields depending on the architecture) and SO_RXQ_OVFL (a uint32 count
// of drops, sent only once it is non-zero) from recvmsg ancillary data.
func parseControl(oob []byte) (ts int64, drops uint32, haveTS, haveDrops bool) {
	if len(oob) == 0 {
		return 0, 0, false, false
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, 0, false, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch {
		case m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			ts, haveTS = sec*1e9+nsec, true
		case m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 8:
			sec := int64(int32(binary.NativeEndian.Uint32(m.Data[0:4])))
			nsec := int64(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
			ts, haveTS = sec*1e9+nsec, true
		case m.Header.Type == unix.SO_RXQ_OVFL && len(m.Data) >= 4:
			drops, haveDrops = binary.NativeEndian.Uint32(m.Data[0:4]), true
		}
	}
	return ts, drops, haveTS, haveDrops
}

func (c *Conn) write(b []byte) error {
	if _, err := c.plat.f.Write(b); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("socketcan: %s: write: %w", c.name, err)
	}
	return nil
}
