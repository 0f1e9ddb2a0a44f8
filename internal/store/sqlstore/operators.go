package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// SetMessageFeedback sets one message's feedback.
func (s *Store) SetMessageFeedback(ctx context.Context, assistantID, conversationID, messageID string, feedback json.RawMessage) (cv.Event, error) {
	var ev cv.Event
	if !validID(messageID) {
		return ev, cv.ErrNotFound
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.conversationTx(ctx, tx, assistantID, conversationID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(s.d.SetMessageField("feedback")), c.RowID, messageID, string(feedback))
		if err := affected(res, err); err != nil {
			return err
		}
		ev, err = scanEvent(tx.QueryRowContext(ctx, s.q(`SELECT `+eventColumns+` FROM events e WHERE e.conversation_rid = $1 AND e.id = $2`), c.RowID, messageID), c.ID)
		if err != nil {
			return err
		}
		return s.logChange(ctx, tx, &c, cv.ChangeConversationUpdated, &ev.ID, []string{"feedback"})
	})
	return ev, err
}

// CreateOperator adds a person.
func (s *Store) CreateOperator(ctx context.Context, name, email, passwordHash string) (cv.Operator, error) {
	op := cv.Operator{ID: newID(), Name: name, Email: strings.ToLower(strings.TrimSpace(email)), PasswordHash: passwordHash, CreatedAt: s.clock()}
	var hash any
	if passwordHash != "" {
		hash = passwordHash
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO operators (id, name, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)`),
		op.ID, op.Name, op.Email, hash, s.d.Time(op.CreatedAt))
	if s.d.IsUniqueViolation(err) {
		return op, cv.ErrConflict
	}
	return op, err
}

const operatorColumns = `o.id, o.name, o.email, o.password_hash, o.created_at`

func scanOperator(sc interface{ Scan(...any) error }, extra ...any) (cv.Operator, error) {
	var op cv.Operator
	var hash sql.NullString
	var at dbTime
	err := sc.Scan(append([]any{&op.ID, &op.Name, &op.Email, &hash, &at}, extra...)...)
	op.PasswordHash, op.CreatedAt = hash.String, at.t
	return op, err
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return cv.ErrNotFound
	}
	return err
}

// OperatorByEmail finds an operator by email (case-insensitive).
func (s *Store) OperatorByEmail(ctx context.Context, email string) (cv.Operator, error) {
	op, err := scanOperator(s.r.QueryRowContext(ctx, s.q(`SELECT `+operatorColumns+` FROM operators o WHERE o.email = $1`), strings.ToLower(strings.TrimSpace(email))))
	return op, notFound(err)
}

// SetOperatorPassword stores an operator's password hash.
func (s *Store) SetOperatorPassword(ctx context.Context, operatorID, passwordHash string) error {
	if !validID(operatorID) {
		return cv.ErrNotFound
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE operators SET password_hash = $2 WHERE id = $1`), operatorID, passwordHash)
	return affected(res, err)
}

// AddMembership makes an operator a member of an assistant, or changes the role.
func (s *Store) AddMembership(ctx context.Context, operatorID, assistantID, role string) error {
	if !validID(operatorID) || !validID(assistantID) {
		return cv.ErrNotFound
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO operator_assistants (operator_id, assistant_id, role, created_at) VALUES ($1, $2, $3, $4)
 ON CONFLICT (operator_id, assistant_id) DO UPDATE SET role = excluded.role`), operatorID, assistantID, role, s.d.Time(s.clock()))
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key") {
		return cv.ErrNotFound
	}
	return err
}

// RemoveMembership takes an operator out of an assistant.
func (s *Store) RemoveMembership(ctx context.Context, operatorID, assistantID string) error {
	if !validID(operatorID) || !validID(assistantID) {
		return cv.ErrNotFound
	}
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM operator_assistants WHERE operator_id = $1 AND assistant_id = $2`), operatorID, assistantID)
	return affected(res, err)
}

// Operators lists an assistant's operators, by name.
func (s *Store) Operators(ctx context.Context, assistantID string) ([]cv.Operator, error) {
	if !validID(assistantID) {
		return nil, cv.ErrNotFound
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+operatorColumns+`, m.role FROM operators o JOIN operator_assistants m ON m.operator_id = o.id
 WHERE m.assistant_id = $1 ORDER BY o.name, o.id`), assistantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []cv.Operator{}
	for rows.Next() {
		var role string
		op, err := scanOperator(rows, &role)
		if err != nil {
			return nil, err
		}
		op.Role = role
		out = append(out, op)
	}
	return out, rows.Err()
}

// Operator finds one operator of an assistant.
func (s *Store) Operator(ctx context.Context, assistantID, operatorID string) (cv.Operator, error) {
	if !validID(assistantID) || !validID(operatorID) {
		return cv.Operator{}, cv.ErrNotFound
	}
	var role string
	op, err := scanOperator(s.r.QueryRowContext(ctx, s.q(`SELECT `+operatorColumns+`, m.role FROM operators o JOIN operator_assistants m ON m.operator_id = o.id
 WHERE m.assistant_id = $1 AND o.id = $2`), assistantID, operatorID), &role)
	op.Role = role
	return op, notFound(err)
}

// Memberships lists an operator's assistants.
func (s *Store) Memberships(ctx context.Context, operatorID string) ([]store.Membership, error) {
	if !validID(operatorID) {
		return nil, cv.ErrNotFound
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT a.id, a.name, a.created_at, m.role FROM assistants a JOIN operator_assistants m ON m.assistant_id = a.id
 WHERE m.operator_id = $1 ORDER BY a.name, a.id`), operatorID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Membership{}
	for rows.Next() {
		var m store.Membership
		var at dbTime
		if err := rows.Scan(&m.Assistant.ID, &m.Assistant.Name, &at, &m.Role); err != nil {
			return nil, err
		}
		m.Assistant.CreatedAt = at.t
		out = append(out, m)
	}
	return out, rows.Err()
}
