// Command ulmfit reproduces and extends ULMFiT (Howard & Ruder, ACL 2018):
// data preparation, language-model pretraining and fine-tuning, classifier
// training, benchmarks and reports.
//
// Exit codes: 0 success, 1 failure while running, 2 bad input or usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: its name, a one-line summary and its entry point.
// run receives the arguments after the subcommand's name.
type command struct {
	name    string
	summary string
	hidden  bool // internal commands (e.g. benchmark workers) left out of help
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by each subcommand's file in its init function.
var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// usageError marks bad input or usage: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns an error that exits with code 2.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// inputError is malformed user input (a data file, a record file, a model
// bundle, a document to splice into): exit code 2, its message unchanged.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var u usageError
	var in inputError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u), errors.As(err, &in):
		return 2
	default:
		return 1
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ulmfit:", err)
	}
	os.Exit(exitCode(err))
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printHelp(stderr)
		return usagef("no command given")
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return c.run(ctx, []string{"-h"}, stdout, stderr)
			}
			return usagef("unknown command %q (see 'ulmfit help')", args[1])
		}
		printHelp(stdout)
		return nil
	}
	c, ok := commands[name]
	if !ok {
		return usagef("unknown command %q (see 'ulmfit help')", name)
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "ulmfit: Universal Language Model Fine-tuning (Howard & Ruder 2018), in Go.")
	fmt.Fprintln(w, "\nUsage: ulmfit COMMAND [options]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if c.hidden {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "  help         this text; 'ulmfit help COMMAND' for a command's options")
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 failure while running, 2 bad input or usage.")
	fmt.Fprintln(w, "Environment: ULMFIT_DATA is the data directory when --data-dir is not given.")
}
