package elmsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// PTY is a simulated adapter served on a pseudo-terminal: a client opens
// Path like a USB serial adapter. The client may close and reopen the path:
// the adapter keeps its state, as a real one powered by the car does (the
// simulator holds the slave open, so the master never sees a hang-up).
// Unplug and Plug make the adapter vanish and come back, as a USB adapter
// pulled out or a Bluetooth link lost; a dropped connection (the
// DropMidAnswer fault) unplugs it by itself.
type PTY struct {
	sim  *Sim
	link string
	stop func() bool

	opMu   sync.Mutex // serialises Plug, Unplug and Close
	mu     sync.Mutex
	cur    *ptyPair
	closed bool
	err    error
}

type ptyPair struct {
	master, slave *os.File
	path          string
	done          chan struct{}
}

// ServePTY opens a pseudo-terminal in raw mode and serves the adapter on
// its master side until ctx ends or Close is called. The client opens
// PTY.Path (the slave, e.g. /dev/pts/5).
func (s *Sim) ServePTY(ctx context.Context) (*PTY, error) {
	return s.ServePTYAt(ctx, "")
}

// ServePTYAt is ServePTY with a stable path: link is a symlink to the
// current slave, created (atomically replaced) at every Plug and removed at
// Unplug, so that the client always opens the same name, as with
// /dev/serial/by-id. The folder of link must exist.
func (s *Sim) ServePTYAt(ctx context.Context, link string) (*PTY, error) {
	p := &PTY{sim: s, link: link}
	if err := p.Plug(); err != nil {
		return nil, err
	}
	p.stop = context.AfterFunc(ctx, func() { p.Close() })
	return p, nil
}

// Path is the name a client opens: the symlink if any, else the slave.
func (p *PTY) Path() string {
	if p.link != "" {
		return p.link
	}
	return p.SlavePath()
}

// SlavePath is the current slave device, "" while unplugged.
func (p *PTY) SlavePath() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return ""
	}
	return p.cur.path
}

// Plugged reports whether the adapter is present. After a dropped
// connection it turns false once the client has read the last bytes (at
// most 500 ms).
func (p *PTY) Plugged() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur != nil
}

// Err returns the error that ended the last session, if it was not a
// normal unplug (ErrDropped after the DropMidAnswer fault).
func (p *PTY) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Plug opens a new pseudo-terminal, points the link at it and serves a
// freshly powered-up adapter (settings reset, stored protocol kept). It
// does nothing if the adapter is present.
func (p *PTY) Plug() error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	closed, present := p.closed, p.cur != nil
	p.mu.Unlock()
	if closed {
		return errors.New("elmsim: pty closed")
	}
	if present {
		return nil
	}
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	pair := &ptyPair{master: master, slave: slave, path: slave.Name(), done: make(chan struct{})}
	if p.link != "" {
		tmp := filepath.Join(filepath.Dir(p.link), "."+filepath.Base(p.link)+".tmp")
		os.Remove(tmp)
		if err := os.Symlink(pair.path, tmp); err != nil {
			master.Close()
			slave.Close()
			return fmt.Errorf("elmsim: %w", err)
		}
		if err := os.Rename(tmp, p.link); err != nil {
			os.Remove(tmp)
			master.Close()
			slave.Close()
			return fmt.Errorf("elmsim: %w", err)
		}
	}
	p.mu.Lock()
	p.cur = pair
	p.mu.Unlock()
	go p.serve(pair)
	return nil
}

func (p *PTY) serve(pair *ptyPair) {
	err := p.sim.Serve(&ptyConn{pair})
	close(pair.done)
	// If the pair is still current, the session ended by itself (a
	// dropped connection): the adapter is gone. opMu keeps a concurrent
	// Plug from re-pointing the link while it is removed; Unplug holds it
	// only until done is closed.
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	mine := p.cur == pair
	if mine {
		p.cur = nil
		p.err = err
	}
	p.mu.Unlock()
	if mine {
		p.release(pair)
	}
}

// ptyConn is the master side as Serve sees it. When a session drops the
// connection (a fault), Close lets the client read what was written first,
// as a real link delivers its last bytes before it goes down; the kernel
// discards a hung-up terminal's unread input.
type ptyConn struct{ pair *ptyPair }

func (c *ptyConn) Read(b []byte) (int, error)  { return c.pair.master.Read(b) }
func (c *ptyConn) Write(b []byte) (int, error) { return c.pair.master.Write(b) }
func (c *ptyConn) Close() error {
	drain(c.pair.slave, 500*time.Millisecond)
	return c.pair.master.Close()
}

// release closes a pair and removes the link if it still points at it.
func (p *PTY) release(pair *ptyPair) {
	pair.master.Close()
	pair.slave.Close()
	if p.link != "" {
		if target, err := os.Readlink(p.link); err == nil && target == pair.path {
			os.Remove(p.link)
		}
	}
}

// Unplug closes the pseudo-terminal: the client's reads end (EOF or EIO)
// and its writes fail; the link is removed. It waits for the session to
// end.
func (p *PTY) Unplug() error {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	pair := p.cur
	p.cur = nil
	p.mu.Unlock()
	if pair == nil {
		return nil
	}
	pair.master.Close() // ends the session's read
	<-pair.done
	p.release(pair)
	return nil
}

// Replug unplugs and plugs the adapter again.
func (p *PTY) Replug() error {
	if err := p.Unplug(); err != nil {
		return err
	}
	return p.Plug()
}

// Close unplugs the adapter for good.
func (p *PTY) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	if p.stop != nil {
		p.stop()
	}
	return p.Unplug()
}
