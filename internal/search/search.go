// Package search parses the `query` parameter of the conversation list into what it can mean
// (a conversation or event UUID, an order number, words of text) and turns text into the
// normalized form that both database engines index, so that SQLite and PostgreSQL find exactly
// the same conversations.
package search

// Query is a parsed `query` parameter. Several parts may be set at once: "42" is both an order
// number and a word to look for in the text.
type Query struct {
	// Raw is the parameter as given.
	Raw string
	// UUID is set when the whole query is a UUID (lower-cased canonical form).
	UUID string
	// Ord is set (>0) when the whole query is an order number such as "42" or "#42".
	Ord int64
	// Terms are the words to find in the text; every term must match (AND). Empty when the
	// query is a UUID or has no letters or digits.
	Terms []Term
}

// Term is one whitespace-separated word of the query after normalization. A word written with
// punctuation inside ("ORD-0012345") has several parts that must appear next to each other in
// that order; Prefix is set on the last term of the query, whose last part also matches as a
// prefix.
type Term struct {
	Parts  []string
	Prefix bool
}

// IsEmpty reports whether the query asks for nothing.
func (q Query) IsEmpty() bool { return q.UUID == "" && q.Ord == 0 && len(q.Terms) == 0 }
