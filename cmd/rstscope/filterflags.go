package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// filterFlags are the finding filters analyze and watch share; resolve
// turns them into a report.Filter.
type filterFlags struct {
	causes, senders, hosts, ports []string
	attention                     bool
	since, until                  string
	minConfidence                 float64
}

func (ff *filterFlags) add(c *cobra.Command, startIs string) {
	fs := c.Flags()
	fs.StringSliceVar(&ff.causes, "cause", nil, "only resets of this `CAUSE` (repeat or comma-separate for several; see rstscope causes)")
	fs.StringSliceVar(&ff.senders, "sender", nil, "only resets sent by this `SENDER`: client, server, middlebox or unknown")
	fs.StringSliceVar(&ff.hosts, "host", nil, "only resets on connections with this `ADDR` (an IP or a CIDR prefix) at either end")
	fs.StringSliceVar(&ff.ports, "port", nil, "only resets on connections with this `PORT` at either end")
	fs.BoolVar(&ff.attention, "attention", false, "only resets that deserve attention (hide the benign ones)")
	fs.StringVar(&ff.since, "since", "", "only resets at or after `TIME`: RFC 3339 (2026-11-25T23:28:00Z) or a duration after "+startIs+" (90s, 5m)")
	fs.StringVar(&ff.until, "until", "", "only resets before `TIME`: RFC 3339 or a duration after "+startIs)
	fs.Float64Var(&ff.minConfidence, "min-confidence", 0, "only resets whose verdict has at least this confidence (0 to 1)")
	c.RegisterFlagCompletionFunc("cause", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var ids []cobra.Completion
		for _, v := range cause.Vocabulary {
			ids = append(ids, cobra.CompletionWithDesc(string(v.ID), v.Title))
		}
		return ids, cobra.ShellCompDirectiveNoFileComp
	})
	c.RegisterFlagCompletionFunc("sender", fixedCompletions("client", "server", "middlebox", "unknown"))
}

// relative reports whether --since or --until is a duration, which needs a start.
func (ff *filterFlags) relative() bool {
	for _, s := range []string{ff.since, ff.until} {
		if s == "" {
			continue
		}
		if _, rel, err := report.ParseTime(s, time.Time{}); err == nil && rel {
			return true
		}
	}
	return false
}

// resolve checks the flags and builds the filter; start is what a duration
// in --since or --until counts from.
func (ff *filterFlags) resolve(start time.Time) (report.Filter, error) {
	var f report.Filter
	for _, s := range ff.causes {
		id, err := report.ParseCause(s)
		if err != nil {
			return f, fmt.Errorf("--cause: %w", err)
		}
		f.Causes = append(f.Causes, id)
	}
	for _, s := range ff.senders {
		x, err := report.ParseSender(s)
		if err != nil {
			return f, fmt.Errorf("--sender: %w", err)
		}
		f.Senders = append(f.Senders, x)
	}
	for _, s := range ff.hosts {
		p, err := report.ParseHost(s)
		if err != nil {
			return f, fmt.Errorf("--host: %w", err)
		}
		f.Hosts = append(f.Hosts, p)
	}
	for _, s := range ff.ports {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return f, fmt.Errorf("--port: %q is not a port number (0-65535)", s)
		}
		f.Ports = append(f.Ports, uint16(p))
	}
	f.Attention = ff.attention
	if ff.minConfidence < 0 || ff.minConfidence > 1 {
		return f, fmt.Errorf("--min-confidence %g: want a number from 0 to 1", ff.minConfidence)
	}
	f.MinConfidence = ff.minConfidence
	var err error
	if ff.since != "" {
		if f.Since, _, err = report.ParseTime(ff.since, start); err != nil {
			return f, fmt.Errorf("--since: %w", err)
		}
	}
	if ff.until != "" {
		if f.Until, _, err = report.ParseTime(ff.until, start); err != nil {
			return f, fmt.Errorf("--until: %w", err)
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, fmt.Errorf("--until %s is not after --since %s", ff.until, ff.since)
	}
	return f, nil
}
