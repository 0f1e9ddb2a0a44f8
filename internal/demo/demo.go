// Package demo generates realistic, deterministic sample conversations: support chats in eight
// languages on every channel, with order numbers, tracking codes, amounts, operators joining,
// cited help articles and attachments. The text comes from templates compiled into the binary
// (lang_*.go); nothing is read from disk or the network.
package demo

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/conversation"
)

// Generate returns n sample conversations made from seed; the same seed and n give the same
// conversations. Times are spread over the span before end (UTC, microsecond precision).
// Conversations have 2 to 12 messages and are returned oldest first.
func Generate(seed int64, n int, end time.Time, span time.Duration) []conversation.NewConversation {
	g := NewGenerator(seed, end, span)
	g.MinMessages, g.MaxMessages = 2, 12
	out := make([]conversation.NewConversation, max(n, 0))
	for i := range out {
		out[i] = g.Next()
	}
	slices.SortStableFunc(out, func(a, b conversation.NewConversation) int { return a.CreatedAt.Compare(*b.CreatedAt) })
	return out
}

// Generator yields conversations one at a time, for sets too large to hold in memory. It
// allocates a handful of objects per conversation: all the strings of one conversation share
// one backing string. The sources_generated values are shared between conversations and must
// not be modified. Channel conversations get external IDs that are unique among the first 2³²
// conversations of a generator. A Generator is not safe for concurrent use.
type Generator struct {
	// MinMessages and MaxMessages bound the number of messages in a conversation (default 2
	// and 30; shorter conversations are more frequent).
	MinMessages, MaxMessages int

	r         *rand.Rand
	end, span int64 // Unix microseconds, microseconds
	seq       uint32
	key       uint32
	buf, name []byte
	beats     []beat
	lastLang  int // for tests
	lastScene int
}

// NewGenerator returns a generator of conversations made from seed, whose times fall in the
// span before end.
func NewGenerator(seed int64, end time.Time, span time.Duration) *Generator {
	s := uint64(seed)
	return &Generator{
		MinMessages: 2, MaxMessages: 30,
		r:   rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)),
		end: end.UnixMicro(), span: max(span.Microseconds(), 0),
		key: mix32(uint32(s) ^ uint32(s>>32) ^ 0x5bd1e995),
	}
}

// Channels and how their visitors look.
var channels = [...]struct {
	source                string
	weight                int
	welcome, named, email float64 // chances of an AI welcome, a known name and (given a name) an email
}{
	{conversation.SourceWidget, 50, .65, .75, .75},
	{conversation.SourceWhatsApp, 20, .35, .9, .25},
	{conversation.SourceTelegram, 13, .4, 1, .2},
	{conversation.SourceSlack, 9, .1, 1, .95},
	{conversation.SourceAPI, 8, .3, .8, .8},
}

var scenarios = [numScenarios]struct {
	weight int
	topic  int    // help topic cited by the AI, -1 for none
	page   string // widget page the visitor writes from
}{
	scOrderStatus:  {16, tOrders, "/account/orders/{order}"},
	scRefund:       {10, tReturns, "/help/returns"},
	scDamaged:      {6, tReturns, "/account/orders/{order}"},
	scAddress:      {5, tOrders, "/account/orders/{order}"},
	scCancel:       {6, tOrders, "/account/orders/{order}"},
	scPassword:     {8, tAccount, "/account/login"},
	scBilling:      {6, tBilling, "/account/invoices"},
	scSubscription: {6, tPlans, "/pricing"},
	scProduct:      {8, tProducts, "/products/{slug}"},
	scShipping:     {6, tShipping, "/checkout"},
	scComplaint:    {5, -1, "/products/{slug}"},
	scPraise:       {4, -1, "/"},
	scHuman:        {5, -1, "/contact"},
	scFrustrated:   {4, -1, "/account/orders/{order}"},
	scUnknown:      {5, -1, "/help"},
}

