package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parleyhq/parley/internal/auth"
	cv "github.com/parleyhq/parley/internal/conversation"
)

// readPassword reads one line from standard input (for --password-stdin).
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

var stdin io.Reader = os.Stdin

func cmdOperatorCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("operator create", stderr)
	var db dbFlags
	db.register(fs)
	assistant := fs.String("assistant", "", "id of the assistant the operator answers for")
	name := fs.String("name", "", "the operator's name")
	email := fs.String("email", "", "the operator's email (sign-in name)")
	role := fs.String("role", cv.RoleOperator, "operator or admin")
	withPassword := fs.Bool("password-stdin", false, "read a dashboard password from standard input")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" || !strings.Contains(*email, "@") {
		return usageError{"operator create: --name and a valid --email are required"}
	}
	if *role != cv.RoleOperator && *role != cv.RoleAdmin {
		return usageError{"operator create: --role must be operator or admin"}
	}
	hash := ""
	if *withPassword {
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if hash, err = auth.HashPassword(pw); err != nil {
			return usageError{"operator create: " + err.Error()}
		}
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Assistant(ctx, *assistant); err != nil {
		return fmt.Errorf("operator create: assistant %q: %w", *assistant, err)
	}
	// An operator is a person: one record per email, a member of any number of assistants.
	op, err := st.OperatorByEmail(ctx, *email)
	if errors.Is(err, cv.ErrNotFound) {
		op, err = st.CreateOperator(ctx, *name, *email, hash)
	} else if err == nil && hash != "" {
		err = st.SetOperatorPassword(ctx, op.ID, hash)
	}
	if err != nil {
		return err
	}
	if err := st.AddMembership(ctx, op.ID, *assistant, *role); err != nil {
		return err
	}
	fmt.Fprintln(stdout, op.ID)
	return nil
}

func cmdOperatorList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("operator list", stderr)
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
	ops, err := st.Operators(ctx, *assistant)
	if err != nil {
		return fmt.Errorf("operator list: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(ops)
	}
	for _, o := range ops {
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", o.ID, o.Role, o.Name, o.Email)
	}
	return nil
}

func cmdOperatorRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("operator remove", stderr)
	var db dbFlags
	db.register(fs)
	assistant := fs.String("assistant", "", "id of the assistant to take the operator out of")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RemoveMembership(ctx, fs.Arg(0), *assistant); err != nil {
		return fmt.Errorf("operator remove: %w", err)
	}
	fmt.Fprintln(stdout, fs.Arg(0))
	return nil
}

func cmdOperatorSetPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("operator set-password", stderr)
	var db dbFlags
	db.register(fs)
	email := fs.String("email", "", "the operator's email")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	pw, err := readPassword(stdin)
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return usageError{"operator set-password: " + err.Error()}
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	op, err := st.OperatorByEmail(ctx, *email)
	if err != nil {
		return fmt.Errorf("operator set-password %s: %w", *email, err)
	}
	if err := st.SetOperatorPassword(ctx, op.ID, hash); err != nil {
		return err
	}
	fmt.Fprintln(stdout, op.ID)
	return nil
}
