// Package elmsim simulates an ELM327 OBD-II adapter (v1.5 and v2.x firmware,
// and the clones built on them) in front of a simulated car, so that the
// agent's ELM327 driver is tested against what real adapters print rather
// than against a friendly fake.
//
// The simulation has two layers:
//
//   - the car: a CAN bus with ECUs (Car, Node, ECU). An ECU turns a request
//     payload into answer payloads; the bus segments them with ISO-TP
//     (package isotp), holds consecutive frames until the adapter's flow
//     control reaches the ECU's request id, and applies timing;
//   - the adapter: a byte-stream session (Sim.Serve) that parses commands
//     the way the ELM327 datasheet (ELM327DS) describes, keeps the AT
//     settings, filters received frames (AT AR / CRA / CF / CM / CEA) and
//     prints them as the chip does (ATH, ATS, ATCAF, ATD1, ATL...).
//
// Built-in ECUs: OBDECU answers SAE J1979 services from a State snapshot,
// UDSECU answers ISO 14229 ReadDataByIdentifier and ReadDTCInformation, and
// TranscriptECU replays answers recorded by a real adapter (OBDb test-case
// YAML files) frame by frame.
//
// Sim.ServePTY opens a pseudo-terminal pair and serves the master side; a
// client opens the slave path exactly like /dev/ttyUSB0. Sim.ServePTYAt
// keeps a symlink pointing at the current slave, and PTY.Unplug/Plug
// simulate the adapter disappearing and coming back:
//
//	car := elmsim.NewCar(elmsim.Node{ReqID: 0x7E0, RespID: 0x7E8, OBD: true,
//		ECU: &elmsim.OBDECU{VIN: "1G1FZ6S07L4100001", State: snapshot}})
//	p, err := elmsim.New(car).ServePTYAt(ctx, filepath.Join(dir, "ttyOBD"))
//	if err != nil { ... }
//	defer p.Close()
//	// the driver opens p.Path()
//
// Faults (Sim.SetFaults) inject the misbehaviour seen on real adapters:
// garbage bytes, CAN ERROR, BUFFER FULL, "?" for everything, silence,
// a connection dropped in the middle of an answer, answers written in
// small pieces, slow answers.
//
// Behaviour that is approximated rather than exact is listed in the
// comments of the code that implements it (search for "Approximation").
package elmsim