var (
	channelTable, scenarioTable table
	pages                       [numScenarios]tmpl
	labels                      = []string{"VIP", "VIP", "Trial", "Trial", "Enterprise"}
	plans                       = []string{"Plus", "Pro", "Business"}
	usAreas                     = []string{"202", "212", "305", "312", "415", "512", "617", "702", "206", "303"}
	authors                     = [...]string{conversation.AuthorAI, conversation.AuthorVisitor, conversation.AuthorOperator}
)

func init() {
	var w []int
	for _, c := range channels {
		w = append(w, c.weight)
	}
	channelTable = newTable(w...)
	w = w[:0]
	for i, s := range scenarios {
		w = append(w, s.weight)
		pages[i] = compile(s.page)
	}
	scenarioTable = newTable(w...)
}

// Beats: the kinds of message in a conversation.
const (
	kWelcome = iota
	kOpen
	kAnswer
	kJoin
	kFollow
	kReply
	kMoreV
	kMoreA
	kThanks
	kClosing
)

const (
	byAI = iota
	byVisitor
	byOperator
)

type beat struct {
	kind, author      uint8
	at                int64 // microseconds after the first message
	a, b, xa, xb      int   // content and external ID in the buffer
	sources, attached json.RawMessage
}

// Next returns the next conversation.
func (g *Generator) Next() conversation.NewConversation {
	r := g.r
	id := mix32(g.seq + g.key)
	g.seq++

	sc := scenarioTable.pick(r)
	human := sc == scHuman
	operator := human || sc == scUnknown || (sc == scFrustrated && r.IntN(10) < 6) || r.IntN(100) < 7
	ci := channelTable.pick(r)
	if operator && channels[ci].source == conversation.SourceAPI {
		ci = 0 // operators cannot answer through the API channel
	}
	ch := &channels[ci]
	li := langTable.pick(r)
	if ch.source == conversation.SourceSlack && r.IntN(10) < 8 {
		li = 0
	}
	L := langs[li]
	g.lastLang, g.lastScene = li, sc

	beats := g.plan(g.length(), human, operator, r.Float64() < ch.welcome)
	start := g.start(g.times(beats, human))
	c := g.facts(L, start)
	g.buf = g.buf[:0]
	f := g.visitor(ch.named, ch.email, ch.source, sc, &c)
	f.ext = g.externalID(ch.source, id, start, f.phone)
	g.messages(beats, sc, ch.source, start, f.ext, &c)

	// One string holds the text of the whole conversation.
	s := string(g.buf)
	str := func(p [2]int) *string {
		if p[1] == p[0] {
			return nil
		}
		v := s[p[0]:p[1]]
		return &v
	}
	out := conversation.NewConversation{Source: ch.source, VisitorName: str(f.name), VisitorEmail: str(f.email),
		VisitorPhoneNumber: str(f.phone), VisitorLabel: str(f.label), URL: str(f.url), ExternalID: str(f.ext)}
	if r.IntN(100) < 35 || ch.source == conversation.SourceAPI && r.IntN(100) < 60 {
		m := map[string]any{"customer_id": 10_000 + r.IntN(990_000), "plan": [...]string{"free", "pro", "business"}[r.IntN(3)], "locale": L.code, "region": "eu"}
		if L.code == "en" {
			m["region"] = [...]string{"us", "us", "eu", "apac"}[r.IntN(4)]
		}
		if out.VisitorLabel != nil && *out.VisitorLabel == "VIP" {
			m["vip"] = true
		}
		out.ClientMetadata = m
	}
	msgs := make([]conversation.NewMessage, len(beats))
	times := make([]time.Time, len(beats)+1)
	var extIDs []string
	if ch.source != conversation.SourceWidget && ch.source != conversation.SourceAPI {
		extIDs = make([]string, len(beats))
	}
	for i := range beats {
		b := &beats[i]
		times[i] = time.UnixMicro(start + b.at).UTC()
		m := &msgs[i]
		m.Author, m.Content, m.CreatedAt, m.IsWelcome = authors[b.author], s[b.a:b.b], &times[i], b.kind == kWelcome
		m.SourcesGenerated, m.Attachments = b.sources, b.attached
		if extIDs != nil {
			extIDs[i] = s[b.xa:b.xb]
			m.ExternalID = &extIDs[i]
		}
	}
	times[len(beats)] = times[0]
	out.CreatedAt, out.Messages = &times[len(beats)], msgs
	return out
}

