package analysis

import (
	"fmt"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
)

// SampleInputs returns n synthetic support conversations of about 8 messages in several
// languages (for benchmarks and the memory probe); every third one has a topic list.
func SampleInputs(n int) []Input {
	scripts := [][]string{
		{"Hi, I ordered a jacket last week (order #%d) and it still hasn't arrived.", "I'm sorry about the delay. Let me check the tracking for you.", "Thanks. The tracking page hasn't changed in 5 days.", "It looks like the parcel is held at the depot. I have asked them to send it today.", "Will I get a refund for the shipping costs?", "Yes, the shipping costs will be refunded to your card within 5 days.", "Great, thank you for your help!", "You're welcome, have a nice day."},
		{"Hola, no puedo iniciar sesión en mi cuenta desde ayer.", "¿Ha probado a restablecer la contraseña desde la página de inicio?", "Sí, pero no me llega el correo.", "Revise la carpeta de spam, por favor. A veces el correo llega allí.", "Tampoco está. Esto es muy frustrante, quiero hablar con una persona.", "Le paso con un agente ahora mismo.", "Gracias.", "Un agente le responderá en unos minutos."},
		{"Bonjour, je voudrais changer l'adresse de livraison de ma commande %d.", "Bien sûr. Quelle est la nouvelle adresse ?", "12 rue de la Paix, 75002 Paris.", "C'est noté, l'adresse a été mise à jour.", "Merci beaucoup !", "Avec plaisir.", "Est-ce que la date de livraison change ?", "Non, la livraison est toujours prévue pour jeudi."},
		{"Hallo, meine Rechnung %d ist doppelt abgebucht worden.", "Das tut mir leid. Ich sehe mir das an.", "Bitte schnell, das ist ärgerlich.", "Ich sehe zwei Abbuchungen. Eine davon wird storniert.", "Wann bekomme ich das Geld zurück?", "Innerhalb von 3 bis 5 Werktagen.", "Okay, danke.", "Gern geschehen."},
		{"can i pay with paypal?", "Yes, we accept PayPal, Visa, Mastercard and Apple Pay.", "and klarna?", "I'm not sure, I don't have information about Klarna.", "ok so who can tell me", "You can ask our billing team at billing@example.com.", "fine", "Is there anything else I can help with?"},
	}
	topics := []settings.Topic{
		{Name: "Shipping", Description: "delivery, tracking, address", Examples: []string{"where is my order", "change the delivery address", "my parcel has not arrived"}},
		{Name: "Billing", Description: "payments, invoices, refunds", Examples: []string{"I was charged twice", "can I pay with PayPal", "when do I get my refund"}},
		{Name: "Account", Description: "login and password", Examples: []string{"I can't log in", "reset my password", "delete my account"}},
	}
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	out := make([]Input, n)
	for i := range out {
		s := scripts[i%len(scripts)]
		in := Input{Now: base.Add(time.Duration(i)*time.Minute + 2*time.Hour)}
		for j, text := range s {
			a := cv.AuthorVisitor
			if j%2 == 1 {
				a = cv.AuthorAI
			}
			if j == 0 {
				text = fmt.Sprintf(text, 10000+i)
			}
			in.Messages = append(in.Messages, Message{Author: a, Content: text, CreatedAt: base.Add(time.Duration(i)*time.Minute + time.Duration(j)*20*time.Second), HasSources: j%4 == 1})
		}
		if i%3 == 0 {
			in.Topics = topics
		}
		out[i] = in
	}
	return out
}
