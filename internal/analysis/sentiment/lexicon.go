package sentiment

import (
	"math"
	"strings"

	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// A crude lexicon scorer for German, French and Spanish: word valences on VADER's -4..4
// scale (folded: lower case, no accents; "*" matches any ending), negation within the three
// words before, intensifiers, and VADER's normalisation. Written by hand for support chats.
type lexicon struct {
	words   map[string]float64
	stems   map[string]float64
	negs    map[string]bool
	boost   map[string]bool
	phrases map[string]float64
}

func newLexicon(words map[string]float64, negs, boost []string, phrases map[string]float64) *lexicon {
	l := &lexicon{words: map[string]float64{}, stems: map[string]float64{}, negs: map[string]bool{}, boost: map[string]bool{}, phrases: map[string]float64{}}
	for w, v := range words {
		w = textutil.Fold(w)
		if strings.HasSuffix(w, "*") {
			l.stems[strings.TrimSuffix(w, "*")] = v
		} else {
			l.words[w] = v
		}
	}
	for _, n := range negs {
		l.negs[textutil.Fold(n)] = true
	}
	for _, b := range boost {
		l.boost[textutil.Fold(b)] = true
	}
	for p, v := range phrases {
		l.phrases[textutil.Fold(p)] = v
	}
	return l
}

func (l *lexicon) valence(w string) (float64, bool) {
	if v, ok := l.words[w]; ok {
		return v, true
	}
	for n := len(w); n >= 4; n-- {
		if v, ok := l.stems[w[:n]]; ok {
			return v, true
		}
	}
	return 0, false
}

var lexicons = map[string]*lexicon{
	"de": newLexicon(map[string]float64{
		"gut": 1.9, "super": 2.9, "toll": 2.7, "prima": 2.5, "klasse": 2.5, "perfekt": 2.7, "danke": 1.6, "dank": 1.5, "vielen dank": 2,
		"hilfreich": 1.8, "zufrieden": 1.9, "freundlich": 1.8, "schnell": 0.8, "funktioniert": 1.2, "gelost": 1.3, "geklappt": 1.4,
		"ausgezeichnet": 3, "wunderbar": 2.9, "hervorragend": 3, "freue*": 2, "glucklich": 2.7, "liebe": 2.5, "genial": 2.8, "top": 2.2,
		"schlecht": -2.3, "schlimm": -2.3, "schrecklich": -2.8, "furchtbar": -2.8, "katastrophe": -3, "katastrophal": -3, "mies": -2.3,
		"enttausch*": -2.1, "arger*": -2.0, "verargert": -2.1, "wutend": -2.7, "sauer": -1.8, "frech": -1.8, "unverschamt": -2.6,
		"kaputt": -2.0, "defekt": -2.0, "beschadigt": -1.9, "fehler": -1.7, "problem": -1.5, "probleme": -1.5, "nutzlos": -2.2,
		"unzufrieden": -2.1, "beschwerde": -1.9, "betrug": -2.8, "abzocke": -2.8, "langsam": -1.0, "verspatet": -1.4, "verloren": -1.4,
		"warte": -0.6, "immer noch": -0.8, "leider": -1.0, "nervig": -1.9, "lacherlich": -1.8, "schade": -1.4, "hasse": -2.9,
	}, []string{"nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "nichts", "ohne"},
		[]string{"sehr", "total", "extrem", "wirklich", "echt", "absolut", "so", "super", "besonders", "vollig", "ziemlich"},
		map[string]float64{"funktioniert nicht": -2.2, "geht nicht": -1.8, "immer noch nicht": -2.2, "nicht erhalten": -2, "nicht angekommen": -2}),
	"fr": newLexicon(map[string]float64{
		"bien": 1.5, "bon": 1.9, "bonne": 1.9, "super": 2.9, "genial": 2.9, "parfait": 2.7, "parfaite": 2.7, "merci": 1.6, "excellent*": 3,
		"content": 2, "contente": 2, "satisfait*": 2, "ravi": 2.7, "ravie": 2.7, "utile": 1.5, "rapide": 0.8, "fonctionne": 1.2, "marche": 0.8,
		"resolu": 1.3, "top": 2.2, "magnifique": 3, "formidable": 2.9, "aime": 2.2, "adore": 2.8, "sympa": 1.9, "efficace": 1.8,
		"mauvais": -2.3, "mauvaise": -2.3, "nul": -2.3, "nulle": -2.3, "horrible": -2.8, "terrible": -2.5, "affreux": -2.8,
		"decu": -2.1, "decue": -2.1, "decevant": -2.1, "enerve": -2.0, "enervant": -2.0, "fache": -2.2, "furieux": -2.8, "colere": -2.5,
		"casse": -2.0, "cassee": -2.0, "defectueux": -2.0, "endommage": -1.9, "erreur": -1.7, "probleme": -1.5, "inutile": -2.0,
		"insatisfait*": -2.1, "plainte": -1.9, "arnaque": -2.8, "escroquerie": -2.8, "lent": -1.0, "retard": -1.4, "perdu": -1.4,
		"inacceptable": -2.5, "ridicule": -1.8, "dommage": -1.3, "deteste": -2.9, "honte": -2.3, "scandaleux": -2.7, "pire": -2.8,
	}, []string{"ne", "pas", "jamais", "rien", "aucun", "aucune", "sans", "ni"},
		[]string{"tres", "vraiment", "trop", "tellement", "extremement", "absolument", "super", "si", "completement", "totalement"},
		map[string]float64{"ne fonctionne pas": -2.2, "ne marche pas": -2.2, "toujours pas": -1.8, "pas recu": -2.0, "pas content": -2.1}),
	"es": newLexicon(map[string]float64{
		"bien": 1.5, "bueno": 1.9, "buena": 1.9, "genial": 2.9, "perfecto": 2.7, "perfecta": 2.7, "gracias": 1.6, "excelente": 3,
		"contento": 2, "contenta": 2, "satisfech*": 2, "encantad*": 2.7, "util": 1.5, "rapido": 0.8, "funciona": 1.2, "resuelto": 1.3,
		"maravillos*": 3, "estupendo": 2.9, "fantastic*": 2.9, "amable": 1.9, "feliz": 2.7, "encanta": 2.6, "increible": 2.5,
		"malo": -2.3, "mala": -2.3, "mal": -1.8, "horrible": -2.8, "terrible": -2.5, "pesimo": -3, "pesima": -3, "fatal": -2.6,
		"decepcion*": -2.1, "decepcionad*": -2.1, "molest*": -1.8, "enfadad*": -2.2, "enojad*": -2.2, "furios*": -2.8,
		"roto": -2.0, "rota": -2.0, "defectuos*": -2.0, "danad*": -1.9, "error": -1.7, "problema": -1.5, "inutil": -2.0,
		"insatisfech*": -2.1, "queja": -1.9, "reclamacion": -1.7, "estafa": -2.8, "fraude": -2.8, "lento": -1.0, "retraso": -1.4,
		"perdido": -1.4, "inaceptable": -2.5, "ridicul*": -1.8, "lastima": -1.3, "odio": -2.9, "verguenza": -2.3, "peor": -2.8,
	}, []string{"no", "nunca", "jamas", "nada", "ningun", "ninguna", "ninguno", "sin", "ni", "tampoco"},
		[]string{"muy", "realmente", "demasiado", "tan", "super", "extremadamente", "totalmente", "bastante", "sumamente"},
		map[string]float64{"no funciona": -2.2, "todavia no": -1.6, "aun no": -1.6, "sigo esperando": -2.0, "no he recibido": -2.0}),
}

func lexiconScore(text, lang string) *Result {
	l := lexicons[lang]
	if l == nil {
		return nil
	}
	folded := textutil.Fold(text)
	words := textutil.Words(folded)
	var sum float64
	hit := false
	joined := " " + strings.Join(words, " ") + " "
	for p, v := range l.phrases {
		if strings.Contains(joined, " "+p+" ") {
			sum += v
			hit = true
			joined = strings.ReplaceAll(joined, " "+p+" ", " _ ")
		}
	}
	words = strings.Fields(joined)
	for i, w := range words {
		v, ok := l.valence(w)
		if !ok {
			continue
		}
		hit = true
		if i > 0 && l.boost[words[i-1]] {
			v += math.Copysign(0.293, v)
		}
		for j := i - 1; j >= 0 && j >= i-3; j-- {
			if l.negs[words[j]] {
				v *= -0.74
				break
			}
		}
		sum += v
	}
	if !hit {
		return &Result{Label: Neutral, Score: 0}
	}
	if n := strings.Count(text, "!"); n > 0 && sum != 0 {
		sum += math.Copysign(0.292*math.Min(float64(n), 4), sum)
	}
	c := sum / math.Sqrt(sum*sum+15)
	lab := Neutral
	if c >= 0.05 {
		lab = Positive
	} else if c <= -0.05 {
		lab = Negative
	}
	return &Result{Label: lab, Score: clamp(c)}
}