// facts draws what the conversation's templates refer to: order, parcel, amount, dates.
func (g *Generator) facts(L *lang, start int64) conv {
	r := g.r
	c := conv{L: L, op: L.ops[r.IntN(len(L.ops))], plan: plans[r.IntN(len(plans))], product: r.IntN(numProducts),
		shipper: r.IntN(len(shippers)), service: r.IntN(len(services)), parcel: r.IntN(100_000_000), invoice: r.IntN(1_000_000)}
	switch x := r.IntN(100); { // a few orders come up again and again, most are rare
	case x < 5:
		c.order = 12_340 + r.IntN(20)
	case x < 15:
		c.order = 20_000 + r.IntN(1000)
	default:
		c.order = 100_000 + r.IntN(9_800_000)
	}
	c.cents = ((9+r.IntN(48)*10)+1)*L.cur.scale*100 - [...]int{1, 5, 50, 100}[r.IntN(4)]
	_, month, day := time.UnixMicro(start - int64(1+r.IntN(8))*24*3600e6).UTC().Date()
	c.day, c.month, c.year = day, int(month), time.UnixMicro(start).UTC().Year()
	return c
}

// fields are the conversation's strings, as offsets in the buffer.
type fields struct{ name, email, phone, label, url, ext [2]int }

// visitor writes who the visitor is and where they write from.
func (g *Generator) visitor(named, withEmail float64, source string, sc int, c *conv) (f fields) {
	r, L := g.r, c.L
	if r.Float64() < named {
		fi, la := r.IntN(len(L.first)), -1
		c.first = L.first[fi]
		if source == conversation.SourceSlack || source == conversation.SourceAPI || r.IntN(10) < 6 {
			la = r.IntN(len(L.last))
		}
		f.name[0] = len(g.buf)
		g.buf = append(g.buf, c.first...)
		if la >= 0 {
			g.buf = append(append(g.buf, ' '), L.last[la]...)
		}
		f.name[1] = len(g.buf)
		if r.Float64() < withEmail {
			f.email[0] = len(g.buf)
			g.appendEmail(L.c.firstASCII[fi], la, L)
			f.email[1] = len(g.buf)
		}
	}
	if source == conversation.SourceWhatsApp {
		f.phone[0] = len(g.buf)
		g.appendPhone(L.code)
		f.phone[1] = len(g.buf)
	}
	if r.IntN(100) < 8 {
		f.label[0] = len(g.buf)
		g.buf = append(g.buf, labels[r.IntN(len(labels))]...)
		f.label[1] = len(g.buf)
	}
	if source == conversation.SourceWidget && r.IntN(100) < 95 {
		f.url[0] = len(g.buf)
		g.buf = append(g.buf, "https://shop.example.com"...)
		if L.code != "en" {
			g.buf = append(append(g.buf, '/'), L.code...)
		}
		if r.IntN(100) < 12 {
			g.buf = append(g.buf, '/')
		} else {
			g.buf = c.render(g.buf, pages[sc])
		}
		if r.IntN(100) < 10 {
			g.buf = append(g.buf, "?utm_source=newsletter&utm_campaign=spring"...)
		}
		f.url[1] = len(g.buf)
	}
	return f
}

