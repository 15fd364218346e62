// Package sim is a simulated electric car that talks CAN: the physics of a
// battery-electric powertrain and the ECUs that report it on a powertrain
// bus described by board/sim/sim-ev.dbc. It feeds the sim board, the demos
// and every test that needs a car.
//
// Physics, integrated in fixed steps of Config.Tick (100 ms by default):
//
//   - Traction battery: Config.Cells series elements (96), each an
//     equivalent circuit (NMC open-circuit voltage curve, R0 plus one RC
//     pair, resistance rising in the cold) with seeded spread of capacity,
//     resistance and initial charge; a BMS that counts coulombs, reports the
//     weakest cell's capacity as SOH, derates charge and discharge current
//     for temperature, state of charge and cell voltage limits (which makes
//     the constant-voltage taper), runs the contactors through precharge and
//     watches the interlock.
//   - Heat: a lumped thermal mass per module heated by I²R, one coolant loop
//     with a pump, radiator and chiller that also carries the motor, the
//     inverter and the DC-DC converter, and exchange with the ambient air.
//   - Vehicle: longitudinal dynamics (mass, drag, rolling resistance) that
//     follow a drive cycle within the motor's torque and power, regenerative
//     braking within the battery's charge limit, a loss model for motor and
//     inverter, auxiliary loads, odometer.
//   - 12 V: an AGM battery and the DC-DC converter that charges it while the
//     high-voltage system is on; an insulation monitor whose reading wanders
//     around several megaohm.
//   - Body and cabin (body.go): cabin air temperature driven by the HVAC set
//     point while the high-voltage system is on, else drifting to ambient;
//     four power windows, seat heaters, lights, child locks, the selected
//     gear for the body ECUs, tyre pressures that follow the tyre air
//     temperature. The body obeys the head unit's command messages given to
//     Command, has a random source of its own and never changes the
//     powertrain's frames.
//   - Scenarios: WLTP-like, urban and highway drive cycles, idling, parking,
//     11 kW AC and 150 kW DC (CC-CV) charging, and "loop", which drives and
//     fast-charges for ever so that a live view always shows motion.
//
// Faults (FaultKinds) are injected with a start, a ramp and a severity and
// act through the Plant, which other packages can drive with their own
// Fault implementations.
//
// Time is explicit. Step advances the physics and never sleeps, so a test
// can drive for an hour in a fraction of a second; Frames returns the
// frames due by a given sim time, encoded with the DBC by signals.Encode;
// Run paces both against a Clock at a chosen speed and writes to a
// can.Sink such as a can.Bus. The same Config (Seed and Start included),
// faults and steps give bit-identical frames.
package sim
