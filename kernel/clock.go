package kernel

import "time"

// SyncEvery is how often a Watcher re-reads the wall and boot clocks
// together. Event times are CLOCK_BOOTTIME; the wall clock moves against it
// when NTP slews it (up to 500 ppm: 5 ms in 10 s), when it is stepped, and
// across a suspend, so one reading at start drifts without bound over a
// long watch. Every 10 s bounds the slew's error to 5 ms, under the
// correlator's 250 ms window that orders the output.
const SyncEvery = 10 * time.Second

// Clock turns CLOCK_BOOTTIME nanoseconds into wall-clock time from one
// paired reading of both clocks.
type Clock struct {
	wall time.Time // without a monotonic reading: only the wall clock counts
	boot uint64
}

// Sync takes a new paired reading: wall and boot read back to back.
func (c *Clock) Sync(wall time.Time, boot uint64) { c.wall, c.boot = wall.Round(0), boot }

// Stale reports whether the pair is older than SyncEvery at wall time now.
func (c *Clock) Stale(now time.Time) bool { return now.Round(0).Sub(c.wall) >= SyncEvery }

// Time returns the wall-clock time of boot.
func (c *Clock) Time(boot uint64) time.Time { return c.wall.Add(time.Duration(int64(boot - c.boot))) }