// externalID writes the conversation's ID on its channel, unique thanks to id.
func (g *Generator) externalID(source string, id uint32, start int64, phone [2]int) [2]int {
	a := len(g.buf)
	switch source {
	case conversation.SourceTelegram:
		g.buf = strconv.AppendUint(append(g.buf, "tg-"...), 1_000_000_000+uint64(id), 10)
	case conversation.SourceWhatsApp:
		g.buf = append(append(g.buf, "wa-"...), g.buf[phone[0]+1:phone[1]]...)
		g.buf = strconv.AppendUint(append(g.buf, '-'), uint64(id), 10)
	case conversation.SourceSlack: // a channel ID and the thread's timestamp
		g.buf = append(g.buf, "slack-C"...)
		g.buf = append(g.buf, base32[g.r.IntN(10)])
		for i := range 7 {
			g.buf = append(g.buf, base32[id>>(5*i)&31])
		}
		g.buf = appendTS(append(g.buf, '-'), start)
	case conversation.SourceAPI:
		if g.r.IntN(10) < 4 {
			g.buf = strconv.AppendUint(append(g.buf, "crm-"...), uint64(id), 10)
		}
	}
	return [2]int{a, len(g.buf)}
}

// messages writes each message's text and external ID, and picks its sources and attachments.
func (g *Generator) messages(beats []beat, sc int, source string, start int64, ext [2]int, c *conv) {
	r, L := g.r, c.L
	scr := &L.c.scripts[sc]
	oi, fi, mi := 0, 0, r.IntN(len(L.c.moreV))
	tgMsg := 1 + r.IntN(5000)
	one := func(list []tmpl) { g.buf = c.render(g.buf, list[r.IntN(len(list))]) }
	for i := range beats {
		b := &beats[i]
		b.a = len(g.buf)
		switch b.kind {
		case kWelcome:
			one(L.c.welcome)
		case kOpen:
			oi = r.IntN(len(scr[0]))
			g.buf = c.render(g.buf, scr[0][oi])
		case kAnswer:
			g.buf = c.render(g.buf, scr[1][oi%len(scr[1])])
		case kJoin:
			one(L.c.join)
		case kFollow:
			fi = r.IntN(len(scr[2]))
			g.buf = c.render(g.buf, scr[2][fi])
		case kReply:
			g.buf = c.render(g.buf, scr[3][fi%len(scr[3])])
		case kMoreV:
			g.buf = c.render(g.buf, L.c.moreV[mi%len(L.c.moreV)])
		case kMoreA:
			g.buf = c.render(g.buf, L.c.moreA[mi%len(L.c.moreA)])
			mi++
		case kThanks:
			one(L.c.thanks)
		case kClosing:
			one(L.c.closing)
		}
		b.b = len(g.buf)
		if t := scenarios[sc].topic; t >= 0 && b.author == byAI && (b.kind == kAnswer && r.IntN(100) < 55 || b.kind == kReply && r.IntN(100) < 25) {
			b.sources = L.c.sources[t][min(r.IntN(10)/7, 1)]
		}
		g.attach(b, sc, oi, c)
		b.xa = len(g.buf)
		switch source {
		case conversation.SourceTelegram: // chat ID and message number
			g.buf = append(g.buf, g.buf[ext[0]:ext[1]]...)
			g.buf = strconv.AppendInt(append(g.buf, '-'), int64(tgMsg), 10)
			tgMsg += 1 + r.IntN(2)
		case conversation.SourceWhatsApp:
			g.buf = append(g.buf, "wamid.HBgL"...)
			for range 4 {
				for x := r.Uint64(); x > 63; x >>= 6 {
					g.buf = append(g.buf, base64[x&63])
				}
			}
		case conversation.SourceSlack: // channel and the message's timestamp
			g.buf = append(g.buf, g.buf[ext[0]:ext[0]+16]...)
			g.buf = appendTS(g.buf, start+b.at)
		}
		b.xb = len(g.buf)
	}
}

// length draws a message count; short conversations are the most frequent.
func (g *Generator) length() int {
	lo := max(g.MinMessages, 1)
	hi := min(max(g.MaxMessages, lo), conversation.MaxMessagesInCreate)
	lo = min(lo, hi)
	return lo + int(float64(hi-lo+1)*math.Pow(g.r.Float64(), 2.4))
}

