// Package train generates labelled fault scenarios on the simulated car
// (agent/sim), trains the window classifier that agent/diag runs on
// diag.Features, quantises it to an int8nn model and evaluates it on
// held-out scenarios, as the agent would run it.
//
// Everything is pure Go and deterministic: the same Options give the same
// scenarios, the same weights and the same model file.
package train
