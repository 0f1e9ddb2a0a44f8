package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Scenarios: what a conversation is about. Every language has a script for each.
const (
	scOrderStatus = iota
	scRefund
	scDamaged
	scAddress
	scCancel
	scPassword
	scBilling
	scSubscription
	scProduct
	scShipping
	scComplaint
	scPraise
	scHuman
	scFrustrated
	scUnknown
	numScenarios
)

// Help-centre topics quoted in sources_generated.
const (
	tOrders = iota
	tReturns
	tShipping
	tAccount
	tBilling
	tPlans
	tProducts
	numTopics
)

var (
	topicSlugs   = [numTopics]string{"orders", "returns", "shipping", "account", "billing", "plans", "products"}
	relatedTopic = [numTopics]int{tShipping, tShipping, tReturns, tOrders, tPlans, tBilling, tShipping}
)

const numProducts = 7

// A script holds, per scenario, the visitor's openers, the agent's answers (answer i goes with
// opener i modulo their count), the visitor's follow-ups and the agent's replies (paired the
// same way).
type script [4][]string

// lang is everything a conversation in one language is made of. Strings are templates: see
// slotNames for the {slots} they may use.
type lang struct {
	code     string
	weight   int
	first    []string
	last     []string
	ops      []string // operators' first names
	products [numProducts]string
	months   [12]string
	date     string // D is the day, M the month's name
	day1     string // how the first day of a month is written, if not "1"
	cur      currency
	help     [numTopics]string // titles of help-centre articles
	welcome  []string
	join     []string // an operator joins
	thanks   []string // the visitor ends
	closing  []string // the agent answers the thanks
	more     [][2]string
	scripts  [numScenarios]script

	c compiled // filled in by compileAll
}

type currency struct {
	prefix, sep, suffix string
	scale               int // prices are scaled from a dollar-like base
}

type compiled struct {
	welcome, join, thanks, closing, moreV, moreA []tmpl
	scripts                                      [numScenarios][4][]tmpl
	firstASCII, lastASCII                        []string
	sources                                      [numTopics][2]json.RawMessage // one or two articles
}

// Slots a template may use.
const (
	sLit = iota
	sName
	sCommaName
	sOp
	sOrder
	sTracking
	sAmount
	sProduct
	sDate
	sPlan
	sInvoice
	sSlug
)

var slotNames = map[string]uint8{
	"name": sName, ",name": sCommaName, "op": sOp, "order": sOrder, "tracking": sTracking, "amount": sAmount,
	"product": sProduct, "date": sDate, "plan": sPlan, "invoice": sInvoice, "slug": sSlug,
}

type seg struct {
	lit  string
	slot uint8
}

type tmpl []seg

func compile(s string) tmpl {
	var t tmpl
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return append(t, seg{lit: s})
		}
		if i > 0 {
			t = append(t, seg{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			panic("demo: unclosed slot in " + strconv.Quote(s))
		}
		slot, ok := slotNames[s[i+1:i+j]]
		if !ok {
			panic("demo: unknown slot in " + strconv.Quote(s))
		}
		t = append(t, seg{slot: slot})
		s = s[i+j+1:]
	}
	return t
}

// conv holds what the templates of one conversation refer to.
type conv struct {
	L                         *lang
	first, op, plan           string
	order, cents, product     int
	shipper, service, parcel  int
	day, month, year, invoice int
}

var (
	shippers = []string{"999AA1", "4W8V27", "A1R529", "7X3F60", "0E5Y92"}
	services = []string{"01", "02", "03", "12", "13"}
)

func (c *conv) render(b []byte, t tmpl) []byte {
	for _, s := range t {
		switch s.slot {
		case sLit:
			b = append(b, s.lit...)
		case sName, sCommaName:
			if c.first != "" {
				if s.slot == sCommaName {
					b = append(b, ',')
				}
				b = append(b, ' ')
				b = append(b, c.first...)
			}
		case sOp:
			b = append(b, c.op...)
		case sOrder:
			b = c.appendOrder(b)
		case sTracking:
			b = append(b, "1Z"...)
			b = append(b, shippers[c.shipper]...)
			b = append(b, services[c.service]...)
			b = appendPad(b, uint64(c.parcel), 8)
		case sAmount:
			b = append(b, c.L.cur.prefix...)
			b = strconv.AppendInt(b, int64(c.cents/100), 10)
			b = append(b, c.L.cur.sep...)
			b = appendPad(b, uint64(c.cents%100), 2)
			b = append(b, c.L.cur.suffix...)
		case sProduct:
			b = append(b, c.L.products[c.product]...)
		case sDate:
			for i := 0; i < len(c.L.date); i++ {
				switch ch := c.L.date[i]; {
				case ch == 'D' && c.day == 1 && c.L.day1 != "":
					b = append(b, c.L.day1...)
				case ch == 'D':
					b = strconv.AppendInt(b, int64(c.day), 10)
				case ch == 'M':
					b = append(b, c.L.months[c.month-1]...)
				default:
					b = append(b, ch)
				}
			}
		case sPlan:
			b = append(b, c.plan...)
		case sInvoice:
			b = c.appendInvoice(b)
		case sSlug:
			b = append(b, productSlugs[c.product]...)
		}
	}
	return b
}

