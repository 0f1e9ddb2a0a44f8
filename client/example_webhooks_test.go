package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/parleyhq/parley/client"
)

// Create a webhook endpoint, check a real delivery's signature with VerifySignature, list the
// endpoint's deliveries and send one again. The parts between the docs markers are the Go
// client section of docs/integrations.md, verbatim.
func ExampleWebhooksService_Create() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()

	// The receiver: here it hands each request to the example, which checks it as your
	// handler would (see ExampleVerifySignature for a whole handler).
	type request struct {
		signature string
		body      []byte
	}
	received := make(chan request, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received <- request{r.Header.Get(client.SignatureHeader), body}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	receiverURL := receiver.URL + "/parley-webhook"

	// docs:start webhooks
	hook, err := c.Webhooks.Create(ctx, client.NewWebhook{
		URL:         receiverURL, // your endpoint, such as https://crm.example.com/parley-webhook
		Description: "CRM",
		EventTypes:  []string{client.ChangeConversationResolved},
	})
	if err != nil {
		log.Fatal(err)
	}
	secret := hook.Secret // shown this once: keep it where your receiver can read it
	// docs:end
	fmt.Println(hook.Status, strings.HasPrefix(secret, "whsec_"))

	conv, _, err := c.Conversations.Create(ctx, client.NewConversation{Source: client.SourceAPI})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Conversations.Update(ctx, conv.ID, client.ConversationPatch{ResolutionStatus: client.Ptr(client.StatusResolved)}); err != nil {
		log.Fatal(err)
	}

	// The delivery, as the receiver got it: genuine, and refused once tampered with.
	d := <-received
	if err := client.VerifySignature(secret, d.signature, d.body, client.DefaultSignatureTolerance, time.Now()); err != nil {
		log.Fatal(err)
	}
	var ev client.WebhookEvent
	if err := json.Unmarshal(d.body, &ev); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Type, ev.Data.Conversation.ID == conv.ID, ev.Data.Conversation.ResolutionStatus)
	tampered := bytes.Replace(d.body, []byte("resolved"), []byte("deleted"), 1)
	fmt.Println(client.VerifySignature(secret, d.signature, tampered, client.DefaultSignatureTolerance, time.Now()))

	// The receiver has the delivery; wait until Parley has recorded its answer (a delivery
	// being sent cannot be redelivered).
	for {
		list, err := c.Webhooks.Deliveries(ctx, hook.ID, client.DeliveryOptions{Status: client.DeliverySucceeded})
		if err != nil {
			log.Fatal(err)
		}
		if len(list.Items) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// docs:start deliveries
	for d, err := range c.Webhooks.AllDeliveries(ctx, hook.ID, client.DeliveryOptions{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.Type, d.ConversationID == conv.ID)
		// Send it again: the same id and body, with a fresh retry window.
		again, err := c.Webhooks.Redeliver(ctx, hook.ID, d.ID)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(again.Status)
	}
	// docs:end
	fmt.Println(bytes.Equal((<-received).body, d.body))
	// Output:
	// enabled true
	// conversation.resolved true resolved
	// parley: no Parley-Signature matches the body
	// conversation.resolved true
	// pending
	// true
}

// Follow the assistant's changes live. Subscribe reconnects by itself when the connection is
// lost, resuming after the last event it yielded; to resume in a later run, keep the ID of the
// last event handled. The part between the docs markers is in docs/integrations.md, verbatim.
func ExampleStreamService_Subscribe() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()

	conv, _, err := c.Conversations.Create(ctx, client.NewConversation{Source: client.SourceWidget,
		Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "Has my order shipped?"}}})
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := c.Conversations.AppendMessage(ctx, conv.ID, client.NewMessage{Author: client.AuthorAI, Content: "Yes, this morning."}); err != nil {
		log.Fatal(err)
	}
	// "0": from the oldest change the server keeps; "": from the next change on.
	lastID := "0"
	// Follow for a while; a service follows until it shuts down (the loop ends when ctx does).
	ctx, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()

	// docs:start stream
	for ev, err := range c.Stream.Subscribe(ctx, client.StreamOptions{LastEventID: lastID}) {
		if err != nil {
			log.Fatal(err) // the server refused: a bad token, a bad LastEventID
		}
		switch ev.Type {
		case client.ChangeMessageCreated:
			fmt.Println(ev.ID, ev.Type, ev.Data.Message.Author, ev.Data.Message.Content)
		default:
			fmt.Println(ev.ID, ev.Type, ev.Data.Fields)
		}
		lastID = ev.ID // keep it (in a file, a database) to resume there after a restart
	}
	// docs:end

	// Later: what changed since.
	ctx = context.Background()
	if _, err := c.Conversations.Update(ctx, conv.ID, client.ConversationPatch{ResolutionStatus: client.Ptr(client.StatusResolved)}); err != nil {
		log.Fatal(err)
	}
	for ev, err := range c.Stream.Subscribe(ctx, client.StreamOptions{LastEventID: lastID}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.ID, ev.Type, ev.Data.Fields, ev.Data.Conversation.ResolutionStatus)
		if ev.Type == client.ChangeConversationResolved {
			break
		}
	}
	// Output:
	// 1 conversation.created []
	// 2 message.created ai_assistant Yes, this morning.
	// 3 conversation.updated [resolution_status] resolved
	// 4 conversation.resolved [] resolved
}