// plan lays out n messages: an optional welcome, the visitor's question and the answer, an
// operator who may join, follow-ups, and an ending: thanks and a closing word, thanks alone, or
// a visitor who leaves without a word.
func (g *Generator) plan(n int, human, operator, welcome bool) []beat {
	if n == 1 {
		g.beats = append(g.beats[:0], beat{kind: kOpen, author: byVisitor})
		return g.beats
	}
	endings := [...][3]int{{2, 0, 1}, {2, 0, 1}, {1, 2, 0}, {0, 2, 1}}[g.r.IntN(4)]
	for {
		b := g.beats[:0]
		if welcome {
			b = append(b, beat{kind: kWelcome, author: byAI})
		}
		b = append(b, beat{kind: kOpen, author: byVisitor}, beat{kind: kAnswer, author: byAI})
		agent := uint8(byAI)
		if operator && human {
			b, agent = append(b, beat{kind: kJoin, author: byOperator}), byOperator
		}
		b = append(b, beat{kind: kFollow, author: byVisitor})
		if operator && !human {
			b, agent = append(b, beat{kind: kJoin, author: byOperator}), byOperator
		}
		b = append(b, beat{kind: kReply, author: agent})
		for len(b) < n {
			b = append(b, beat{kind: kMoreV, author: byVisitor}, beat{kind: kMoreA, author: agent})
		}
		g.beats = b
		for _, e := range endings {
			cut := n - e
			if cut < 2 || cut > len(b) {
				continue
			}
			if last := b[cut-1]; last.author == byVisitor || last.kind == kWelcome || last.kind == kJoin && (e > 0 || !human) {
				continue
			}
			b = b[:cut]
			closer := uint8(byAI)
			if slices.ContainsFunc(b, func(x beat) bool { return x.author == byOperator }) {
				closer = byOperator
			}
			if e >= 1 {
				b = append(b, beat{kind: kThanks, author: byVisitor})
			}
			if e == 2 {
				b = append(b, beat{kind: kClosing, author: closer})
			}
			return b
		}
		welcome = false // too short for a welcome: try without
	}
}

// times sets each beat's offset from the first message and returns the last one. The AI
// answers in seconds, visitors type for up to minutes, operators take longer.
func (g *Generator) times(b []beat, human bool) int64 {
	var t int64
	for i := range b {
		switch k, a := b[i].kind, b[i].author; {
		case i == 0:
		case k == kOpen:
			t += g.gap(3, 90)
		case k == kJoin && human:
			t += g.gap(20, 480)
		case k == kJoin:
			t += g.gap(40, 900)
		case a == byAI:
			t += g.gap(2, 9)
		case a == byOperator && k == kClosing:
			t += g.gap(8, 60)
		case a == byOperator:
			t += g.gap(25, 240)
		case k == kThanks:
			t += g.gap(8, 120)
		default:
			t += g.gap(10, 180)
		}
		b[i].at = t
	}
	return t
}

func (g *Generator) gap(lo, hi int) int64 {
	u := g.r.Float64()
	return int64(lo)*1e6 + int64(u*u*float64(hi-lo)*1e6)
}

// start draws when a conversation begins: recent days are a little more frequent, nights
// (UTC) less, and the last message is never after end.
func (g *Generator) start(dur int64) int64 {
	var t int64
	for range 3 {
		t = g.end - g.span + int64(math.Pow(g.r.Float64(), 0.8)*float64(g.span))
		if h := t / 3_600_000_000 % 24; h < 0 || h >= 6 || g.r.IntN(10) < 4 {
			break
		}
	}
	return min(t, g.end-dur)
}

