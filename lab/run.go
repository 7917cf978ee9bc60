//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/cause"
)

// defaultTimeout bounds a scenario that sets no timeout of its own.
const defaultTimeout = 20 * time.Second

// Run runs one scenario for one family (4 or 6), writing its captures,
// expected verdicts and kernel ground truth into dir. It always removes
// the namespaces and trace instance it made, whether it succeeds, fails or
// ctx is cancelled. Progress lines go to progress (nil for none). An error
// says what failed, including a scenario that did not do what it claims:
// the wrong number of resets on the wire, or a kernel account that does not
// match.
func Run(ctx context.Context, s Scenario, family int, dir string, progress io.Writer) (res Result, err error) {
	start := time.Now()
	res = Result{Scenario: s.ID(), Family: family, Dir: dir}
	defer func() { res.Elapsed = time.Since(start) }()
	if progress == nil {
		progress = io.Discard
	}
	if family != 4 && family != 6 {
		return res, fmt.Errorf("family %d: want 4 or 6", family)
	}
	if !slices.Contains(s.Families(), family) {
		return res, fmt.Errorf("%s does not run over IPv%d", s.ID(), family)
	}
	if os.Geteuid() != 0 {
		return res, ErrNeedsRoot
	}
	timeout := s.timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("creating output directory: %w", err)
	}

	fmt.Fprintf(progress, "%s ipv%d: building namespaces\n", s.ID(), family)
	topo, err := buildTopology(ctx, s.layout, family)
	if err != nil {
		return res, fmt.Errorf("building namespaces: %w", err)
	}
	e := &env{ctx: ctx, topology: topo}
	defer func() {
		e.closeAll()
		if terr := topo.teardown(); terr != nil && err == nil {
			err = fmt.Errorf("removing namespaces: %w", terr)
		}
	}()

	// Every event of this run names its server port; the pre-filter keeps
	// the parsing off the lines of anything else resetting on the host.
	portText := strconv.Itoa(int(topo.port))
	tr, err := startTrace(func(line string) bool { return strings.Contains(line, portText) })
	if err != nil {
		return res, err
	}
	defer func() {
		if terr := tr.close(); terr != nil && err == nil {
			err = terr
		}
	}()

	stopCaptures, err := startCaptures(topo, dir)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "%s ipv%d: running\n", s.ID(), family)
	runErr := s.run(e)
	if runErr == nil {
		// Scenarios wait for their resets; this is for the segments
		// that follow them (a final ACK, a retransmission).
		runErr = e.sleep(100 * time.Millisecond)
	}
	capErr := stopCaptures()
	events, trErr := tr.read()
	truth := KernelTruth{Scenario: s.ID(), Family: family, Events: []KernelEvent{}, Reasons: []string{}}
	labAddrs := []netip.Addr{topo.clientIP, topo.serverIP}
	for _, ev := range events {
		if ev.involves(labAddrs, topo.port) {
			truth.Events = append(truth.Events, ev)
			if ev.Event == "tcp_send_reset" && !slices.Contains(truth.Reasons, ev.Reason) {
				truth.Reasons = append(truth.Reasons, ev.Reason)
			}
		}
	}
	var cntErr error
	if len(e.nftNS) > 0 {
		n, ok, err := e.counter()
		if ok {
			truth.NFTCounter = &n
		}
		cntErr = err
	}
	truth.Notes = e.notes
	res.Kernel = truth
	if err := errors.Join(runErr, capErr, trErr, cntErr); err != nil {
		return res, fmt.Errorf("%s ipv%d: %w", s.ID(), family, err)
	}

	var checks []error
	for _, side := range []struct {
		pcap, json string
		want       count
		out        *[]Expected
	}{{ClientPcap, ClientExpected, s.client, &res.Client}, {ServerPcap, ServerExpected, s.server, &res.Server}} {
		resets, err := readResets(filepath.Join(dir, side.pcap))
		if err != nil {
			return res, err
		}
		*side.out = []Expected{}
		for _, r := range resets {
			c, snd := e.judge(s, r)
			*side.out = append(*side.out, Expected{Frame: r.Frame, From: r.From.String(), To: r.To.String(), Cause: c, Sender: snd,
				WireCause: s.wire, WireWhy: s.wireWhy})
		}
		if err := writeJSON(filepath.Join(dir, side.json), *side.out); err != nil {
			return res, err
		}
		if !side.want.ok(len(resets)) {
			checks = append(checks, fmt.Errorf("%s holds %d resets, want %s", side.pcap, len(resets), side.want))
		}
	}
	checks = append(checks, s.kernel.check(truth)...)
	if err := writeJSON(filepath.Join(dir, KernelJSON), truth); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "%s ipv%d: %d+%d resets (client+server capture), kernel %v\n", s.ID(), family, len(res.Client), len(res.Server), truth.Reasons)
	if err := errors.Join(checks...); err != nil {
		return res, fmt.Errorf("%s ipv%d did not do what it claims: %w", s.ID(), family, err)
	}
	return res, nil
}

// judge is the verdict for one reset on the wire.
func (e *env) judge(s Scenario, r Reset) (cause.ID, cause.Sender) {
	if s.verdict != nil {
		return s.verdict(e, r)
	}
	return s.Cause, e.senderOf(r)
}

// senderOf says which endpoint owns the reset's source address.
func (e *env) senderOf(r Reset) cause.Sender {
	switch r.From.Addr() {
	case e.clientIP:
		return cause.Client
	case e.serverIP:
		return cause.Server
	}
	return cause.SenderUnknown
}

// startCaptures captures the client's and the server's interface into
// client.pcap and server.pcap; the returned function stops both.
func startCaptures(t *topology, dir string) (stop func() error, err error) {
	var stops []func() error
	stopAll := func() error {
		var errs []error
		for _, s := range stops {
			errs = append(errs, s())
		}
		return errors.Join(errs...)
	}
	for _, c := range []struct {
		n    *netns
		file string
	}{{t.client, ClientPcap}, {t.server, ServerPcap}} {
		f, err := os.Create(filepath.Join(dir, c.file))
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("creating capture file: %w", err)
		}
		live, err := capture.StartLive(c.n.path(), ifEndpoint, f)
		if err != nil {
			f.Close()
			stopAll()
			return nil, fmt.Errorf("capturing in %s: %w", c.n.name, err)
		}
		stops = append(stops, func() error {
			_, err := live.Stop()
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("closing capture file: %w", cerr)
			}
			return err
		})
	}
	return stopAll, nil
}
