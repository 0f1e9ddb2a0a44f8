package analysis

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/analysis/flags"
	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// MaxTitle is the longest title, in characters.
const MaxTitle = 60

// greetings open a message without saying what it is about (folded; matched at the start).
var greetings = []string{
	"hi there", "hello there", "hey there", "hi", "hello", "hey", "hiya", "yo", "greetings", "good morning", "good afternoon", "good evening", "good day",
	"dear team", "dear support", "dear sir or madam", "dear sir", "dear madam", "to whom it may concern",
	"hola", "buenos dias", "buenas tardes", "buenas noches", "buenas", "saludos", "bonjour", "bonsoir", "salut", "coucou", "hallo", "guten morgen", "guten tag", "guten abend",
	"servus", "moin", "gruss gott", "ola", "oi", "bom dia", "boa tarde", "boa noite", "ciao", "salve", "buongiorno", "buonasera", "hoi", "goedemorgen", "goedemiddag", "goedenavond",
	"hej", "hei", "privet", "привет", "здравствуйте", "добрый день", "доброе утро", "добрый вечер", "merhaba", "selam", "czesc", "dzien dobry", "مرحبا", "السلام عليكم", "नमस्ते",
	"你好", "您好", "こんにちは", "こんばんは", "おはようございます", "안녕하세요", "안녕",
}

// openers say that a question follows without asking it (stripped when punctuation ends
// them: "Quick question: ...").
var openers = []string{
	"i have a question", "i've got a question", "quick question", "i have a quick question", "question", "i need some help", "i need help", "need help", "can you help me",
	"can you help", "could you help me", "please help", "help me please", "i was wondering", "sorry to bother you", "tengo una pregunta", "una pregunta", "necesito ayuda",
	"j'ai une question", "une question", "j'ai besoin d'aide", "ich habe eine frage", "eine frage", "ich brauche hilfe", "tenho uma pergunta", "preciso de ajuda",
	"ho una domanda", "ho bisogno di aiuto", "ik heb een vraag", "у меня вопрос",
}

var trimPunct = " \t\r\n,.;:!-–—~*_•·…،。，、！"

// stripPrefix removes each phrase of list (folded) from the start of s, repeatedly, with the
// punctuation after it, and a name of address after a greeting ("Hi Anna, ...").
func stripPrefix(s string, list []string, needPunct bool) string {
	for {
		fields := strings.Fields(s)
		matched := false
		for _, g := range list {
			gw := strings.Fields(g)
			r, _ := utf8.DecodeRuneInString(g)
			if textutil.IsNoSpaceScript(r) || unicode.Is(unicode.Hangul, r) {
				if strings.HasPrefix(s, g) {
					s, matched = strings.TrimLeft(s[len(g):], trimPunct), true
					break
				}
				continue
			}
			if len(fields) < len(gw) {
				continue
			}
			ok := true
			for k, w := range gw {
				if textutil.Fold(strings.Trim(fields[k], trimPunct)) != w {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			rest := fields[len(gw):]
			if needPunct && len(rest) > 0 && !strings.ContainsAny(fields[len(gw)-1][len(fields[len(gw)-1])-1:], ",:;.!?-") {
				continue
			}
			// "Hi Anna, ..." / "Hello team, ...": drop a one-word address ending in a comma
			if len(rest) > 1 && strings.HasSuffix(rest[0], ",") {
				rest = rest[1:]
			}
			s, matched = strings.TrimLeft(strings.Join(rest, " "), trimPunct), true
			break
		}
		if !matched {
			return s
		}
	}
}

// sentences splits s at sentence ends, keeping the punctuation.
func sentences(s string) []string {
	var out []string
	start := 0
	rs := []rune(s)
	for i, r := range rs {
		end := strings.ContainsRune(".!?。！？\n", r)
		if r == '.' && i+1 < len(rs) && !unicode.IsSpace(rs[i+1]) {
			end = false // 3.5, example.com
		}
		if end {
			if t := strings.TrimSpace(string(rs[start : i+1])); t != "" {
				out = append(out, t)
			}
			start = i + 1
		}
	}
	if t := strings.TrimSpace(string(rs[start:])); t != "" {
		out = append(out, t)
	}
	return out
}

var selfIntro = []string{"my name is", "i am ", "i'm ", "this is ", "me llamo", "je m'appelle", "ich heisse", "ich bin ", "mi chiamo", "meu nome e", "ik ben "}

// substantive reports whether a sentence says something beyond greetings and thanks.
func substantive(s string) bool {
	w := textutil.FoldedWords(s)
	content := 0
	for _, x := range w {
		if !stopWord(x) {
			content++
		}
	}
	if content == 0 {
		for _, r := range s {
			if textutil.IsNoSpaceScript(r) {
				return utf8.RuneCountInString(s) >= 4
			}
		}
		return false
	}
	return !(flags.IsThanksOrConfirmation(s) && content <= 2)
}

// title states what the visitor wanted: the first substantive sentence of the visitor's first
// substantive message, without greetings and openers, cut at a word boundary to MaxTitle.
func title(msgs []Message, topicLabel string) string {
	first := ""
	for _, m := range msgs {
		if !isVisitor(m) || strings.TrimSpace(m.Content) == "" {
			continue
		}
		if first == "" {
			first = strings.TrimSpace(m.Content)
		}
		for _, s := range sentences(m.Content) {
			s = stripPrefix(s, greetings, false)
			s = stripPrefix(s, openers, true)
			f := textutil.Fold(s)
			intro := false
			for _, p := range selfIntro {
				if strings.HasPrefix(f, p) && len(strings.Fields(s)) <= 6 && !strings.Contains(s, "?") {
					intro = true
				}
			}
			if intro || !substantive(s) {
				continue
			}
			return finishTitle(s)
		}
	}
	if first == "" {
		return ""
	}
	if t := finishTitle(stripPrefix(first, greetings, false)); t != "" {
		return t
	}
	if topicLabel != "" {
		return cut(topicLabel, MaxTitle)
	}
	return finishTitle(first)
}

func finishTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if t := strings.TrimRight(strings.TrimLeft(s, trimPunct), " ,;:-–—"); t != "" {
		s = t
	}
	if s == "" {
		return ""
	}
	s = cut(s, MaxTitle)
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// cut shortens s to at most max runes at a word boundary, ending with "…" when cut.
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	rs := []rune(s)
	limit := max - 1
	end := limit
	noSpace := 0
	for _, r := range rs[:limit] {
		if textutil.IsNoSpaceScript(r) {
			noSpace++
		}
	}
	if noSpace*2 < limit {
		for i := limit; i > limit/2; i-- {
			if unicode.IsSpace(rs[i]) {
				end = i
				break
			}
		}
	}
	return strings.TrimRight(string(rs[:end]), trimPunct) + "…"
}
