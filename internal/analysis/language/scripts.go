package language

import "unicode"

type scriptSet uint32

const (
	sLatin scriptSet = 1 << iota
	sCyrillic
	sGreek
	sArabic
	sHebrew
	sDevanagari
	sBengali
	sGurmukhi
	sGujarati
	sTamil
	sTelugu
	sGeorgian
	sArmenian
	sHangul
	sHan
	sKana
	sThai
	sOther
)

var scriptTables = []struct {
	s scriptSet
	t *unicode.RangeTable
}{
	{sLatin, unicode.Latin}, {sCyrillic, unicode.Cyrillic}, {sGreek, unicode.Greek},
	{sArabic, unicode.Arabic}, {sHebrew, unicode.Hebrew}, {sDevanagari, unicode.Devanagari},
	{sBengali, unicode.Bengali}, {sGurmukhi, unicode.Gurmukhi}, {sGujarati, unicode.Gujarati},
	{sTamil, unicode.Tamil}, {sTelugu, unicode.Telugu}, {sGeorgian, unicode.Georgian},
	{sArmenian, unicode.Armenian}, {sHangul, unicode.Hangul}, {sHan, unicode.Han},
	{sKana, unicode.Hiragana}, {sKana, unicode.Katakana}, {sThai, unicode.Thai},
}

func scriptOfRune(r rune) scriptSet {
	if r < 0x250 && unicode.IsLetter(r) {
		return sLatin
	}
	for _, t := range scriptTables {
		if unicode.Is(t.t, r) {
			return t.s
		}
	}
	return sOther
}

// scriptsOf says which scripts a language is written in.
func scriptsOf(code string) scriptSet {
	switch code {
	case "ru", "uk", "be", "bg", "mk", "kk", "mn", "tg", "ky":
		return sCyrillic
	case "sr":
		return sCyrillic | sLatin
	case "el":
		return sGreek
	case "ar", "fa", "ur", "ps":
		return sArabic
	case "he", "yi":
		return sHebrew
	case "hi", "mr", "ne":
		return sDevanagari
	case "bn", "as":
		return sBengali
	case "pa":
		return sGurmukhi
	case "gu":
		return sGujarati
	case "ta":
		return sTamil
	case "te":
		return sTelugu
	case "ka":
		return sGeorgian
	case "hy":
		return sArmenian
	case "ko":
		return sHangul | sHan
	case "zh":
		return sHan
	case "ja":
		return sHan | sKana
	case "th":
		return sThai
	}
	return sLatin
}

// dominantScript returns the script of most letters of text (Kana wins over Han when present
// at all, since Chinese never uses it; another script wins over Latin with half as many
// letters) and the number of letters.
func dominantScript(text string) (scriptSet, int) {
	var counts [32]int
	n := 0
	for _, r := range text {
		if !unicode.IsLetter(r) {
			if unicode.IsMark(r) && r >= 0x900 {
				n++ // vowel signs of Indic scripts count as letters, not for the script
			}
			continue
		}
		n++
		s := scriptOfRune(r)
		for i := 0; i < 32; i++ {
			if s == 1<<i {
				counts[i]++
				break
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	kana := 0
	for i := 0; i < 32; i++ {
		if scriptSet(1<<i) == sKana {
			kana = counts[i]
		}
	}
	if kana > 0 {
		return sKana, n
	}
	best := 0
	for i := range counts {
		if counts[i] > counts[best] {
			best = i
		}
	}
	// Latin words (names, brands, web boilerplate) mixed into text of another script: that
	// script wins when it has at least half as many letters.
	if scriptSet(1<<best) == sLatin {
		other := -1
		for i := range counts {
			if scriptSet(1<<i) != sLatin && scriptSet(1<<i) != sOther && (other < 0 || counts[i] > counts[other]) {
				other = i
			}
		}
		if other >= 0 && counts[other] > 0 && 2*counts[other] >= counts[best] {
			best = other
		}
	}
	return 1 << best, n
}
