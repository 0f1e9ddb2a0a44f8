package analysis

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/analysis/textutil"
	cv "github.com/parleyhq/parley/internal/conversation"
)

// stopWords of English, Spanish, French, German, Portuguese, Italian and Dutch (folded), plus
// the words every support chat has ("help", "please", "question") that name no topic.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, list := range []string{
		// English
		`a about above after again against all also am an and any are aren't as at be because been before being below between both but by can can't cannot could couldn't
		did didn't do does doesn't doing don't down during each few for from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
		herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's like me more most mustn't my myself no nor not now of off on once
		only or other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves
		then there there's these they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were weren't what
		what's when when's where where's which while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
		hi hello hey thanks thank thx please pls ok okay yes yeah yep no nope sure help need want would like know tell question questions wondering hope regards dear
		im ive dont cant wont didnt doesnt isnt u ur ya much many still really already even also ever well one two get getting make made way thing things something anything
		someone anyone able via etc lot bit day days today tomorrow yesterday good great fine sorry hi, one's may might must shall us let see look looking trying try tried
		again go going gone come came say said use using used find found give gave take took back new first last time times`,
		// Spanish
		`de la que el en y a los del se las por un para con no una su al lo como mas pero sus le ya o este si porque esta entre cuando muy sin sobre tambien me hasta hay donde
		quien desde todo nos durante todos uno les ni contra otros ese eso ante ellos e esto mi antes algunos que unos yo otro otras otra el tanto esa estos mucho quienes nada
		muchos cual poco ella estar estas algunas algo nosotros mis tu te ti tus ellas hola gracias por favor quiero necesito puedo puede tengo tiene como ayuda saber es son fue`,
		// French
		`au aux avec ce ces dans de des du elle en et eux il je la le les leur lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur
		ta te tes toi ton tu un une vos votre vous c d j l a m n s t y ete etre avoir ai as avons avez ont est sont suis bonjour merci svp voudrais veux peux peut besoin aide comment`,
		// German
		`aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes auch auf aus bei bin bis bist da damit dann das dass dein deine dem den der
		des dich die dies diese dieser dieses dir doch dort du durch ein eine einem einen einer eines er es etwas euch euer eure fur gegen habe haben hat hatte ich ihm ihn ihr
		ihre im in ist jede jedem jeden jeder jedes jetzt kann kein keine konnen machen mein meine mich mir mit muss nach nicht nichts noch nun nur ob oder ohne sehr sein seine
		sich sie sind so solche soll sondern um und uns unser unter viel vom von vor war waren warum was weil welche wenn wer werde werden wie wieder will wir wird wo wollen zu
		zum zur uber hallo danke bitte mochte brauche hilfe`,
		// Portuguese / Italian / Dutch
		`de a o que e do da em um para com nao uma os no se na por mais as dos como mas ao ele das seu sua ou quando muito nos ja eu tambem so pelo pela ate isso ela entre depois
		sem mesmo aos seus quem nas me esse eles voce essa num nem suas meu minha numa pelos elas qual nos lhe deles essas esses pelas este dele tu te voces vos lhes meus minhas
		ola obrigado obrigada quero preciso ajuda
		il lo la i gli le di da in con su per tra fra un una uno e che non mi ti si ci vi ne del della dei delle al alla ai agli sono sei ho hai ha abbiamo avete hanno ciao grazie
		voglio vorrei aiuto come
		de het een en van ik te dat die in is hij niet zijn op aan met als voor had er maar om hem dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der
		daar haar naar heb hoe heeft hebben deze u want nog zal me zij nu ge geen omdat iets worden toch al waren veel meer doen toen moet ben zonder kan hun dus alles onder ja
		eens hier wie werd altijd doch wordt wezen kunnen ons zelf tegen na reeds wil kon niets uw iemand geweest andere hallo dank bedankt graag`,
		// Russian, Polish, Turkish (the most common words)
		`и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже
		или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже
		себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об
		другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более
		всегда конечно всю между пожалуйста спасибо хочу помогите
		i w z na do nie to jest sie ze co jak mnie mi czy ale o tak juz po za od dla jestem mam moj moja prosze dziekuje
		ve bir bu da de icin ile ben sen o ne mi mu cok daha gibi ama var yok lutfen tesekkurler merhaba`,
		// French / Spanish / Italian extras
		`s'il plait vous je j'ai c'est n'est qu'il d'un d'une l'on est-ce pourquoi quand quel quelle quels combien bonjour
		por favor buenos buenas dias tardes noches hola como donde cuando cual cuanto
		vorrei buongiorno buonasera salve`,
	} {
		for _, w := range strings.Fields(list) {
			m[textutil.Fold(w)] = true
		}
	}
	for _, g := range greetings {
		for _, w := range strings.Fields(g) {
			m[textutil.Fold(w)] = true
		}
	}
	return m
}()

