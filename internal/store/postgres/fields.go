package postgres

import (
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// SetMessageFields sets field of n messages of a conversation in one statement.
func (Dialect) SetMessageFields(field string, n int) string {
	c, ids := sqlstore.MessageFieldsCase(n)
	return `UPDATE events SET data = jsonb_set(data, '{` + field + `}', (` + c + `)::jsonb) WHERE conversation_rid = $1 AND type = 'message' AND id IN (` + ids + `)`
}

// values is a VALUES list of n rows of the given column types, parameters from $1.
func values(n int, types ...string) string {
	var b strings.Builder
	p := 1
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, t := range types {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d::%s", p, t)
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// UpdateAnalyses writes the analysis columns of n conversations in one statement.
func (Dialect) UpdateAnalyses(n int) string {
	return `UPDATE conversations AS c SET unified_analysis = v.u::jsonb, sentiment = v.s, topic = v.t, is_flagged = v.f,
 most_frequent_language = v.l, title = v.ti
 FROM (VALUES ` + values(n, "bigint", "text", "text", "text", "boolean", "text", "text") + `) AS v(rid, u, s, t, f, l, ti) WHERE c.rid = v.rid`
}

// SetMessagesField sets field of messages of several conversations in one statement.
func (Dialect) SetMessagesField(field string, n int) string {
	return `UPDATE events AS e SET data = jsonb_set(e.data, '{` + field + `}', v.j::jsonb)
 FROM (VALUES ` + values(n, "bigint", "uuid", "text") + `) AS v(rid, id, j) WHERE e.id = v.id AND e.conversation_rid = v.rid AND e.type = 'message'`
}

// UpdateSearchMetas replaces the conversation fields of n search documents in one statement.
func (Dialect) UpdateSearchMetas(n int) string {
	return `UPDATE conversation_search AS s SET meta = v.m, tsv = ` + searchMetaTSV("v.m") + `
 FROM (VALUES ` + values(n, "bigint", "text") + `) AS v(rid, m) WHERE s.conversation_rid = v.rid`
}
