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
// "er4 shi2 yi1". Tones are the citation tones except the sandhi of 一
// as said inside a number (hanziNumberPinyin): 100 is "yi4 bai3", 110
// "yi4 bai3 yi1 shi2".
func NumberPinyin(n int) (string, error) {
	h, err := Number(Chinese, n)
	if err != nil {
		return "", err
	}
	return hanziNumberPinyin(h), nil
}

// hanziNumberPinyin reads a Chinese numeral (零..九, 十, 百, 千, 万, 亿,
// 两, 点, 负), one syllable per character, with the tone sandhi of 一 as
// it is said inside a number: yi4 as the multiplier of 百 and 千 (一百
// yi4 bai3, 一千 yi4 qian1), yi2 when 一 alone multiplies 万 or 亿 (一万
// yi2 wan4, 一亿 yi2 yi4, 一亿零一万 yi2 yi4 ling2 yi2 wan4); otherwise
// yi1: as the tens multiplier (一百一十 yi4 bai3 yi1 shi2), as the units
// digit of a number (十一万 shi2 yi1 wan4, 一百零一万 yi4 bai3 ling2 yi1
// wan4, 一万零一亿), at the end and after 点. Other characters are kept
// as they are.
func hanziNumberPinyin(h string) string {
	rs := []rune(h)
	syl := make([]string, 0, len(rs))
	for i, r := range rs {
		py, ok := zhDigitPinyin[r]
		if !ok {
			py = string(r)
		}
		if r == '一' && i+1 < len(rs) {
			switch rs[i+1] {
			case '百', '千':
				py = "yi4"
			case '万':
				// Alone: at the start, right after 亿, or after the 零
				// of an empty section (一亿零一万).
				if i == 0 || rs[i-1] == '亿' || rs[i-1] == '零' && i >= 2 && rs[i-2] == '亿' {
					py = "yi2"
				}
			case '亿':
				if i == 0 { // not in 一万零一亿, where 一 ends 10001
					py = "yi2"
				}
			}
		}
		syl = append(syl, py)
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

// zhDigitPinyin reads the characters of Chinese numerals, also when they
// stand alone in a text (Context.Pronounce).
var zhDigitPinyin = map[rune]string{
	'零': "ling2", '一': "yi1", '二': "er4", '三': "san1", '四': "si4", '五': "wu3",
	'六': "liu4", '七': "qi1", '八': "ba1", '九': "jiu3", '十': "shi2", '百': "bai3",
	'千': "qian1", '万': "wan4", '亿': "yi4", '两': "liang3", '点': "dian3", '负': "fu4",
}

// digitPinyin reads an ASCII digit alone, as in codes and after a
// decimal point: 1 is yi1 (not yao1).
var digitPinyin = [10]string{"ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"}

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

// digitsToHanzi converts a run of ASCII digits to the Chinese numeral of
// Number, or digit by digit when the number is larger than MaxNumber: the
// words that a spoken number is matched with (template numbers go up to
// MaxNumber). Speech reads digits with zhInteger instead.
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

// zhMaxDigits is the longest integer zhInteger reads as a number (below
// 10^16); longer ones are read digit by digit.
const zhMaxDigits = 16

// zhSectionUnit names the sections of four digits, lowest first: the
// highest is the 万 of a number of 亿 (一万亿 is 10^12).
var zhSectionUnit = []string{"", "万", "亿", "万"}

// zhInteger writes the decimal integer s (ASCII digits) as the Chinese
// numeral said for it, without the limit of MaxNumber: four-digit
// sections with 万 (10^4) and 亿 (10^8), a number of 亿 above 10^12 said
// with 万 (一万亿, 一万零一亿); one 零 for each run of zeros inside the
// number (1005 一千零五, 10050 一万零五十, 100005000 一亿零五千) but none
// for the zeros that end a section (10005000 一千万五千); 十 for 一十
// only when it starts the number (15 十五, 100000 十万, but 115 一百一十五,
// 1015 一千零一十五); 两 for a 2 that starts the number before 百, 千, 万
// or 亿 (200 两百, 2000 两千, 20000 两万, 200000000 两亿) and 二
// elsewhere (2, 12, 20, 220 两百二十, 1200 一千二百). Numbers with a
// leading zero ("05") or more than zhMaxDigits digits are codes, written
// digit by digit (零五).
func zhInteger(s string) string {
	if len(s) > zhMaxDigits || len(s) > 1 && s[0] == '0' {
		b := make([]rune, 0, len(s))
		for i := range len(s) {
			b = append(b, zhDigits[s[i]-'0'])
		}
		return string(b)
	}
	if pad := (4 - len(s)%4) % 4; pad > 0 {
		s = "000"[:pad] + s
	}
	places := []rune("千百十")
	var b []rune
	zero := false // zeros passed since the last digit said
	for k := len(s)/4 - 1; k >= 0; k-- {
		sec := s[len(s)-4*k-4 : len(s)-4*k]
		if sec == "0000" {
			if k == 2 && len(b) > 0 {
				// 一万亿: the 亿 of the number of 亿 above; its
				// zeros end it and are not said.
				b = append(b, '亿')
				zero = false
				continue
			}
			zero = len(b) > 0
			continue
		}
		for p := range 4 {
			d := int(sec[p] - '0')
			if d == 0 {
				zero = zero || len(b) > 0
				continue
			}
			if zero {
				b = append(b, '零')
				zero = false
			}
			switch {
			case p == 2 && d == 1 && len(b) == 0: // 十五, 十万: no 一
			case d == 2 && len(b) == 0 && (p < 2 || p == 3 && k > 0):
				b = append(b, '两')
			default:
				b = append(b, zhDigits[d])
			}
			if p < 3 {
				b = append(b, places[p])
			}
		}
		zero = false // the zeros that end a section are not said
		b = append(b, []rune(zhSectionUnit[k])...)
	}
	if len(b) == 0 {
		return "零"
	}
	return string(b)
}
