package intent

import (
	"reflect"
	"testing"
)

// The expected spellings are written by hand from each language's rules
// (en: hyphenated tens, British "and"; de: units before tens with "und",
// one word; es: 16-29 in one word with accents, "y" from 31; fr:
// traditional spelling, "et un" for 21..71, vigesimal 70..99, "cents"
// only when final; zh: 十 not 一十, 零 for an empty tens place).
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
	{100, "one hundred", "einhundert", "cien", "cent", "一百", "yi1 bai3"},
	{101, "one hundred and one", "einhunderteins", "ciento uno", "cent un", "一百零一", "yi1 bai3 ling2 yi1"},
	{110, "one hundred and ten", "einhundertzehn", "ciento diez", "cent dix", "一百一十", "yi1 bai3 yi1 shi2"},
	{115, "one hundred and fifteen", "einhundertfünfzehn", "ciento quince", "cent quinze", "一百一十五", "yi1 bai3 yi1 shi2 wu3"},
	{121, "one hundred and twenty-one", "einhunderteinundzwanzig", "ciento veintiuno", "cent vingt et un", "一百二十一", "yi1 bai3 er4 shi2 yi1"},
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
