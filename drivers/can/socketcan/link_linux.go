//go:build linux

package socketcan

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

var nlSeq atomic.Uint32

// rtnl sends one rtnetlink request and waits for its answer: the
// RTM_NEWLINK body of a GETLINK, nil for an acknowledged change.
func rtnl(req func(seq uint32) []byte) ([]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 2}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	seq := nlSeq.Add(1)
	if err := unix.Sendto(fd, req(seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 32<<10)
	var body []byte
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink receive: %w", err)
		}
		b, done, errno, err := parseReply(buf[:n], seq)
		if err != nil {
			return nil, err
		}
		if b != nil {
			body = append([]byte(nil), b...)
		}
		if done {
			if errno != 0 {
				return body, syscall.Errno(errno)
			}
			return body, nil
		}
	}
}

// LinkStatus reports the configuration, state and error counters of CAN
// interface name. It needs no privilege.
func LinkStatus(name string) (Link, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return Link{}, fmt.Errorf("socketcan: link %s: %w", name, err)
	}
	body, err := rtnl(func(seq uint32) []byte {
		return linkMsg(rtmGetLink, seq, int32(ifc.Index), 0, 0, nil)
	})
	if err != nil {
		return Link{}, fmt.Errorf("socketcan: link %s: %w", name, err)
	}
	l, err := parseLink(body)
	if err != nil {
		return Link{}, fmt.Errorf("socketcan: link %s: %w", name, err)
	}
	if l.Name == "" {
		l.Name = name
	}
	return l, nil
}

// setUp sets the link administratively up or down.
func setUp(index int, up bool) error {
	var flags uint32
	if up {
		flags = iffUp
	}
	_, err := rtnl(func(seq uint32) []byte { return linkMsg(rtmNewLink, seq, int32(index), flags, iffUp, nil) })
	return err
}

// Configure brings CAN interface name up with cfg, as
//
//	ip link set NAME down
//	ip link set NAME type can bitrate B [listen-only on] restart-ms R [dbitrate D fd on]
//	ip link set NAME up
//
// would. A link that already runs with cfg is left alone (taking it down
// loses frames). It needs CAP_NET_ADMIN; without it the error wraps
// os.ErrPermission. A virtual link (vcan, vxcan) has no bit timing: it is
// only brought up if down, and the error wraps ErrNotConfigurable. Either
// way the caller may go on and use the link as it is.
func Configure(name string, cfg LinkConfig) error {
	fail := func(what string, err error) error {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			err = fmt.Errorf("%w (needs CAP_NET_ADMIN): %w", os.ErrPermission, err)
		}
		return fmt.Errorf("socketcan: configure %s: %s: %w", name, what, err)
	}
	if cfg.Bitrate == 0 {
		return fmt.Errorf("socketcan: configure %s: no bitrate", name)
	}
	l, err := LinkStatus(name)
	if err != nil {
		return err
	}
	if l.Kind != "can" {
		if !l.Up {
			if err := setUp(l.Index, true); err != nil {
				return fail("set up", err)
			}
		}
		return fmt.Errorf("socketcan: configure %s: %q %w", name, l.Kind, ErrNotConfigurable)
	}
	if l.matches(cfg) {
		return nil
	}
	if l.Up {
		if err := setUp(l.Index, false); err != nil {
			return fail("set down", err)
		}
	}
	if _, err := rtnl(func(seq uint32) []byte {
		return linkMsg(rtmNewLink, seq, int32(l.Index), 0, 0, canLinkAttrs(cfg))
	}); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			err = fmt.Errorf("%w: %w", ErrNotConfigurable, err)
		}
		err = fail(fmt.Sprintf("bitrate %d listen-only %v restart-ms %d fd %v dbitrate %d",
			cfg.Bitrate, cfg.ListenOnly, cfg.RestartMs, cfg.FD, cfg.DataBitrate), err)
		// Leave the link up as it was rather than down.
		if l.Up {
			_ = setUp(l.Index, true)
		}
		return err
	}
	if err := setUp(l.Index, true); err != nil {
		return fail("set up", err)
	}
	return nil
}

// Link reports the state of the Conn's interface (LinkStatus).
func (c *Conn) Link() (Link, error) { return LinkStatus(c.name) }
