package signals

import "fmt"

// AddExternal adds a signal that is not decoded from a CAN frame (an OBD-II
// PID or a UDS data identifier polled through a diagnostic adapter), so that
// it has a slot in the last-known-value table and a name in the store like
// any DBC signal. group names the source ("OBD"); it becomes a message with
// no CAN id that frame lookups never match. m maps it to a VSS path (nil:
// unmapped). Call it before NewTable. Adding the same group and name twice
// returns the existing signal.
func (db *Database) AddExternal(group, name, unit string, m *Mapping) (*Signal, error) {
	if db.byName == nil {
		db.byName = map[string]*Message{}
	}
	msg := db.byName[group]
	if msg == nil {
		msg = &Message{Name: group, byName: map[string]*Signal{}}
		db.byName[group] = msg
	} else if len(msg.Signals) > 0 && msg.Signals[0].needBytes != 0 {
		return nil, fmt.Errorf("signals: %q is a CAN message of %s, not an external group", group, db.File)
	}
	if s := msg.byName[name]; s != nil {
		return s, nil
	}
	s := &Signal{Name: name, Message: msg, Index: len(db.Signals), Kind: Float64, Unit: unit, Factor: 1, Mapping: m}
	msg.Signals = append(msg.Signals, s)
	msg.byName[name] = s
	db.Signals = append(db.Signals, s)
	return s, nil
}
