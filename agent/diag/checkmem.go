package diag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// RememberingCheck is a monitor check whose state must outlive the agent:
// one that compares the car before a sleep with the car after it (a head
// unit that powers down with the car restarts the agent at every
// wake-up).
type RememberingCheck interface {
	Check
	// AppendMemory appends the check's state to b.
	AppendMemory(b []byte) []byte
	// RestoreMemory sets the check's state from an AppendMemory encoding,
	// or refuses it with the reason and leaves the check as new.
	RestoreMemory(b []byte) error
}

// The checks' memory record: "EVCM", version 1, the number of entries
// (uint8), per entry the check's name (uint8 length, bytes) and its state
// (uint16 length, bytes); a CRC-32 (IEEE) of everything before it ends
// the record.
const (
	checkMemMagic   = "EVCM"
	checkMemVersion = 1
	checkMemFixed   = len(checkMemMagic) + 1 + 1 + 4
	// MaxCheckMemorySize bounds an encoded checks' memory.
	MaxCheckMemorySize = 4096
)

// AppendCheckMemory appends the memory of the checks that keep one
// (RememberingCheck) to b.
func AppendCheckMemory(b []byte, checks []Check) []byte {
	start := len(b)
	b = append(b, checkMemMagic...)
	b = append(b, checkMemVersion, 0)
	n := 0
	for _, c := range checks {
		r, ok := c.(RememberingCheck)
		if !ok {
			continue
		}
		name := r.Name()
		b = append(b, byte(len(name)))
		b = append(b, name...)
		at := len(b)
		b = append(b, 0, 0)
		b = r.AppendMemory(b)
		binary.LittleEndian.PutUint16(b[at:], uint16(len(b)-at-2))
		n++
	}
	b[start+len(checkMemMagic)+1] = byte(n)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// RestoreCheckMemory gives each check its state from an AppendCheckMemory
// record. An entry for a check not in checks (another agent version) is
// skipped; a check without an entry starts as new. A record that is
// truncated or corrupt is refused with the reason and changes no check;
// an entry a check refuses is reported, naming the check, and the others
// are restored.
func RestoreCheckMemory(b []byte, checks []Check) error {
	switch {
	case len(b) < checkMemFixed:
		return fmt.Errorf("checks' memory: %d bytes, want at least %d", len(b), checkMemFixed)
	case len(b) > MaxCheckMemorySize:
		return fmt.Errorf("checks' memory: %d bytes, more than %d", len(b), MaxCheckMemorySize)
	case string(b[:4]) != checkMemMagic:
		return errors.New("checks' memory: not a checks' memory record (magic)")
	case b[4] != checkMemVersion:
		return fmt.Errorf("checks' memory: version %d, this agent reads %d", b[4], checkMemVersion)
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return errors.New("checks' memory: checksum mismatch")
	}
	n := int(b[5])
	type entry struct {
		name  string
		state []byte
	}
	entries := make([]entry, 0, n)
	p := body[6:]
	for i := range n {
		if len(p) < 1 || len(p) < 1+int(p[0])+2 {
			return fmt.Errorf("checks' memory: entry %d: truncated", i)
		}
		name := string(p[1 : 1+p[0]])
		p = p[1+len(name):]
		size := int(binary.LittleEndian.Uint16(p))
		if len(p) < 2+size {
			return fmt.Errorf("checks' memory: entry %d (%s): %d bytes of state, %d left", i, name, size, len(p)-2)
		}
		entries = append(entries, entry{name, p[2 : 2+size]})
		p = p[2+size:]
	}
	if len(p) != 0 {
		return fmt.Errorf("checks' memory: %d bytes after %d entries", len(p), n)
	}
	var errs []error
	for _, e := range entries {
		for _, c := range checks {
			r, ok := c.(RememberingCheck)
			if !ok || r.Name() != e.name {
				continue
			}
			if err := r.RestoreMemory(e.state); err != nil {
				errs = append(errs, fmt.Errorf("checks' memory: %s: %w", e.name, err))
			}
		}
	}
	return errors.Join(errs...)
}
