package flags

import (
	"strings"

	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// wordList is a set of folded words and phrases matched on word boundaries ("*" at the end of
// a word matches any ending).
type wordList struct {
	terms   termSet
	noSpace []string // Chinese / Japanese / Korean, matched as substrings
}

func newList(noSpace []string, list ...string) wordList {
	l := wordList{terms: newTermSet(parseTerms(list...))}
	for _, s := range noSpace {
		l.noSpace = append(l.noSpace, textutil.Fold(s))
	}
	return l
}

func (l *wordList) match(folded string) bool { return l.matchIn(folded, clauses(folded)) }

func (l *wordList) matchIn(folded string, cls [][]string) bool {
	for _, p := range l.noSpace {
		if strings.Contains(folded, p) {
			return true
		}
	}
	for _, words := range cls {
		if l.terms.containsAny(words) {
			return true
		}
	}
	return false
}

var abusive = newList([]string{"傻逼", "他妈的", "去死", "混蛋", "クソ", "死ね", "ばか", "バカ", "씨발", "병신", "개새끼"},
	// English
	"fuck*", "motherfuck*", "shit", "shitty", "bullshit", "bitch*", "bastard*", "asshole*", "arsehole*", "dickhead*", "dick", "cunt*", "prick", "wanker*", "twat*",
	"piss off", "pissed off", "screw you", "damn you", "goddamn*", "idiot*", "idiotic", "moron*", "moronic", "stupid bot", "stupid machine", "you stupid", "dumbass*",
	"retard*", "imbecile*", "shut up", "go to hell", "kill yourself", "son of a bitch", "crap", "crappy", "jackass*", "scumbag*", "piece of shit", "wtf", "stfu",
	// Spanish
	"mierda", "puta*", "puto", "cabron*", "pendej*", "gilipollas", "idiota*", "imbecil*", "estupid*", "joder", "coño", "carajo", "maldito*", "vete al diablo", "hijo de puta",
	// French
	"merde", "putain", "connard*", "connasse", "salaud*", "salope", "encule*", "abruti*", "cretin*", "ta gueule", "ferme la", "va te faire", "nique*", "batard*",
	// German
	"scheiss*", "scheis*", "arschloch*", "idiot", "vollidiot*", "wichser*", "fick*", "verpiss dich", "halt die klappe", "dumme sau", "drecks*", "hurensohn*", "blode kuh",
	// Portuguese / Italian
	"merda", "porra", "caralho", "idiota", "filho da puta", "vai se foder", "otario*", "vaffanculo", "stronzo*", "cazzo", "coglion*", "minchia", "figlio di puttana",
	// Dutch / Russian / Turkish / Polish
	"klootzak*", "kut", "godverdomme", "tering*", "lul", "сука", "блять", "бля", "хуй*", "пизд*", "мудак*", "идиот*", "дебил*", "урод*", "ебан*",
	"siktir", "amk", "orospu*", "salak", "aptal", "gerizekali", "kurwa", "chuj*", "pierdol*", "spierdalaj", "debil*", "idiota",
)

var complaint = newList([]string{"投诉", "太差", "垃圾", "骗子", "退款", "苦情", "最悪", "ひどい", "詐欺", "불만", "최악", "사기"},
	// English
	"complaint", "complain*", "unacceptable", "ridiculous", "disgrace*", "outrage*", "outrageous", "appalling", "terrible service", "worst", "horrible",
	"fed up", "sick of", "tired of", "scam*", "fraud*", "rip off", "ripoff", "ripped off", "never again", "waste of time", "waste of money", "not happy",
	"very disappointed", "extremely disappointed", "so disappointed", "disappointed", "frustrated", "furious", "angry", "annoyed", "pathetic", "useless", "unhelpful",
	"not helpful", "you aren't helpful", "you are not helpful", "still waiting", "still haven't", "still not", "no one answers", "nobody answers", "nobody helps",
	"want my money back", "money back", "report you", "lawyer", "legal action", "sue you", "chargeback", "cancel my subscription", "cancel my account",
	"charged twice", "double charged", "overcharged", "doesn't work", "does not work", "not working", "never arrived", "never received", "broken", "damaged",
	// Spanish / Portuguese
	"queja", "reclamacion", "reclamo", "inaceptable", "vergonzoso", "pesimo", "estafa", "fraude", "harto", "harta", "decepcionad*", "no funciona", "sigo esperando",
	"reclamacao", "inaceitavel", "pessimo", "golpe", "cansado de", "decepcionado", "nao funciona", "ainda estou esperando",
	// French / Italian
	"plainte", "reclamation", "inacceptable", "scandaleux", "honteux", "arnaque", "escroquerie", "marre", "decu", "decue", "ne fonctionne pas", "ne marche pas", "toujours pas",
	"reclamo", "inaccettabile", "vergognoso", "truffa", "stufo", "stufa", "deluso", "delusa", "non funziona", "ancora niente",
	// German / Dutch
	"beschwerde", "beschweren", "reklamation", "unverschamt*", "unakzeptabel", "frechheit", "betrug", "abzocke", "enttauscht", "funktioniert nicht", "immer noch nicht", "sauer",
	"klacht", "onacceptabel", "schandalig", "oplichting", "teleurgesteld", "werkt niet", "nog steeds niet",
	// Russian / Turkish / Polish
	"жалоба", "жалобу", "пожаловаться", "безобразие", "ужасно", "ужасный", "обман", "мошенники", "надоело", "не работает", "до сих пор",
	"sikayet*", "rezalet", "berbat", "dolandirici*", "calismiyor", "skarga", "reklamacja", "oszust*", "nie dziala", "nadal nie", "skandal",
)

var cannotAnswer = newList([]string{"我不知道", "不清楚", "无法回答", "無法回答", "抱歉", "わかりません", "分かりません", "お答えできません", "모르겠", "답변할 수 없"},
	"i don't know", "i do not know", "i dont know", "i'm not sure", "i am not sure", "im not sure", "not sure i can", "i can't help with that", "i cannot help with that",
	"i can't help you with", "i cannot help you with", "i'm unable to", "i am unable to", "i'm not able to", "i am not able to", "i couldn't find", "i could not find",
	"i don't have information", "i do not have information", "i don't have any information", "i don't have that information", "i have no information",
	"i can't answer", "i cannot answer", "unable to answer", "unable to help", "outside my knowledge", "beyond my knowledge", "i don't have access",
	"i'm sorry, but i", "i am sorry, but i", "sorry, i can't", "sorry, i cannot", "sorry, i don't", "unfortunately, i can't", "unfortunately i can't", "unfortunately, i don't",
	"no lo se", "no estoy seguro", "no estoy segura", "no puedo ayudar", "no tengo informacion", "lo siento, no",
	"je ne sais pas", "je ne suis pas sur", "je ne peux pas vous aider", "je n'ai pas d'information", "desole, je ne",
	"ich weiss nicht", "ich bin mir nicht sicher", "ich kann ihnen dabei nicht helfen", "ich kann dabei nicht helfen", "dazu habe ich keine informationen", "leider kann ich",
	"nao sei", "nao tenho certeza", "nao posso ajudar", "non lo so", "non sono sicuro", "non posso aiutarti", "ik weet het niet", "ik weet niet", "daar kan ik niet mee helpen",
	"я не знаю", "не могу помочь", "не уверен", "bilmiyorum", "emin degilim", "nie wiem", "nie jestem pewien", "nie moge pomoc",
)

var thanks = newList([]string{"谢谢", "謝謝", "多谢", "解决了", "可以了", "好了", "ありがとう", "解決しました", "できました", "감사합니다", "고마워", "고맙습니다", "해결됐"},
	"thanks", "thank you", "thank u", "thx", "tysm", "cheers", "much appreciated", "appreciate it", "that helps", "that helped", "that works", "it works", "works now",
	"it's working", "its working", "working now", "solved", "problem solved", "resolved", "that did it", "that did the trick", "got it", "perfect", "great, thanks", "awesome",
	"all good", "all set", "sorted", "fixed", "that's all", "that is all", "nothing else", "no more questions", "that answers my question", "bye", "goodbye", "have a nice day",
	"gracias", "muchas gracias", "funciona", "ya funciona", "resuelto", "perfecto", "genial", "merci", "merci beaucoup", "ca marche", "ca fonctionne", "resolu", "parfait",
	"danke", "danke schon", "vielen dank", "funktioniert", "geklappt", "gelost", "perfekt", "obrigado", "obrigada", "resolvido", "grazie", "funziona", "risolto", "perfetto",
	"bedankt", "dank je", "dank u", "werkt", "opgelost", "спасибо", "благодарю", "работает", "решено", "tesekkurler", "tesekkur ederim", "sagol", "calisiyor", "cozuldu",
	"dziekuje", "dzieki", "dziala", "شكرا", "شكرًا", "धन्यवाद", "शुक्रिया",
)

// IsAbusive reports whether text holds swearing or insults (in the common languages).
func IsAbusive(text string) bool { return abusive.match(textutil.Fold(text)) }

// IsComplaint reports whether a visitor message complains (words of dissatisfaction, "still
// waiting", "doesn't work", threats to leave or sue).
func IsComplaint(text string) bool { return complaint.match(textutil.Fold(text)) }

// IsCannotAnswer reports whether an assistant message admits it cannot answer ("I don't know",
// "I'm not sure", "I can't help with that", an apology that it cannot ...).
func IsCannotAnswer(text string) bool { return cannotAnswer.match(textutil.Fold(text)) }

// IsThanksOrConfirmation reports whether a visitor message thanks or confirms that something
// works ("thanks", "that works", "solved", "perfect").
// A message that also complains ("thanks, but it still doesn't work") is not a confirmation.
func IsThanksOrConfirmation(text string) bool {
	f := textutil.Fold(text)
	return thanks.match(f) && !complaint.match(f)
}

// Signals are all the judgements of one message, made from one folding of its text.
type Signals struct {
	HandoffRequest bool // a visitor asking for a human
	Abusive        bool
	Complaint      bool
	CannotAnswer   bool // an assistant admitting it cannot answer
	Thanks         bool // thanks or confirmation, and no complaint, abuse or request for a human
}

// Read returns the Signals of text (extraKeywords are the assistant's handoff keywords).
func Read(text string, extraKeywords []string) Signals {
	f := textutil.Fold(text)
	cls := clauses(f)
	s := Signals{
		HandoffRequest: handoffIn(f, cls, extraKeywords),
		Abusive:        abusive.matchIn(f, cls),
		Complaint:      complaint.matchIn(f, cls),
		CannotAnswer:   cannotAnswer.matchIn(f, cls),
	}
	s.Thanks = !s.Complaint && !s.Abusive && !s.HandoffRequest && thanks.matchIn(f, cls)
	return s
}
