package intent

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The expected spellings are written by hand from each language's rules
// (en: hyphenated tens, British "and"; de: units before tens with "und",
// one word; es: 16-29 in one word with accents, "y" from 31; fr:
// traditional spelling, "et un" for 21..71, vigesimal 70..99, "cents"
// only when final; zh: 十 not 一十, 零 for an empty tens place; pinyin
// with the sandhi of 一 as said before 百, yi4, and yi1 elsewhere).
var numberCases = []struct {
	n                  int
	en, de, es, fr, zh string
	pinyin             string
}{
	{0, "zero", "null", "cero", "zéro", "零", "ling2"},
	{1, "one", "eins", "uno", "un", "一", "yi1"},
	{7, "seven", "sieben", "siete", "sept", "七", "qi1"},
	{10, "ten", "zehn", "diez", "dix", "十", "shi2"},
	{11, "eleven", "elf", "once", "onze", "十一", "shi2 yi1"},
	{12, "twelve", "zwölf", "doce", "douze", "十二", "shi2 er4"},
	{15, "fifteen", "fünfzehn", "quince", "quinze", "十五", "shi2 wu3"},
	{16, "sixteen", "sechzehn", "dieciséis", "seize", "十六", "shi2 liu4"},
	{17, "seventeen", "siebzehn", "diecisiete", "dix-sept", "十七", "shi2 qi1"},
	{19, "nineteen", "neunzehn", "diecinueve", "dix-neuf", "十九", "shi2 jiu3"},
	{20, "twenty", "zwanzig", "veinte", "vingt", "二十", "er4 shi2"},
	{21, "twenty-one", "einundzwanzig", "veintiuno", "vingt et un", "二十一", "er4 shi2 yi1"},
	{22, "twenty-two", "zweiundzwanzig", "veintidós", "vingt-deux", "二十二", "er4 shi2 er4"},
	{23, "twenty-three", "dreiundzwanzig", "veintitrés", "vingt-trois", "二十三", "er4 shi2 san1"},
	{26, "twenty-six", "sechsundzwanzig", "veintiséis", "vingt-six", "二十六", "er4 shi2 liu4"},
	{28, "twenty-eight", "achtundzwanzig", "veintiocho", "vingt-huit", "二十八", "er4 shi2 ba1"},
	{30, "thirty", "dreißig", "treinta", "trente", "三十", "san1 shi2"},
	{31, "thirty-one", "einunddreißig", "treinta y uno", "trente et un", "三十一", "san1 shi2 yi1"},
	{45, "forty-five", "fünfundvierzig", "cuarenta y cinco", "quarante-cinq", "四十五", "si4 shi2 wu3"},
	{61, "sixty-one", "einundsechzig", "sesenta y uno", "soixante et un", "六十一", "liu4 shi2 yi1"},
	{70, "seventy", "siebzig", "setenta", "soixante-dix", "七十", "qi1 shi2"},
	{71, "seventy-one", "einundsiebzig", "setenta y uno", "soixante et onze", "七十一", "qi1 shi2 yi1"},
	{72, "seventy-two", "zweiundsiebzig", "setenta y dos", "soixante-douze", "七十二", "qi1 shi2 er4"},
	{77, "seventy-seven", "siebenundsiebzig", "setenta y siete", "soixante-dix-sept", "七十七", "qi1 shi2 qi1"},
	{80, "eighty", "achtzig", "ochenta", "quatre-vingts", "八十", "ba1 shi2"},
	{81, "eighty-one", "einundachtzig", "ochenta y uno", "quatre-vingt-un", "八十一", "ba1 shi2 yi1"},
	{90, "ninety", "neunzig", "noventa", "quatre-vingt-dix", "九十", "jiu3 shi2"},
	{91, "ninety-one", "einundneunzig", "noventa y uno", "quatre-vingt-onze", "九十一", "jiu3 shi2 yi1"},
	{99, "ninety-nine", "neunundneunzig", "noventa y nueve", "quatre-vingt-dix-neuf", "九十九", "jiu3 shi2 jiu3"},
	{100, "one hundred", "einhundert", "cien", "cent", "一百", "yi4 bai3"},
	{101, "one hundred and one", "einhunderteins", "ciento uno", "cent un", "一百零一", "yi4 bai3 ling2 yi1"},
	{110, "one hundred and ten", "einhundertzehn", "ciento diez", "cent dix", "一百一十", "yi4 bai3 yi1 shi2"},
	{115, "one hundred and fifteen", "einhundertfünfzehn", "ciento quince", "cent quinze", "一百一十五", "yi4 bai3 yi1 shi2 wu3"},
	{121, "one hundred and twenty-one", "einhunderteinundzwanzig", "ciento veintiuno", "cent vingt et un", "一百二十一", "yi4 bai3 er4 shi2 yi1"},
	{200, "two hundred", "zweihundert", "doscientos", "deux cents", "二百", "er4 bai3"},
	{201, "two hundred and one", "zweihunderteins", "doscientos uno", "deux cent un", "二百零一", "er4 bai3 ling2 yi1"},
	{280, "two hundred and eighty", "zweihundertachtzig", "doscientos ochenta", "deux cent quatre-vingts", "二百八十", "er4 bai3 ba1 shi2"},
	{500, "five hundred", "fünfhundert", "quinientos", "cinq cents", "五百", "wu3 bai3"},
	{555, "five hundred and fifty-five", "fünfhundertfünfundfünfzig", "quinientos cincuenta y cinco", "cinq cent cinquante-cinq", "五百五十五", "wu3 bai3 wu3 shi2 wu3"},
	{700, "seven hundred", "siebenhundert", "setecientos", "sept cents", "七百", "qi1 bai3"},
	{999, "nine hundred and ninety-nine", "neunhundertneunundneunzig", "novecientos noventa y nueve", "neuf cent quatre-vingt-dix-neuf", "九百九十九", "jiu3 bai3 jiu3 shi2 jiu3"},
}