// attach gives the messages that mention a file their attachment.
func (g *Generator) attach(b *beat, sc, opener int, c *conv) {
	name := g.name[:0]
	switch {
	case sc == scDamaged && b.kind == kFollow:
		name = append(name, "damaged-box.jpg"...)
	case sc == scComplaint && b.kind == kOpen && opener == 1 && g.r.IntN(2) == 0:
		name = appendPad(append(name, "IMG_"...), uint64(g.r.IntN(10000)), 4)
		name = append(name, ".jpg"...)
	case sc == scRefund && b.kind == kReply:
		name = append(c.appendOrder(append(name, "return-label-"...)), ".pdf"...)
	case sc == scBilling && b.kind == kReply:
		name = append(c.appendInvoice(append(name, "invoice-"...)), ".pdf"...)
	default:
		return
	}
	g.name = name
	typ, lo, hi := "file", 18_000, 240_000
	if name[len(name)-1] == 'g' {
		typ, lo, hi = "image", 90_000, 3_500_000
	}
	j := make([]byte, 0, 128+2*len(name))
	j = append(append(append(append(j, `[{"type":"`...), typ...), `","name":"`...), name...)
	j = strconv.AppendInt(append(j, `","size":`...), int64(lo+g.r.IntN(hi-lo)), 10)
	j = strconv.AppendUint(append(j, `,"url":"https://files.example.com/u/`...), g.r.Uint64(), 36)
	j = append(append(append(j, '/'), name...), `"}]`...)
	b.attached = j
}

func (g *Generator) appendEmail(first string, la int, L *lang) {
	r := g.r
	last := ""
	if la >= 0 {
		last = L.c.lastASCII[la]
	} else if r.IntN(2) == 0 {
		last = L.c.lastASCII[r.IntN(len(L.c.lastASCII))]
	}
	switch x := r.IntN(5); {
	case last == "" || x == 0:
		g.buf = appendPad(append(g.buf, first...), uint64(r.IntN(1000)), 2)
	case x == 1:
		g.buf = append(append(g.buf, first...), last...)
	case x == 2:
		g.buf = append(append(g.buf, first[0], '.'), last...)
	case x == 3:
		g.buf = appendPad(append(append(append(g.buf, first...), '_'), last...), uint64(r.IntN(100)), 2)
	default:
		g.buf = append(append(append(g.buf, first...), '.'), last...)
	}
	g.buf = append(g.buf, [...]string{"@example.com", "@example.com", "@example.org", "@example.net"}[r.IntN(4)]...)
}

// appendPhone appends a number from a range reserved for fiction: +1 NXX 555-01xx (more often
// for English visitors) or +44 7700 900xxx.
func (g *Generator) appendPhone(code string) {
	if r := g.r; r.IntN(10) < 3 || code == "en" && r.IntN(2) == 0 {
		g.buf = append(append(g.buf, "+1"...), usAreas[r.IntN(len(usAreas))]...)
		g.buf = appendPad(append(g.buf, "55501"...), uint64(r.IntN(100)), 2)
	} else {
		g.buf = appendPad(append(g.buf, "+447700900"...), uint64(r.IntN(1000)), 3)
	}
}

// appendTS appends a Slack timestamp: Unix seconds and microseconds.
func appendTS(b []byte, us int64) []byte {
	return appendPad(append(strconv.AppendInt(b, us/1e6, 10), '.'), uint64(us%1e6), 6)
}

const (
	base32 = "0123456789ABCDEFGHJKLMNPQRSTUVWX"
	base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// mix32 is a bijection on uint32, so distinct counters give distinct IDs.
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	return x ^ x>>16
}

// table draws an index with the given weights.
type table struct{ cum []int }

func newTable(w ...int) table {
	t := table{cum: make([]int, len(w))}
	sum := 0
	for i, x := range w {
		sum += x
		t.cum[i] = sum
	}
	return t
}

func (t table) pick(r *rand.Rand) int {
	x := r.IntN(t.cum[len(t.cum)-1])
	for i, c := range t.cum {
		if x < c {
			return i
		}
	}
	return len(t.cum) - 1
}