func stopWord(w string) bool {
	if stopWords[w] {
		return true
	}
	if utf8.RuneCountInString(w) < 2 {
		return true
	}
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true // numbers (order numbers) are no topic
}

type phrase struct {
	key, surface string
	score        float64
	first        int
	words        int
}

// keyPhrases scores the words and word pairs of the conversation: visitor messages weigh 2,
// the assistant's 1; earlier messages weigh more; pairs of two content words get a bonus.
func keyPhrases(msgs []Message) []phrase {
	m := map[string]*phrase{}
	order := 0
	add := func(key, surface string, w float64, words int) {
		p := m[key]
		if p == nil {
			p = &phrase{key: key, surface: surface, first: order, words: words}
			m[key] = p
		}
		p.score += w
		order++
	}
	vi := 0
	for _, msg := range msgs {
		w := 1.0
		if msg.Author == cv.AuthorVisitor {
			w = 2.0 / (1 + 0.3*float64(vi))
			vi++
		} else if msg.Author != cv.AuthorAI && msg.Author != cv.AuthorOperator {
			continue
		}
		for _, cl := range sentences(msg.Content) {
			raw := textutil.Words(cl)
			prevKey, prevSurface := "", ""
			for _, s := range raw {
				k := textutil.Fold(s)
				if stopWord(k) || utf8.RuneCountInString(k) > 30 {
					prevKey = ""
					continue
				}
				surface := strings.ToLower(s)
				add(k, surface, w, 1)
				if prevKey != "" {
					add(prevKey+" "+k, prevSurface+" "+surface, 1.5*w, 2)
				}
				prevKey, prevSurface = k, surface
			}
		}
	}
	out := make([]phrase, 0, len(m))
	for _, p := range m {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].first < out[j].first
	})
	return out
}

// keywords returns up to n key words and phrases (a pair hides its words).
func keywords(ps []phrase, n int) []string {
	var out []string
	used := map[string]bool{}
	for _, p := range ps {
		if len(out) == n {
			break
		}
		if p.words == 1 && used[p.key] {
			continue
		}
		if p.words == 2 && p.score < 2 {
			continue // a pair seen once in the assistant's words only
		}
		out = append(out, p.surface)
		for _, w := range strings.Fields(p.key) {
			used[w] = true
		}
	}
	return out
}

// genericNoun completes a one-word label in the conversation's language.
var genericNoun = map[string]string{"en": "question", "es": "consulta", "fr": "question", "de": "frage", "pt": "dúvida", "it": "domanda", "nl": "vraag"}

// deriveLabel makes a 2-4 word title-case label from the best key phrase of the conversation
// (a word pair when one stands out, else the two best words in order of appearance).
func deriveLabel(msgs []Message, ps []phrase, lang string) string {
	switch lang {
	case "zh", "ja", "th":
		// no spaces between words: the start of the first substantive sentence
		for _, m := range msgs {
			if !isVisitor(m) {
				continue
			}
			for _, s := range sentences(m.Content) {
				if s = strings.TrimRight(stripPrefix(s, greetings, false), trimPunct); substantive(s) {
					if utf8.RuneCountInString(s) > 12 {
						s = string([]rune(s)[:12])
					}
					return s
				}
			}
		}
	}
	if len(ps) == 0 {
		return ""
	}
	var best *phrase
	for i := range ps {
		if ps[i].words == 2 && ps[i].score >= 3 {
			best = &ps[i]
			break
		}
		if i > 8 {
			break
		}
	}
	var words []string
	if best != nil {
		words = strings.Fields(best.surface)
	} else {
		var singles []phrase
		for _, p := range ps {
			if p.words == 1 {
				singles = append(singles, p)
				if len(singles) == 2 {
					break
				}
			}
		}
		sort.Slice(singles, func(i, j int) bool { return singles[i].first < singles[j].first })
		for _, p := range singles {
			words = append(words, p.surface)
		}
		if len(words) == 1 {
			g := genericNoun[lang]
			if g == "" {
				if lang != "" && lang != "en" {
					return titleCase(words)
				}
				g = "question"
			}
			words = append(words, g)
		}
	}
	if len(words) > 4 {
		words = words[:4]
	}
	return titleCase(words)
}

func titleCase(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		out[i] = string(unicode.ToTitle(r)) + w[n:]
	}
	return strings.Join(out, " ")
}
