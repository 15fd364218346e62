package audio

import (
	"fmt"
	"math"
	"math/bits"
)

// realFFT is a radix-2 FFT of n real samples, computed as an n/2-point
// complex FFT of the even/odd pairs followed by the usual split step. All
// tables are built once; Transform does not allocate.
type realFFT struct {
	n       int
	rev     []int32   // bit reversal for n/2
	cos     []float32 // twiddles for the n/2-point FFT: exp(-2πik/(n/2))
	sin     []float32
	splitRe []float32 // split step twiddles exp(-2πik/n), k < n/2
	splitIm []float32
	re, im  []float32 // work space, n/2 each
}

func newRealFFT(n int) (*realFFT, error) {
	if n < 4 || n&(n-1) != 0 {
		return nil, fmt.Errorf("audio: FFT size %d is not a power of two >= 4", n)
	}
	h := n / 2
	f := &realFFT{
		n: n, rev: make([]int32, h),
		cos: make([]float32, h/2), sin: make([]float32, h/2),
		splitRe: make([]float32, h), splitIm: make([]float32, h),
		re: make([]float32, h), im: make([]float32, h),
	}
	shift := 64 - bits.TrailingZeros(uint(h))
	for i := range f.rev {
		f.rev[i] = int32(bits.Reverse64(uint64(i)) >> shift)
	}
	if h == 1 {
		f.rev[0] = 0
	}
	for k := range f.cos {
		a := -2 * math.Pi * float64(k) / float64(h)
		f.cos[k], f.sin[k] = float32(math.Cos(a)), float32(math.Sin(a))
	}
	for k := range f.splitRe {
		a := -2 * math.Pi * float64(k) / float64(n)
		f.splitRe[k], f.splitIm[k] = float32(math.Cos(a)), float32(math.Sin(a))
	}
	return f, nil
}

// power writes |X[k]|² for k = 0..n/2 of the real input x (len n) into
// out (len n/2+1).
func (f *realFFT) power(out, x []float32) {
	h := f.n / 2
	re, im := f.re[:h], f.im[:h]
	for i, r := range f.rev {
		re[r] = x[2*i]
		im[r] = x[2*i+1]
	}
	// Stage 1 (size 2): twiddle 1.
	for a := 0; a+1 < h; a += 2 {
		tr, ti := re[a+1], im[a+1]
		re[a+1], im[a+1] = re[a]-tr, im[a]-ti
		re[a] += tr
		im[a] += ti
	}
	// Stage 2 (size 4): twiddles 1 and -i.
	if h >= 4 {
		for a := 0; a+3 < h; a += 4 {
			tr, ti := re[a+2], im[a+2]
			re[a+2], im[a+2] = re[a]-tr, im[a]-ti
			re[a] += tr
			im[a] += ti
			tr, ti = im[a+3], -re[a+3]
			re[a+3], im[a+3] = re[a+1]-tr, im[a+1]-ti
			re[a+1] += tr
			im[a+1] += ti
		}
	}
	for size := 8; size <= h; size <<= 1 {
		half := size / 2
		step := h / size
		for j := 0; j < half; j++ {
			wr, wi := f.cos[j*step], f.sin[j*step]
			for a := j; a+half < h; a += size {
				b := a + half
				tr := wr*re[b] - wi*im[b]
				ti := wr*im[b] + wi*re[b]
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a] += tr
				im[a] += ti
			}
		}
	}
	// Split: Z = FFT(even + i·odd); X[k] = E[k] + W^k O[k] with
	// E[k] = (Z[k] + conj Z[h-k])/2, O[k] = -i (Z[k] - conj Z[h-k])/2.
	out[0] = (re[0] + im[0]) * (re[0] + im[0])
	out[h] = (re[0] - im[0]) * (re[0] - im[0])
	for k := 1; k < h; k++ {
		zr, zi := re[k], im[k]
		cr, ci := re[h-k], -im[h-k]
		er, ei := (zr+cr)*0.5, (zi+ci)*0.5
		dr, di := (zr-cr)*0.5, (zi-ci)*0.5
		or, oi := di, -dr // -i·d
		wr, wi := f.splitRe[k], f.splitIm[k]
		xr := er + wr*or - wi*oi
		xi := ei + wr*oi + wi*or
		out[k] = xr*xr + xi*xi
	}
}
