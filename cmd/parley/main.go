// Command parley captures, analyses and serves conversations. Run `parley help` for the
// subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `Parley captures every conversation of an AI agent and its operators, and serves it
through a Quickchat-compatible Conversations API.

Usage:
  parley serve [--addr A] [--data-dir D | --database-url URL] [--demo]
  parley migrate [--data-dir D | --database-url URL]
  parley assistant create --name NAME
  parley assistant list [--json]
  parley token create --assistant ID --scope read_all|write_all [--name N] [--expires DURATION]
  parley token list --assistant ID [--json]
  parley token revoke TOKEN_ID
  parley operator create --assistant ID --name NAME --email EMAIL [--role operator|admin] [--password-stdin]
  parley operator list --assistant ID [--json]
  parley operator remove --assistant ID OPERATOR_ID
  parley operator set-password --email EMAIL   (password on standard input)
  parley analyze [--assistant ID] [--since DATE] [--all]
  parley eval sentiment|language|topics|flags --file PATH [--quick]

Every command takes --data-dir (default ./parley-data, env PARLEY_DATA_DIR) for the embedded
SQLite database, or --database-url (env PARLEY_DATABASE_URL) for PostgreSQL.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub = rest[0]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "assistant":
		switch sub {
		case "create":
			return cmdAssistantCreate(ctx, rest[1:], stdout, stderr)
		case "list":
			return cmdAssistantList(ctx, rest[1:], stdout, stderr)
		}
		return usageError{"usage: parley assistant create|list"}
	case "token":
		switch sub {
		case "create":
			return cmdTokenCreate(ctx, rest[1:], stdout, stderr)
		case "list":
			return cmdTokenList(ctx, rest[1:], stdout, stderr)
		case "revoke":
			return cmdTokenRevoke(ctx, rest[1:], stdout, stderr)
		}
		return usageError{"usage: parley token create|list|revoke"}
	case "operator":
		switch sub {
		case "create":
			return cmdOperatorCreate(ctx, rest[1:], stdout, stderr)
		case "list":
			return cmdOperatorList(ctx, rest[1:], stdout, stderr)
		case "remove":
			return cmdOperatorRemove(ctx, rest[1:], stdout, stderr)
		case "set-password":
			return cmdOperatorSetPassword(ctx, rest[1:], stdout, stderr)
		}
		return usageError{"usage: parley operator create|list|remove|set-password"}
	case "analyze":
		return cmdAnalyze(ctx, rest, stdout, stderr)
	case "eval":
		return cmdEval(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
