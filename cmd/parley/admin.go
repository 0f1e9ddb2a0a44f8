package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	cv "github.com/parleyhq/parley/internal/conversation"
)

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	var db dbFlags
	db.register(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	st, err := db.open(ctx) // opening migrates
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "migrated (%s)\n", st.Engine())
	return nil
}

func cmdAssistantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("assistant create", stderr)
	var db dbFlags
	db.register(fs)
	name := fs.String("name", "", "name of the assistant")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageError{"assistant create: --name is required"}
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.CreateAssistant(ctx, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, a.ID)
	return nil
}

func cmdAssistantList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("assistant list", stderr)
	var db dbFlags
	db.register(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Assistants(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []cv.Assistant{}
		}
		return json.NewEncoder(stdout).Encode(list)
	}
	for _, a := range list {
		fmt.Fprintf(stdout, "%s\t%s\n", a.ID, a.Name)
	}
	return nil
}

func cmdTokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token create", stderr)
	var db dbFlags
	db.register(fs)
	assistant := fs.String("assistant", "", "id of the assistant the token belongs to")
	scope := fs.String("scope", "", "read_all or write_all")
	name := fs.String("name", "", "a name to recognise the token by")
	expires := fs.Duration("expires", auth.DefaultTTL, "how long the token lives (e.g. 720h)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if !cv.Scope(*scope).Valid() {
		return usageError{"token create: --scope must be read_all or write_all"}
	}
	if *expires <= 0 {
		return usageError{"token create: --expires must be positive"}
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Assistant(ctx, *assistant); err != nil {
		return fmt.Errorf("token create: assistant %q: %w", *assistant, err)
	}
	secret, t := auth.NewToken(*assistant, cv.Scope(*scope), *name, *expires, time.Now())
	if err := st.CreateToken(ctx, t); err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

// tokenView is a token as listed: never the secret, not even its hash.
type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      cv.Scope   `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func cmdTokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token list", stderr)
	var db dbFlags
	db.register(fs)
	assistant := fs.String("assistant", "", "id of the assistant")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Assistant(ctx, *assistant); err != nil {
		return fmt.Errorf("token list: assistant %q: %w", *assistant, err)
	}
	tokens, err := st.Tokens(ctx, *assistant)
	if err != nil {
		return err
	}
	views := make([]tokenView, len(tokens))
	for i, t := range tokens {
		views[i] = tokenView{t.ID, t.Name, t.Scope, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(views)
	}
	now := time.Now()
	for _, t := range tokens {
		state := "active"
		switch {
		case t.RevokedAt != nil:
			state = "revoked"
		case !now.Before(t.ExpiresAt):
			state = "expired"
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\texpires %s\n", t.ID, t.Scope, state, t.Name, t.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

func cmdTokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token revoke", stderr)
	var db dbFlags
	db.register(fs)
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	id := fs.Arg(0)
	if err := st.RevokeToken(ctx, id, time.Now()); err != nil {
		return fmt.Errorf("token revoke %s: %w", id, err)
	}
	fmt.Fprintln(stdout, id)
	return nil
}
