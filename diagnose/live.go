package diagnose

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/report"
)

// Tick closes the look-ahead of resets older than the look-ahead window at
// wall-clock time now: on a live interface a quiet connection must not hold
// its verdict back forever.
func (a *Analyzer) Tick(now time.Time) { a.flushDue(now) }

// LiveLookAhead is the look-ahead on a live interface; a joiner of kernel
// and packet findings must wait longer than this.
const LiveLookAhead = 500 * time.Millisecond

// WatchInterface captures packets on iface (AF_PACKET, this network
// namespace) and explains their resets as analyze does, until ctx ends.
// Each finding goes to emit as soon as its look-ahead closes; dropped is
// told the running total of frames the kernel dropped for want of room.
func WatchInterface(ctx context.Context, iface string, emit func(report.Finding), dropped func(total uint64)) error {
	opts := DefaultOptions
	opts.OnFinding = emit
	// Live, a verdict should not wait long: half a second of look-ahead
	// still sees what the sender does within many round trips.
	opts.LookAheadTime = LiveLookAhead
	a := New(iface, opts)
	var mu sync.Mutex // the capture goroutine and the ticker share a
	live, err := capture.StartLiveFunc("", iface, func(data []byte, info capture.Info) error {
		mu.Lock()
		a.Packet(data, info)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("capturing on %s: %w", iface, err)
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			_, err := live.Stop()
			mu.Lock()
			a.Finish()
			mu.Unlock()
			if err != nil {
				return fmt.Errorf("capturing on %s: %w", iface, err)
			}
			return nil
		case now := <-tick.C:
			mu.Lock()
			a.Tick(now)
			mu.Unlock()
			if n, err := live.Drops(); err == nil && n != last && dropped != nil {
				last = n
				dropped(n)
			}
		}
	}
}
