// Package dialog is the cabin voice assistant's dialogue: it turns a
// recognised intent (package intent) into an answer from the car's live
// state and, for vehicle actions, into CAN command frames that pass a
// safety gate before they are sent.
//
// What the dialogue needs from the rest of the agent is declared here as
// small interfaces: State gives live values by VSS path with their age (the
// agent's last-known-value table, a state file, a test), Faults gives the
// active diagnoses and trouble codes with their meaning in the request's
// language. Actions are encoded from the vehicle's DBC command messages
// and written to a can.Sink.
//
// Everything said is data in the context files (agent/voice/contexts):
// intent responses, and shared responses for values the car does not
// report ("unknown_range"), for refusals ("refused" with a "reason_*"
// text, or "not_allowed_<kind>") and for "not_understood". Numbers are
// formatted for the request's language (decimal comma in de, es, fr).
//
// # Safety gate
//
// An action (SetTemperature, OpenWindow, CloseWindow, SeatHeatingOn/Off,
// LightsOn/Off) is sent only when every check passes, in this order; the
// first that fails is the Reason the reply gives:
//
//  1. The vehicle's DBC has the command message (ReasonUnsupported) and the
//     board profile's [[can_write]] allows it (ReasonNotAllowed).
//  2. Speed and gear are known and fresh (Config.MaxAge.Safety), else
//     ReasonSpeedUnknown, ReasonGearUnknown.
//  3. Not in reverse for the kinds Config.Gates.Reverse lists (all by
//     default): ReasonReverse.
//  4. The board's max_speed_kmh for the message: ReasonBoardSpeed.
//  5. Windows open only at or below Config.Gates.WindowOpenMaxKmh (80):
//     ReasonSpeed. Closing is allowed at any speed.
//  6. Rear windows do not open while the window child lock or that door's
//     child lock is engaged (ReasonChildLock), nor when that cannot be read
//     (ReasonChildLockUnknown), whichever cabin zone asks, unless the zone
//     is in Config.Gates.ChildLockExemptZones.
//  7. The board's max_rate for the message: ReasonRateLimit.
//
// Cancel undoes the last action within Config.CancelWindow (windows stop
// where they are; set point, seat heater and lights go back to the values
// read before the action); Repeat says the last answer again.
package dialog
