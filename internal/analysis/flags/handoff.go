// Package flags detects what a support team wants to know about a conversation: a visitor
// asking for a human, abusive language, complaints, an assistant that could not answer, and
// the visitor's confirmations and thanks (which resolution reads). Detection is by word and
// phrase lists in the common languages, matched on whole words, accent- and case-insensitive.
package flags

import (
	"strings"

	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// handoffRules is one language's way of asking for a person: a contact verb near a person
// word (within window words, in the clause), a strong person word with a wish verb, a phrase
// that says it alone, or a short message that is only a person word.
type handoffRules struct {
	lang     string
	verbs    termSet // talk, speak, contact ...
	wish     termSet // want, need, give me ... (pair with strong persons only)
	persons  termSet // someone, a person ... (pair with verbs)
	strong   termSet // human, agent, operator ... (pair with verbs and wishes; alone in a short message)
	phrases  termSet // say it alone
	anyOrder bool    // person word may come before the verb (verb-final languages)
	window   int
}

// noSpacePhrases say it alone in Chinese, Japanese and Korean (matched as substrings).
var noSpacePhrases = []string{
	// Chinese
	"转人工", "轉人工", "人工客服", "人工服务", "人工服務", "真人客服", "真人", "找人工", "要人工", "接人工", "人工坐席", "客服人员", "客服人員", "人工座席", "跟人说话", "和人说话", "找客服", "联系客服", "聯繫客服", "找个人", "活人",
	// Japanese
	"オペレーター", "オペレータ", "担当者", "人間と話", "人と話", "人間に代わ", "スタッフと話", "係の人", "有人対応", "人につな", "人に繋", "担当の方", "窓口につな",
	// Korean
	"상담원", "상담사", "사람과 대화", "사람이랑", "사람과 통화", "직원과", "직원이랑", "직원 연결", "담당자", "사람 연결", "사람한테",
}

func set(list ...string) termSet { return newTermSet(parseTerms(list...)) }

var noSpaceFolded = func() []string {
	out := make([]string, len(noSpacePhrases))
	for i, p := range noSpacePhrases {
		out[i] = textutil.Fold(p)
	}
	return out
}()

var handoffLangs = []handoffRules{
	{lang: "en", window: 5,
		verbs:   set("talk*", "speak*", "spoke", "chat", "chatting", "~contact", "contacting", "reach", "reaching", "~connect*", "call", "calling", "phone", "get in touch", "getting in touch", "put me through", "~transfer*", "escalat*", "get hold of", "get ahold of", "hand me over", "hand me off", "switch me", "communicate", "~communicating", "message"),
		wish:    set("want", "need", "give me", "get me", "request", "requesting", "prefer", "looking for", "ask for", "asking for", "bring me", "let me have"),
		persons: set("~someone", "~somebody", "anyone", "anybody", "~person", "people", "~assistant", "advisor", "adviser", "associate", "specialist", "consultant", "staff", "team member", "support team", "customer service", "customer support", "customer care", "man", "woman", "guy"),
		strong:  set("~human", "humans", "human being", "~agent", "agents", "~operator", "~representative", "rep", "real person", "live person", "actual person", "real human", "actual human", "live human", "live agent", "live support", "~manager", "~supervisor", "employee", "staff member"),
		phrases: set("real person", "real human", "actual human", "actual person", "human agent", "human operator", "live agent", "live person", "human being", "talk to a human", "not a bot", "not a robot", "stop the bot", "no more bot", "transfer me", "escalate this", "human please", "agent please", "operator please", "representative please"),
	},
	{lang: "es", window: 5,
		verbs:   set("habl*", "comunic*", "contact*", "pasa*", "pase*", "llam*", "transfer*", "poner en contacto", "ponerme en contacto", "conect*", "chatear"),
		wish:    set("quiero", "necesito", "quisiera", "deseo", "dame", "pido"),
		persons: set("alguien", "persona", "personal", "asesor*", "empleado*", "encargado*", "ejecutivo*", "atencion al cliente", "servicio al cliente"),
		strong:  set("humano", "humana", "agente", "agentes", "operador*", "representante", "persona real", "ser humano", "supervisor*", "gerente"),
		phrases: set("agente humano", "persona real", "ser humano", "con un humano", "con una persona", "operador humano", "no eres humano", "no quiero un bot", "no quiero hablar con un bot"),
	},
	{lang: "fr", window: 5,
		verbs:   set("parler", "parle", "discuter", "contact*", "joindre", "mettre en relation", "mettez moi en relation", "mettre en contact", "appeler", "transfer*", "passer", "passez", "echanger", "communiquer"),
		wish:    set("veux", "voudrais", "souhaite", "besoin", "donnez moi"),
		persons: set("quelqu'un", "personne", "conseiller", "conseillere", "service client", "service clients", "employe", "responsable"),
		strong:  set("humain", "humaine", "agent", "operateur", "operatrice", "representant", "vraie personne", "vrai humain", "etre humain", "personne reelle", "superviseur"),
		phrases: set("vraie personne", "vrai humain", "etre humain", "personne reelle", "agent humain", "conseiller humain", "une vraie personne", "pas un robot", "pas un bot"),
	},
	{lang: "de", window: 6, anyOrder: true,
		verbs:   set("sprech*", "reden", "rede", "kontakt*", "erreich*", "verbind*", "verbunden", "chatten", "anrufen", "weiterleit*", "durchstell*", "telefonier*"),
		wish:    set("will", "mochte", "moechte", "brauche", "hatte gern", "wunsche"),
		persons: set("jemand*", "person", "kundenservice", "kundendienst", "support"),
		strong:  set("mensch*", "mitarbeiter*", "berater*", "kundenberater*", "agent*", "operator", "sachbearbeiter*", "echte person", "echten person", "vorgesetzt*"),
		phrases: set("echten menschen", "echter mensch", "echte person", "echten person", "menschlichen mitarbeiter", "kein bot", "keinen bot", "keine maschine"),
	},
	{lang: "pt", window: 5,
		verbs:   set("falar", "fale", "falo", "conversar", "contat*", "contact*", "entrar em contato", "ligar", "transfer*", "passar", "chamar", "comunicar"),
		wish:    set("quero", "preciso", "gostaria", "desejo"),
		persons: set("alguem", "pessoa", "consultor*", "funcionario*", "atendimento", "suporte"),
		strong:  set("humano", "humana", "atendente", "agente", "operador*", "representante", "pessoa real", "ser humano", "supervisor*", "gerente"),
		phrases: set("pessoa real", "ser humano", "atendente humano", "agente humano", "com um humano", "com uma pessoa", "nao e um robo"),
	},
	{lang: "it", window: 5,
		verbs:   set("parla*", "contatta*", "chatta*", "mettermi in contatto", "mettere in contatto", "passare", "passarmi", "passami", "chiama*", "trasferi*", "comunicare"),
		wish:    set("voglio", "vorrei", "ho bisogno"),
		persons: set("qualcuno", "persona", "consulente", "addetto", "assistenza clienti", "servizio clienti"),
		strong:  set("umano", "operatore", "operatrice", "agente", "rappresentante", "persona reale", "persona vera", "essere umano", "responsabile"),
		phrases: set("persona reale", "persona vera", "essere umano", "operatore umano", "con un umano", "non un bot"),
	},
	{lang: "nl", window: 6, anyOrder: true,
		verbs:   set("spreken", "praten", "contact", "bellen", "chatten", "doorverbind*", "doorverbonden", "in contact komen"),
		wish:    set("wil", "wil graag", "zou graag", "heb nodig"),
		persons: set("iemand", "persoon", "klantenservice"),
		strong:  set("mens", "medewerker*", "agent", "operator", "vertegenwoordiger", "echt persoon", "echte mens", "echte persoon"),
		phrases: set("echte mens", "echt persoon", "echte persoon", "menselijke medewerker", "geen bot", "geen robot"),
	},
	{lang: "ru", window: 5, anyOrder: true,
		verbs:   set("поговор*", "говор*", "связат*", "свяжит*", "соедин*", "переключ*", "позов*", "позвать", "общат*", "пообщат*", "перевед*", "звон*"),
		wish:    set("хочу", "нужен", "нужна", "дайте"),
		persons: set("кем нибудь", "кем-нибудь", "кто нибудь", "поддержк*"),
		strong:  set("человек*", "оператор*", "менеджер*", "специалист*", "сотрудник*", "агент*", "консультант*", "живым", "живой"),
		phrases: set("живой человек", "живым человеком", "живого человека", "не бот", "не робот"),
	},
	{lang: "tr", window: 5, anyOrder: true,
		verbs:   set("konus*", "gorus*", "baglan*", "bagla*", "ulas*", "aktar*", "iletisim*"),
		wish:    set("istiyorum", "lazim"),
		persons: set("biri*", "kisi*", "destek"),
		strong:  set("insan*", "temsilci*", "yetkili*", "operator*", "canli", "gercek"),
		phrases: set("musteri temsilcisi", "gercek bir insan", "gercek kisi", "canli destek", "bot degil"),
	},
	{lang: "pl", window: 5, anyOrder: true,
		verbs:   set("rozmaw*", "porozmaw*", "polacz*", "skontakt*", "kontakt*", "przelacz*", "zadzwon*"),
		wish:    set("chce", "potrzebuje", "prosze o"),
		persons: set("kims", "kogos", "osob*"),
		strong:  set("konsultant*", "czlowiek*", "pracownik*", "agent*", "operator*", "przedstawiciel*", "zywa osoba", "zywym"),
		phrases: set("prawdziwy czlowiek", "prawdziwym czlowiekiem", "zywym czlowiekiem", "zywa osoba", "nie bot"),
	},
	{lang: "ar", window: 5, anyOrder: true,
		verbs:   set("اتحدث", "التحدث", "تحدث", "اكلم", "كلم", "التواصل", "تواصل", "اتواصل", "حولني", "تحويلي", "وصلني", "الاتصال", "اتصال"),
		wish:    set("اريد", "اود", "ابغى", "ابي", "بدي"),
		persons: set("شخص", "احد", "خدمة العملاء", "الدعم"),
		strong:  set("موظف", "الموظف", "انسان", "بشري", "ممثل", "وكيل", "مشغل", "شخص حقيقي", "المسؤول", "مسؤول"),
		phrases: set("شخص حقيقي", "انسان حقيقي", "موظف بشري", "ممثل خدمة العملاء"),
	},
	{lang: "hi", window: 5, anyOrder: true,
		verbs:   set("बात", "संपर्क", "कनेक्ट", "जोड़ें", "जोड़िए"),
		wish:    set("चाहिए", "चाहता", "चाहती"),
		persons: set("किसी", "व्यक्ति"),
		strong:  set("इंसान", "मनुष्य", "एजेंट", "ऑपरेटर", "प्रतिनिधि", "कर्मचारी", "अधिकारी"),
		phrases: set("असली इंसान", "असली व्यक्ति", "किसी इंसान से", "किसी व्यक्ति से बात"),
	},
}

// IsHandoffRequest reports whether a visitor message asks for a human (an operator, an agent,
// a real person), in English, Spanish, French, German, Portuguese, Italian, Dutch, Russian,
// Turkish, Polish, Arabic, Hindi, Chinese, Japanese or Korean, or contains one of the
// assistant's own extraKeywords (whole words or phrases, accent- and case-insensitive).
func IsHandoffRequest(text string, extraKeywords []string) bool {
	folded := textutil.Fold(text)
	return handoffIn(folded, clauses(folded), extraKeywords)
}

func handoffIn(folded string, cls [][]string, extraKeywords []string) bool {
	for _, k := range extraKeywords {
		if k = strings.TrimSpace(textutil.Fold(k)); k != "" && containsPhrase(folded, k) {
			return true
		}
	}
	for _, p := range noSpaceFolded {
		if strings.Contains(folded, p) {
			return true
		}
	}
	for _, words := range cls {
		for i := range handoffLangs {
			if handoffLangs[i].match(words) {
				return true
			}
		}
	}
	return false
}

func (r *handoffRules) match(words []string) bool {
	if r.phrases.containsAny(words) {
		return true
	}
	strong := r.strong.find(words)
	if len(strong) == 0 && !r.persons.containsAny(words) {
		return false
	}
	// a short message that is only a person word: "human!", "agent please", "operator"
	if len(strong) > 0 && len(words) <= 3 {
		return true
	}
	persons := append(r.persons.find(words), strong...)
	near := func(acts []span, who []span) bool {
		for _, a := range acts {
			for _, p := range who {
				if p.start >= a.end && p.start-a.end <= r.window {
					return true
				}
				if r.anyOrder && a.start >= p.end && a.start-p.end <= r.window {
					return true
				}
			}
		}
		return false
	}
	return near(r.verbs.find(words), persons) || near(r.wish.find(words), strong)
}