func TestNumber(t *testing.T) {
	for _, tc := range numberCases {
		for lang, want := range map[Language]string{English: tc.en, German: tc.de, Spanish: tc.es, French: tc.fr, Chinese: tc.zh} {
			if got, err := Number(lang, tc.n); err != nil || got != want {
				t.Errorf("Number(%s, %d) = %q, %v; want %q", lang, tc.n, got, err, want)
			}
		}
		if got, err := NumberPinyin(tc.n); err != nil || got != tc.pinyin {
			t.Errorf("NumberPinyin(%d) = %q, %v; want %q", tc.n, got, err, tc.pinyin)
		}
	}
}

// TestNumberDistinct: every language spells 0..999 with distinct words
// (after matching normalisation), so a number slot is never ambiguous.
func TestNumberDistinct(t *testing.T) {
	for _, lang := range Languages {
		seen := map[string]int{}
		for n := 0; n <= MaxNumber; n++ {
			for _, v := range numberVariants(lang, n) {
				key := ""
				for _, w := range words(lang, v) {
					key += foldWord(lang, w) + " "
				}
				if m, ok := seen[key]; ok && m != n {
					t.Errorf("%s: %d and %d both spelled %q", lang, m, n, key)
				}
				seen[key] = n
			}
		}
	}
	for _, n := range []int{-1, MaxNumber + 1} {
		if _, err := Number(English, n); err == nil {
			t.Errorf("Number(en, %d): no error", n)
		}
	}
	if _, err := Number("it", 1); err == nil {
		t.Error("Number(it): no error")
	}
}

