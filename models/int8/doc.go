// Package int8nn is a small, dependency-free int8 inference engine for the
// fault-detection models (an MLP over a feature vector of a few dozen floats,
// a few dense layers, float outputs such as an anomaly score and class
// logits), and the EVNN file format that carries such a model together with
// the golden vectors that prove the Go inference reproduces the trainer.
//
// # Arithmetic
//
// Inputs are standardised with the stored mean and std, z = (x-mean)/std,
// then quantised symmetrically: q = clamp(round(z/inScale), -127, 127).
// Each dense layer computes int8 x int8 products accumulated in int32, plus an
// int32 bias quantised with scale inScale*wScale[c] (c is the output channel;
// weight scales are per output channel, symmetric). ReLU is applied to the
// int32 accumulator. A hidden layer requantises with
// clamp(round(acc * inScale*wScale[c]/outScale), -127, 127), and outScale is
// the next layer's input scale. The final layer dequantises instead:
// out[c] = acc * inScale*wScale[c], as float32. round is round half away from
// zero (math.Round); the multipliers are computed in float64.
//
// [Model.RunFloatRef] runs the same network in float64 with the same
// quantisation points (fake quantisation); the trainer uses it (through
// [Model.SetGolden]) to produce the golden outputs, and the int8 [Runner]
// reproduces it to float32 rounding. [Model.Verify] checks the golden vectors;
// [Read], [Load] and [Write] call it, so a model that does not reproduce its
// reference is never loaded nor written.
//
// The loader checks that no accumulator can overflow int32:
// 127*sum|w[c]| + |bias[c]| <= MaxInt32 for every channel.
//
// # File format (version 1)
//
// Little-endian throughout. str is a uint16 byte length followed by that many
// bytes of UTF-8 (at most 255). f32 is an IEEE-754 float32.
//
//	field            type              notes
//	magic            [4]byte           "EVNN"
//	version          uint16            1
//	flags            uint16            0 (reserved)
//	name             str               model name, not empty
//	model version    str               e.g. "2026.03-1"
//	nInputs          uint32            1..4096
//	  name           str               VSS path or feature name, not empty
//	  mean           f32               finite
//	  std            f32               finite, > 0
//	inScale          f32               input quantisation scale, finite, > 0
//	nLayers          uint16            1..32
//	  kind           uint8             1 = dense
//	  activation     uint8             0 = none, 1 = relu
//	  in             uint32            = nInputs for layer 0, else previous out
//	  out            uint32            1..65535
//	  outScale       f32               next layer's input scale (> 0);
//	                                   0 on the final layer (float output)
//	  wScale         out x f32         per output channel, finite, > 0
//	  bias           out x int32       scale inScale*wScale[c]
//	  weights        out*in x int8     row-major, one row per output channel
//	nGolden          uint32            1..1024
//	absTol           f32               finite, >= 0
//	relTol           f32               finite, >= 0
//	  input          nInputs x f32     raw (unstandardised) inputs
//	  expected       nOut x f32        reference outputs of the final layer
//	crc              uint32            CRC-32 (IEEE) of every byte before it
//
// A golden output passes when |got-want| <= absTol + relTol*|want|.
// The weights of all layers together are at most 1<<20; a file is at most
// 256 KiB unless [WithMaxSize] says otherwise.
package int8nn
