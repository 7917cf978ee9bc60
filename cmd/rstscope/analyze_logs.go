package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/rstscope/rstscope/diagnose"
)

// logFlags are analyze's flags for joining application logs to resets.
type logFlags struct {
	paths  []string
	window time.Duration
	tz     string
	offset string
}

func (l *logFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&l.paths, "logs", nil, "application log `FILE` or directory to join to the resets (gzip and journalctl -o json output too; repeat the flag for more)")
	fs.DurationVar(&l.window, "log-window", diagnose.DefaultLogOptions.Window, "join a log line to a reset written within this much of it")
	fs.StringVar(&l.tz, "log-tz", "Local", "time zone of log times written without one (an IANA name, UTC, or Local)")
	fs.StringVar(&l.offset, "log-offset", "auto", "the logs' clock minus the capture's (a duration such as -1.5s), or auto to estimate it from lines naming a reset's client address and port")
}

// notes writes to w, one line each, what of the logs was not read as
// asked: files skipped (binary, a journal to export) and large files read
// whole because their lines were too far out of time order to sample.
func logNotes(w io.Writer, j *diagnose.LogJoiner) {
	st := j.Stats()
	for _, s := range st.Skipped {
		fmt.Fprintf(w, "rstscope: --logs: skipped %s\n", s)
	}
	for _, s := range st.ReadWhole {
		fmt.Fprintf(w, "rstscope: --logs: read whole, not sampled: %s\n", s)
	}
}

// open starts indexing the logs; nil when none were given.
func (l *logFlags) open() (*diagnose.LogJoiner, error) {
	if len(l.paths) == 0 {
		return nil, nil
	}
	for _, p := range l.paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("--logs: %w", err)
		}
	}
	o := diagnose.DefaultLogOptions
	o.Window = l.window
	loc, err := time.LoadLocation(l.tz)
	if err != nil {
		return nil, fmt.Errorf("--log-tz %q: %w", l.tz, err)
	}
	o.Time.Loc = loc
	if l.offset != "auto" {
		d, err := time.ParseDuration(l.offset)
		if err != nil {
			return nil, fmt.Errorf("--log-offset %q: want a duration or auto", l.offset)
		}
		o.Offset, o.AutoOffset = d, false
	}
	return diagnose.OpenLogs(l.paths, o), nil
}
