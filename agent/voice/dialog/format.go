package dialog

import (
	"math"
	"strconv"

	"github.com/evedge/evedge/agent/voice/intent"
)

// FormatNumber writes v rounded to at most decimals places as the
// request's language writes numbers for speech synthesis: a decimal point
// in English and Chinese, a decimal comma in German, Spanish and French;
// digit groups of thousands from 1000 (en ",", de ".", fr narrow no-break
// space) or, in Spanish, from 10000 ("."); none in Chinese. Trailing zeros
// are dropped ("2.5", not "2.50").
func FormatNumber(lang intent.Language, v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "?"
	}
	p := math.Pow10(decimals)
	v = math.Round(v*p) / p
	if v == 0 {
		v = 0 // no "-0"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', -1, 64)
	intPart, frac := s, ""
	for i := range len(s) {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	var group, point string
	minGroup := 4
	switch lang {
	case intent.German:
		group, point = ".", ","
	case intent.Spanish:
		group, point, minGroup = ".", ",", 5
	case intent.French:
		group, point = "\u202f", ","
	case intent.Chinese:
		point = "."
	default:
		group, point = ",", "."
	}
	out := make([]byte, 0, len(s)+8)
	if v < 0 {
		out = append(out, '-')
	}
	if group != "" && len(intPart) >= minGroup {
		for i := range len(intPart) {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				out = append(out, group...)
			}
			out = append(out, intPart[i])
		}
	} else {
		out = append(out, intPart...)
	}
	if frac != "" {
		out = append(out, point...)
		out = append(out, frac...)
	}
	return string(out)
}
