package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/rstscope/rstscope/applog"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/report"
)

// watchLogFlags are watch's flags for joining the lines of followed logs
// to live resets (docs/logs.md).
type watchLogFlags struct {
	paths  []string
	window time.Duration
	wait   time.Duration
	tz     string
	owners bool
}

func (l *watchLogFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&l.paths, "logs", nil, "follow this application log `FILE` or directory as it grows (rotation too) and join its lines to each reset (repeat the flag for more)")
	fs.DurationVar(&l.window, "log-window", diagnose.DefaultLogOptions.Window, "join a log line to a reset written within this much of it")
	fs.DurationVar(&l.wait, "log-wait", diagnose.DefaultLogOptions.Window, "hold each reset this long for the lines its programs write about it")
	fs.StringVar(&l.tz, "log-tz", "Local", "time zone of log times written without one (an IANA name, UTC, or Local)")
	fs.BoolVar(&l.owners, "owner-logs", false, "also join the logs of each reset's process: its container's log files, else the files it has open for writing (followed), else its systemd unit's journal (read around the reset)")
}

// start follows the logs and returns the emit that holds findings for
// their lines before passing them to emit, and stop, which passes on the
// findings still held. Without --logs it returns emit itself.
func (l *watchLogFlags) start(emit func(report.Finding), stderr io.Writer) (func(report.Finding), func(), error) {
	if len(l.paths) == 0 && !l.owners {
		return emit, func() {}, nil
	}
	if l.wait < 0 || l.wait > time.Minute {
		return nil, nil, fmt.Errorf("--log-wait %s: want between 0 and 1m", l.wait)
	}
	loc, err := time.LoadLocation(l.tz)
	if err != nil {
		return nil, nil, fmt.Errorf("--log-tz %q: %w", l.tz, err)
	}
	tail, err := applog.Follow(l.paths, applog.Options{Time: applog.TimeOptions{Loc: loc}})
	if err != nil {
		return nil, nil, fmt.Errorf("--logs: %w", err)
	}
	o := diagnose.DefaultLogOptions
	o.Window = l.window
	o.Time.Loc = loc
	live := diagnose.NewLiveLogs(tail, o, l.wait)
	if l.owners {
		live.Owners = &applog.Locator{}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var lastErr string
	say := func(err error) {
		// A log that cannot be read is said once, not every tick.
		if err != nil && err.Error() != lastErr {
			fmt.Fprintln(stderr, "rstscope:", err)
		}
		if err != nil {
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
	}
	wg.Go(func() {
		// 100 ms: the tick of watch's own loop; a reset waits at most
		// --log-wait plus this.
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				say(live.Release(now, emit))
			case <-done:
				return
			}
		}
	})
	stop := func() {
		close(done)
		wg.Wait()
		say(live.Release(time.Time{}, emit))
		live.Close()
		tail.Close()
	}
	return func(f report.Finding) { live.Hold(f, time.Now()) }, stop, nil
}
