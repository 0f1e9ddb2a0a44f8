package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"sync"
)

// vocabCache keeps the words that prefixes were restated as (ProbeArg), for as long as the
// search index does not change. Listing a prefix's words from the vocabulary table walks every
// document list of those words to count them (about 7 ms for a word in a fifth of a million
// conversations), though only the words are wanted.
//
// The index's structure record (row 10 of its data table, FTS5's list of segments) is
// rewritten by every change to the index: each commit that adds or deletes documents writes a
// segment, and each merge replaces some. So words listed while the record held some bytes are
// still the words while it holds the same bytes. The record is read first and the words after,
// so the words are never older than the record they are kept under.
type vocabCache struct {
	mu        sync.Mutex
	structure []byte
	words     map[string][]string
}

// vocabCacheMax bounds the prefixes kept; past it the cache starts again.
const vocabCacheMax = 256

func newVocabCache() *vocabCache { return &vocabCache{words: map[string][]string{}} }

// structureRecord reads the search index's structure record.
func structureRecord(ctx context.Context, r *sql.DB) ([]byte, error) {
	var b []byte
	err := r.QueryRowContext(ctx, `SELECT block FROM conversation_search_data WHERE id = 10`).Scan(&b)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return b, err
}

// prefixWords returns the index's words that start with p, at most limit+1 of them.
func (c *vocabCache) prefixWords(ctx context.Context, r *sql.DB, p string, limit int) ([]string, error) {
	if c == nil {
		return listPrefix(ctx, r, p, limit)
	}
	rec, err := structureRecord(ctx, r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if rec != nil && bytes.Equal(rec, c.structure) {
		if w, ok := c.words[p]; ok {
			c.mu.Unlock()
			return w, nil
		}
	}
	c.mu.Unlock()
	words, err := listPrefix(ctx, r, p, limit)
	if err != nil || rec == nil {
		return words, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(rec, c.structure) || len(c.words) >= vocabCacheMax {
		c.structure, c.words = rec, map[string][]string{}
	}
	c.words[p] = words
	return words, nil
}

// listPrefix reads the words that start with p from the vocabulary table (migration 00026),
// in byte order like the index.
func listPrefix(ctx context.Context, r *sql.DB, p string, limit int) ([]string, error) {
	rs := []rune(p)
	rs[len(rs)-1]++
	rows, err := r.QueryContext(ctx, `SELECT term FROM conversation_search_vocab WHERE term >= ? AND term < ? LIMIT ?`, p, string(rs), limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var words []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, err
		}
		// The range's upper end is the prefix with its last character incremented; the check
		// keeps the words right should that not be a character.
		if strings.HasPrefix(w, p) {
			words = append(words, w)
		}
	}
	return words, rows.Err()
}
