package intent

import (
	"fmt"
	"strings"
)

// MaxNumber is the largest integer that Number can spell.
const MaxNumber = 999

// Number spells n (0..MaxNumber) in words the way the language writes it:
// en "twenty-one" (British "one hundred and five"), de "einundzwanzig",
// es "veintiuno", fr "soixante-dix-sept" (traditional spelling), zh "二十一".
// Hyphens separate words when matching, so "vingt-et-un" and "vingt et un"
// are the same words.
func Number(lang Language, n int) (string, error) {
	if n < 0 || n > MaxNumber {
		return "", fmt.Errorf("number %d out of range 0..%d", n, MaxNumber)
	}
	switch lang {
	case English:
		return numEN(n, true), nil
	case German:
		return numDE(n, true), nil
	case Spanish:
		return numES(n), nil
	case French:
		return numFR(n), nil
	case Chinese:
		return numZH(n), nil
	}
	return "", fmt.Errorf("unsupported language %q", lang)
}

// NumberPinyin spells n (0..MaxNumber) in Mandarin pinyin with tone
// numbers, one syllable per character of Number(Chinese, n): 21 is
// "er4 shi2 yi1". Tones are the citation tones (no tone sandhi).
func NumberPinyin(n int) (string, error) {
	h, err := Number(Chinese, n)
	if err != nil {
		return "", err
	}
	return hanziNumberPinyin(h), nil
}

func hanziNumberPinyin(h string) string {
	var syl []string
	for _, r := range h {
		syl = append(syl, zhDigitPinyin[r])
	}
	return strings.Join(syl, " ")
}

// numberVariants lists the spellings of n that a speaker may use, the
// canonical Number first.
func numberVariants(lang Language, n int) []string {
	first, err := Number(lang, n)
	if err != nil {
		return nil
	}
	v := []string{first}
	switch lang {
	case English:
		if s := numEN(n, false); s != first {
			v = append(v, s) // American: "one hundred five"
		}
	case German:
		if s := numDE(n, false); s != first {
			v = append(v, s) // "hundert" for "einhundert"
		}
	case Spanish:
		// Apocope before a masculine noun: "veintiún grados", "un grado".
		if strings.HasSuffix(first, "uno") && n%100 != 11 {
			s := strings.TrimSuffix(first, "uno")
			if strings.HasSuffix(s, "veinti") {
				v = append(v, s+"ún")
			} else {
				v = append(v, s+"un")
			}
		}
	}
	return v
}

var enOnes = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
	"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
var enTens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

func numEN(n int, and bool) string {
	if n >= 100 {
		s := enOnes[n/100] + " hundred"
		if r := n % 100; r > 0 {
			if and {
				s += " and"
			}
			s += " " + numEN(r, and)
		}
		return s
	}
	if n < 20 {
		return enOnes[n]
	}
	if n%10 == 0 {
		return enTens[n/10]
	}
	return enTens[n/10] + "-" + enOnes[n%10]
}

var deOnes = []string{"null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
	"zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn"}
var deTens = []string{"", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig"}

// dePrefix is a digit as the first part of a compound: "ein" not "eins".
func dePrefix(d int) string {
	if d == 1 {
		return "ein"
	}
	return deOnes[d]
}

func numDE(n int, ein bool) string {
	if n >= 100 {
		s := dePrefix(n/100) + "hundert"
		if n/100 == 1 && !ein {
			s = "hundert"
		}
		if r := n % 100; r > 0 {
			s += numDE(r, ein)
		}
		return s
	}
	if n < 20 {
		return deOnes[n]
	}
	if n%10 == 0 {
		return deTens[n/10]
	}
	return dePrefix(n%10) + "und" + deTens[n/10]
}

var esSmall = []string{"cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
	"diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve",
	"veinte", "veintiuno", "veintidós", "veintitrés", "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve"}
var esTens = []string{"", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"}
var esHundreds = []string{"", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos",
	"seiscientos", "setecientos", "ochocientos", "novecientos"}

func numES(n int) string {
	if n == 100 {
		return "cien"
	}
	if n > 100 {
		s := esHundreds[n/100]
		if r := n % 100; r > 0 {
			s += " " + numES(r)
		}
		return s
	}
	if n < 30 {
		return esSmall[n]
	}
	if n%10 == 0 {
		return esTens[n/10]
	}
	return esTens[n/10] + " y " + esSmall[n%10]
}

var frSmall = []string{"zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
	"dix", "onze", "douze", "treize", "quatorze", "quinze", "seize"}
var frTens = []string{"", "", "vingt", "trente", "quarante", "cinquante", "soixante"}

// frBelow20 spells 0..19.
func frBelow20(n int) string {
	if n <= 16 {
		return frSmall[n]
	}
	return "dix-" + frSmall[n-10]
}

func numFR(n int) string {
	if n >= 100 {
		h, r := n/100, n%100
		s := "cent"
		if h > 1 {
			s = frSmall[h] + " cent"
			if r == 0 {
				s += "s"
			}
		}
		if r > 0 {
			s += " " + numFR(r)
		}
		return s
	}
	switch {
	case n < 20:
		return frBelow20(n)
	case n < 70:
		t, u := n/10, n%10
		switch u {
		case 0:
			return frTens[t]
		case 1:
			return frTens[t] + " et un"
		}
		return frTens[t] + "-" + frSmall[u]
	case n < 80: // soixante-dix ... soixante-dix-neuf
		if n == 71 {
			return "soixante et onze"
		}
		return "soixante-" + frBelow20(n-60)
	case n == 80:
		return "quatre-vingts"
	}
	return "quatre-vingt-" + frBelow20(n-80)
}

var zhDigits = []rune("零一二三四五六七八九")

var zhDigitPinyin = map[rune]string{
	'零': "ling2", '一': "yi1", '二': "er4", '三': "san1", '四': "si4", '五': "wu3",
	'六': "liu4", '七': "qi1", '八': "ba1", '九': "jiu3", '十': "shi2", '百': "bai3",
	'两': "liang3",
}

func numZH(n int) string {
	d := zhDigits
	var b []rune
	if n >= 100 {
		b = append(b, d[n/100], '百')
		r := n % 100
		switch {
		case r == 0:
			return string(b)
		case r < 10:
			return string(append(b, '零', d[r]))
		}
		// 110 is 一百一十: the tens digit is said after hundreds.
		b = append(b, d[r/10], '十')
		if r%10 > 0 {
			b = append(b, d[r%10])
		}
		return string(b)
	}
	switch {
	case n < 10:
		return string(d[n])
	case n < 20:
		b = append(b, '十')
	default:
		b = append(b, d[n/10], '十')
	}
	if n%10 > 0 {
		b = append(b, d[n%10])
	}
	return string(b)
}

// digitsToHanzi converts a run of ASCII digits to the Chinese numeral, or
// digit by digit when the number is larger than MaxNumber.
func digitsToHanzi(s string) string {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
		if n > MaxNumber {
			break
		}
	}
	if n <= MaxNumber && len(s) <= 3 {
		return numZH(n)
	}
	var b []rune
	for _, c := range s {
		b = append(b, zhDigits[c-'0'])
	}
	return string(b)
}