func (c *conv) appendOrder(b []byte) []byte {
	return appendPad(append(b, "ORD-"...), uint64(c.order), 7)
}

func (c *conv) appendInvoice(b []byte) []byte {
	b = strconv.AppendInt(append(b, "INV-"...), int64(c.year), 10)
	return appendPad(append(b, '-'), uint64(c.invoice), 6)
}

// appendPad appends v in decimal with at least width digits.
func appendPad(b []byte, v uint64, width int) []byte {
	var d [20]byte
	i := len(d)
	for v > 0 || len(d)-i < width {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[i:]...)
}

// asciiFold turns lower-case names into the letters an email address would use.
var asciiFold = strings.NewReplacer("á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a", "ą", "a", "ç", "c", "ć", "c",
	"é", "e", "è", "e", "ê", "e", "ë", "e", "ę", "e", "í", "i", "ì", "i", "î", "i", "ï", "i", "ı", "i", "ł", "l", "ñ", "n",
	"ń", "n", "ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o", "ø", "o", "ś", "s", "ş", "s", "ß", "ss", "ú", "u", "ù", "u",
	"û", "u", "ü", "u", "ý", "y", "ź", "z", "ż", "z", "ğ", "g")

func emailPart(name string) string {
	s := asciiFold.Replace(strings.ToLower(name))
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func slugify(s string) string {
	return strings.ReplaceAll(asciiFold.Replace(strings.ToLower(s)), " ", "-")
}

var (
	langs        = []*lang{&en, &de, &fr, &es, &pt, &it, &pl, &nl}
	productSlugs [numProducts]string
	langTable    table
)

func init() {
	w := make([]int, len(langs))
	for i, L := range langs {
		L.compileAll()
		w[i] = L.weight
	}
	langTable = newTable(w...)
	for i, p := range en.products {
		productSlugs[i] = slugify(p)
	}
}

func (L *lang) compileAll() {
	fail := func(what string) { panic(fmt.Sprintf("demo: language %s: %s", L.code, what)) }
	list := func(what string, ss []string) []tmpl {
		if len(ss) == 0 {
			fail("no " + what)
		}
		out := make([]tmpl, len(ss))
		for i, s := range ss {
			out[i] = compile(s)
		}
		return out
	}
	for _, s := range append(append(append([]string{L.date}, L.products[:]...), L.months[:]...), L.help[:]...) {
		if s == "" {
			fail("empty product, month, help title or date format")
		}
	}
	if len(L.first) == 0 || len(L.last) == 0 || len(L.ops) == 0 || len(L.more) == 0 {
		fail("missing names or generic turns")
	}
	c := &L.c
	c.welcome, c.join = list("welcome", L.welcome), list("join", L.join)
	c.thanks, c.closing = list("thanks", L.thanks), list("closing", L.closing)
	for _, m := range L.more {
		c.moreV, c.moreA = append(c.moreV, compile(m[0])), append(c.moreA, compile(m[1]))
	}
	for sc := range L.scripts {
		for part := range L.scripts[sc] {
			c.scripts[sc][part] = list(fmt.Sprintf("part %d of scenario %d", part, sc), L.scripts[sc][part])
		}
	}
	for _, s := range L.first {
		c.firstASCII = append(c.firstASCII, emailPart(s))
	}
	for _, s := range L.last {
		c.lastASCII = append(c.lastASCII, emailPart(s))
	}
	type source struct {
		Title string `json:"title"`
		URL   string `json:"url"`
	}
	article := func(t int) source {
		return source{L.help[t], "https://help.example.com/" + L.code + "/" + topicSlugs[t]}
	}
	for t := range numTopics {
		for n, list := range [][]source{{article(t)}, {article(t), article(relatedTopic[t])}} {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(list); err != nil {
				panic(err)
			}
			raw := bytes.TrimSpace(b.Bytes())
			c.sources[t][n] = raw[:len(raw):len(raw)]
		}
	}
}
