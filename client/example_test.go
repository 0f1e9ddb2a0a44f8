package client_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apitest"
)

// local starts an in-process Parley server on a fresh SQLite database, so that the examples
// run against the real thing. In your code, the URL is your server's and the token one that
// `parley token create` printed.
func local() (*apitest.Local, *client.Client) {
	srv, err := apitest.StartLocal()
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(srv.URL, srv.WriteToken)
	if err != nil {
		log.Fatal(err)
	}
	return srv, c
}

func at(day, hour int) *time.Time {
	t := time.Date(2026, 1, day, hour, 0, 0, 0, time.UTC)
	return &t
}

// seed writes a few conversations.
func seed(ctx context.Context, c *client.Client) {
	convs := []client.NewConversation{
		{Source: client.SourceWidget, VisitorName: client.Ptr("Ada"), CreatedAt: at(12, 9),
			ClientMetadata: map[string]any{"plan": "pro", "customer_id": 1001},
			Messages: []client.NewMessage{
				{Author: client.AuthorVisitor, Content: "Where is my order ORD-1001?", CreatedAt: at(12, 9)},
				{Author: client.AuthorAI, Content: "It ships tomorrow.", CreatedAt: at(12, 9)},
			}},
		{Source: client.SourceWhatsApp, CreatedAt: at(13, 15),
			Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "Can I pay by invoice?", CreatedAt: at(13, 15)}}},
		{Source: client.SourceWidget, CreatedAt: at(14, 11), ClientMetadata: map[string]any{"plan": "free"},
			Messages: []client.NewMessage{
				{Author: client.AuthorVisitor, Content: "I want to talk to a person", CreatedAt: at(14, 11)},
				{Author: client.AuthorOperator, Content: "Hi, this is Sam.", CreatedAt: at(14, 11), HandoffState: client.Ptr("accepted")},
			}},
	}
	if _, err := c.Conversations.ImportConversations(ctx, convs); err != nil {
		log.Fatal(err)
	}
}

// Create a conversation, add a message and read the detail.
func Example() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()

	conv, created, err := c.Conversations.Create(ctx, client.NewConversation{
		Source:     client.SourceAPI,
		ExternalID: client.Ptr("crm-ticket-42"),
		Messages:   []client.NewMessage{{Author: client.AuthorVisitor, Content: "Hello, my invoice is wrong."}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", created, "ord:", conv.Ord)

	if _, _, err := c.Conversations.AppendMessage(ctx, conv.ID, client.NewMessage{Author: client.AuthorAI, Content: "Sorry about that! Let me check."}); err != nil {
		log.Fatal(err)
	}
	detail, err := c.Conversations.Get(ctx, conv.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("last message:", detail.LastMessageContent)
	// Output:
	// created: true ord: 1
	// last message: Sorry about that! Let me check.
}

// Walk every matching conversation with keyset cursors, however many there are.
func ExampleConversationsService_All() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()
	seed(ctx, c)

	opts := client.ListOptions{Filter: client.Filter{Sources: []string{client.SourceWidget}}, Sort: client.SortOrd, Limit: 1}
	for conv, err := range c.Conversations.All(ctx, opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(conv.Ord, conv.Source, conv.LastMessageContent)
	}
	// Output:
	// 1 widget It ships tomorrow.
	// 3 widget Hi, this is Sam.
}

// Export to CSV: one row per conversation, one column per metadata key.
func ExampleConversationsService_Export() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()
	seed(ctx, c)

	body, err := c.Conversations.Export(ctx, client.ExportOptions{Format: client.FormatCSV, Sort: client.SortOrd})
	if err != nil {
		log.Fatal(err)
	}
	defer body.Close()
	rows := csv.NewReader(body)
	for {
		row, err := rows.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		// ord, source, last_message_content, and the two metadata columns, which come last.
		fmt.Printf("%q\n", []string{row[1], row[5], row[10], row[len(row)-2], row[len(row)-1]})
	}
	// Output:
	// ["ord" "source" "last_message_content" "metadata.customer_id" "metadata.plan"]
	// ["1" "widget" "It ships tomorrow." "1001" "pro"]
	// ["2" "whatsapp" "Can I pay by invoice?" "" ""]
	// ["3" "widget" "Hi, this is Sam." "" "free"]
}

// Export as NDJSON and read it back one conversation at a time, with its timeline.
func ExampleConversationsService_ExportEach() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()
	seed(ctx, c)

	opts := client.ExportOptions{Filter: client.Filter{Metadata: map[string]string{"plan": "pro"}}, IncludeEvents: true}
	for conv, err := range c.Conversations.ExportEach(ctx, opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(conv.Ord, *conv.VisitorName, conv.ClientMetadata["plan"])
		for _, e := range conv.Events {
			fmt.Printf("  %d %s %s: %s\n", e.Ord, e.Type, e.Message.Author, e.Message.Content)
		}
	}
	// Output:
	// 1 Ada pro
	//   1 message visitor: Where is my order ORD-1001?
	//   2 message ai_assistant: It ships tomorrow.
}

// Counts for a dashboard: conversations by day and channel, with the share handed to a human.
func ExampleAnalyticsService_Get() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()
	seed(ctx, c)

	a, err := c.Analytics.Get(ctx, client.AnalyticsOptions{GroupBy: []string{client.GroupDay, client.GroupSource}})
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range a.Groups {
		fmt.Printf("%s %-8s conversations=%d messages=%d handoff_share=%.2f\n",
			g.KeyOf(client.GroupDay), g.KeyOf(client.GroupSource), g.Conversations, g.Messages, g.HandoffShare)
	}
	fmt.Printf("total conversations=%d messages_per_conversation=%.2f\n", a.Total.Conversations, a.Total.MessagesPerConversation)
	// Output:
	// 2026-01-12 widget   conversations=1 messages=2 handoff_share=0.00
	// 2026-01-13 whatsapp conversations=1 messages=1 handoff_share=0.00
	// 2026-01-14 widget   conversations=1 messages=2 handoff_share=1.00
	// total conversations=3 messages_per_conversation=1.67
}

// Optimistic concurrency: write only if nobody changed the conversation since it was read.
func ExampleIfMatch() {
	srv, c := local()
	defer srv.Close()
	ctx := context.Background()

	conv, _, err := c.Conversations.Create(ctx, client.NewConversation{Source: client.SourceWidget})
	if err != nil {
		log.Fatal(err)
	}
	resolved, err := c.Conversations.Update(ctx, conv.ID, client.ConversationPatch{ResolutionStatus: client.Ptr(client.StatusResolved)}, client.IfMatch(conv.Version))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resolved.ResolutionStatus, resolved.Version)

	// conv.Version is stale now.
	_, err = c.Conversations.Update(ctx, conv.ID, client.ConversationPatch{Title: client.Set("Refund")}, client.IfMatch(conv.Version))
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code, apiErr.Field)
	}
	// Output:
	// resolved 2
	// 412 PRECONDITION_FAILED If-Match
}
