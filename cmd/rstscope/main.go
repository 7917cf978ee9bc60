// Command rstscope explains TCP resets: who sent each one, why, and what to do next.
//
// Each subcommand lives in its own file and registers a constructor in init;
// run builds a fresh command tree (cobra, as kubectl, cilium and hubble use)
// for every call, so tests call run directly and no flag state leaks between
// them. main stays a thin wrapper around run.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rstscope/rstscope/capture"
)

// commands holds one constructor per subcommand; each file adds its own in init.
var commands []func() *cobra.Command

// register adds a subcommand constructor.
func register(c func() *cobra.Command) { commands = append(commands, c) }

// exit statuses, documented in README.md: 0 analysed (resets or not), 1 a
// usage or input error, said in one line on stderr, 130 (128 + SIGINT, the
// shell's convention) when SIGINT or SIGTERM cut analyze's reading short:
// the report of what was read is still written, and scripts see an
// interrupt, not bad input.
const (
	exitOK          = 0
	exitError       = 1
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C asks for the report of what was read; a second one
	// kills at once, as the default handler does.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "rstscope: %s\n", oneLine(err))
		if errors.Is(err, capture.ErrInterrupted) {
			os.Exit(exitInterrupted)
		}
		os.Exit(exitError)
	}
	os.Exit(exitOK)
}

// oneLine keeps the user's error to one line whatever a library put in it.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// run parses args and runs the subcommand they name. Errors are one line for the user.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(singleDashCompat(root, args))
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		// Cobra's suggestion comes on lines of its own; keep it on the one line.
		if name := firstWord(args); name != "" {
			if s := root.SuggestionsFor(name); len(s) > 0 {
				return fmt.Errorf("unknown command %q (did you mean %s?)", name, strings.Join(s, " or "))
			}
		}
	}
	return err
}

func firstWord(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// newRoot builds the command tree writing to stdout and stderr.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "rstscope",
		Short: "explain TCP resets: who sent each one, why, and what to do next",
		Long: `rstscope explains TCP resets. For every RST, in a capture file or live on a Linux
host, it says who sent it (the client, the server, or a device in the path that
forged it), why (one cause from a closed vocabulary, with evidence and a
confidence), and what to do next.

Exit status: 0 when the input was analysed (resets or not); 1 for a usage or
input error, said in one line on standard error; 130 when Ctrl-C cut analyze's
reading short (the report of what was read is still written).`,
		Example: `  rstscope analyze trace.pcapng
  rstscope analyze --attention --port 443 -f ndjson trace.pcap | jq .cause
  sudo rstscope watch --cause closed-port
  rstscope check
  rstscope causes`,
		SilenceErrors:              true,
		SilenceUsage:               true,
		DisableSuggestions:         true, // run adds them to the one error line
		SuggestionsMinimumDistance: 2,
		Version:                    version(),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Usage()
			return errors.New("no subcommand given")
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("rstscope {{.Version}}\n")
	root.PersistentFlags().String("color", "auto", "colour the text output: auto (only on a terminal, and not when NO_COLOR is set), always or never")
	root.RegisterFlagCompletionFunc("color", fixedCompletions("auto", "always", "never"))
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if cmd == root {
			return err
		}
		return fmt.Errorf("%s: %w", cmd.Name(), err)
	})
	for _, c := range commands {
		root.AddCommand(c())
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	return root
}

// fixedCompletions completes a flag's value from a fixed list.
func fixedCompletions(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// singleDashCompat rewrites Go-flag-style long flags ("-format json",
// "-ring-mib=16") to "--format json": rstscope used Go's flag package before
// cobra, and scripts written then keep working. Only names that are long
// flags of some command are rewritten, and nothing after "--".
func singleDashCompat(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			if len(f.Name) > 1 {
				long[f.Name] = true
			}
		}
		c.LocalFlags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	long["help"], long["version"] = true, true
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		if long[name] {
			out[i] = "-" + a
		}
	}
	return out
}