func TestNumberVariants(t *testing.T) {
	for _, tc := range []struct {
		lang Language
		n    int
		want []string
	}{
		{Spanish, 1, []string{"uno", "un"}},
		{Spanish, 21, []string{"veintiuno", "veintiún"}},
		{Spanish, 31, []string{"treinta y uno", "treinta y un"}},
		{Spanish, 11, []string{"once"}},
		{German, 100, []string{"einhundert", "hundert"}},
		{German, 105, []string{"einhundertfünf", "hundertfünf"}},
		{German, 21, []string{"einundzwanzig"}},
		{English, 105, []string{"one hundred and five", "one hundred five"}},
		{English, 21, []string{"twenty-one"}},
		{French, 21, []string{"vingt et un"}},
	} {
		if got := numberVariants(tc.lang, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("numberVariants(%s, %d) = %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
}

// TestZhInteger: numbers in Chinese numerals as said, written by hand:
// four-digit sections (万, 亿, 万亿), one 零 for a run of inner zeros but
// none for the zeros ending a section, 十 for 一十 only at the start, 两
// for a leading 2 before 百/千/万/亿; codes digit by digit.
func TestZhInteger(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "零"}, {"1", "一"}, {"2", "二"}, {"10", "十"}, {"12", "十二"}, {"20", "二十"},
		{"101", "一百零一"}, {"110", "一百一十"}, {"115", "一百一十五"}, {"200", "两百"},
		{"220", "两百二十"}, {"999", "九百九十九"},
		{"1000", "一千"}, {"1005", "一千零五"}, {"1015", "一千零一十五"}, {"1800", "一千八百"},
		{"2000", "两千"}, {"1200", "一千二百"}, {"10000", "一万"}, {"10050", "一万零五十"},
		{"10500", "一万零五百"}, {"20000", "两万"}, {"22000", "两万二千"}, {"100000", "十万"},
		{"105000", "十万五千"}, {"110000", "十一万"}, {"1010000", "一百零一万"},
		{"10005000", "一千万五千"}, {"10000500", "一千万零五百"}, {"100000000", "一亿"},
		{"100005000", "一亿零五千"}, {"100010000", "一亿零一万"}, {"100000005", "一亿零五"},
		{"1000000000", "十亿"}, {"200000000", "两亿"}, {"1000000000000", "一万亿"},
		{"1000100000000", "一万零一亿"}, {"1000000000001", "一万亿零一"}, {"1000010000000", "一万亿一千万"},
		{"1000001000000", "一万亿零一百万"}, {"9999999999999999", "九千九百九十九万九千九百九十九亿九千九百九十九万九千九百九十九"},
		{"10000000000000000", "一零零零零零零零零零零零零零零零零"}, {"05", "零五"}, {"000", "零零零"},
	} {
		if got := zhInteger(tc.in); got != tc.want {
			t.Errorf("zhInteger(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// Below 1000 the numerals are Number's, but for 两 in 200..299.
	for n := 0; n <= MaxNumber; n++ {
		want, _ := Number(Chinese, n)
		if n >= 200 && n < 300 {
			want = "两" + strings.TrimPrefix(want, "二")
		}
		if got := zhInteger(strconv.Itoa(n)); got != want {
			t.Errorf("zhInteger(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestHanziNumberPinyin: the sandhi of 一 inside numbers.
func TestHanziNumberPinyin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"一", "yi1"}, {"十一", "shi2 yi1"}, {"一百", "yi4 bai3"}, {"一千", "yi4 qian1"},
		{"一万", "yi2 wan4"}, {"一亿", "yi2 yi4"}, {"一百一十一", "yi4 bai3 yi1 shi2 yi1"},
		{"十一万", "shi2 yi1 wan4"}, {"一百零一万", "yi4 bai3 ling2 yi1 wan4"},
		{"一亿零一万", "yi2 yi4 ling2 yi2 wan4"}, {"一万一千", "yi2 wan4 yi4 qian1"},
		{"一万亿", "yi2 wan4 yi4"}, {"一万零一亿", "yi2 wan4 ling2 yi1 yi4"}, {"两百", "liang3 bai3"}, {"一点五", "yi1 dian3 wu3"},
		{"负一", "fu4 yi1"}, {"一零", "yi1 ling2"}, {"一x", "yi1 x"},
	} {
		if got := hanziNumberPinyin(tc.in); got != tc.want {
			t.Errorf("hanziNumberPinyin(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
