package kernel

import (
	"testing"
	"time"
)

// TestClockResync: after the wall clock is stepped, a re-read pair puts
// later events at the new wall time; the first pair alone would keep the
// old offset for the rest of the watch.
func TestClockResync(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	sec := uint64(time.Second)
	var c Clock
	c.Sync(t0, 100*sec)
	if got, want := c.Time(101*sec), t0.Add(time.Second); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if c.Stale(t0.Add(SyncEvery - time.Millisecond)) {
		t.Error("stale before SyncEvery")
	}
	// NTP stepped the wall clock 3 s back while 20 s of boot time passed.
	stepped := t0.Add(17 * time.Second)
	if !c.Stale(stepped) {
		t.Fatal("not stale after SyncEvery")
	}
	c.Sync(stepped, 120*sec)
	if got, want := c.Time(121*sec), stepped.Add(time.Second); !got.Equal(want) {
		t.Errorf("after resync got %v, want %v", got, want)
	}
}
