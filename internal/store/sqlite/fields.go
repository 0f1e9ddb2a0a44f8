package sqlite

import "github.com/parleyhq/parley/internal/store/sqlstore"

// SetMessageFields sets field of n messages of a conversation in one statement.
func (Dialect) SetMessageFields(field string, n int) string {
	c, ids := sqlstore.MessageFieldsCase(n)
	return `UPDATE events SET data = json_set(data, '$.` + field + `', json(` + c + `)) WHERE conversation_rid = $1 AND type = 'message' AND id IN (` + ids + `)`
}
