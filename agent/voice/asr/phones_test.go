package asr

import (
	"slices"
	"strings"
	"testing"
)

func names(cs []Class) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, " ")
}

func TestPhoneme(t *testing.T) {
	if len(Classes) != NumClasses {
		t.Fatalf("len(Classes) = %d, NumClasses = %d", len(Classes), NumClasses)
	}
	for _, tc := range []struct{ in, want string }{
		{"oʊ", "o ʊ"}, {"ˈɪɹ", "ɪ ɹ"}, {"kh", "k"}, {"ts.h", "tʃ"}, {"ts.", "tʃ"}, {"i.", "ə"},
		{"tɕh", "tʃ"}, {"ɛ̃", "ɛ"}, {"a-", "a"}, {"ɑ2", "ɑ"}, {"ˈeː", "e"}, {"ɲ", "n j"},
		{"", ""}, {"_", ""}, {"ŋ", "ŋ"}, {"ɡ", "g"}, {"ʁ", "ʁ"},
	} {
		if got := names(Phoneme(tc.in)); got != tc.want {
			t.Errorf("Phoneme(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	got := names(ParseIPA("ˈoʊ_p_ə_n ð_ə\nɹ_ˈɪɹ\n"))
	if want := "o ʊ p ə n ð ə ɹ ɪ ɹ"; got != want {
		t.Errorf("ParseIPA = %q, want %q", got, want)
	}
}

func FuzzPhoneme(f *testing.F) {
	for _, s := range []string{"ˈoʊ_p_ə_n ð_ə", "ts.h_ˈo-5_", "v_ˈɛ̃_t", "\xff\xfe", "h", "kh_h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range ParseIPA(s) {
			if c == 0 || int(c) >= NumClasses {
				t.Fatalf("ParseIPA(%q) gave class %d", s, c)
			}
		}
	})
}

func TestLexiconRoundTrip(t *testing.T) {
	l := Lexicon{"open": ParseIPA("ˈoʊ_p_ə_n"), "the": ParseIPA("ð_ə")}
	var b strings.Builder
	l.WriteTo(&b)
	got, err := ReadLexicon(strings.NewReader(b.String()), "lex")
	if err != nil {
		t.Fatal(err)
	}
	for w, p := range l {
		if !slices.Equal(got[w], p) {
			t.Errorf("%s: %v, want %v", w, got[w], p)
		}
	}
	for _, bad := range []string{"open\n", "open\tq\n", "open\t\n", "a\tə\na\tə\n"} {
		if _, err := ReadLexicon(strings.NewReader(bad), "lex"); err == nil || !strings.Contains(err.Error(), "lex:") {
			t.Errorf("ReadLexicon(%q) = %v, want an error naming the line", bad, err)
		}
	}
}

func FuzzReadLexicon(f *testing.F) {
	f.Add("open\to ʊ p ə n\nthe\tð ə\n")
	f.Add("x\tsil\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ReadLexicon(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		var b strings.Builder
		l.WriteTo(&b)
		l2, err := ReadLexicon(strings.NewReader(b.String()), "again")
		if err != nil || len(l2) != len(l) {
			t.Fatalf("round trip: %v (%d vs %d words)", err, len(l2), len(l))
		}
	})
}
