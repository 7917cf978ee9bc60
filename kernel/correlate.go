package kernel

import (
	"net/netip"
	"time"
)

// Correlator decides which Wire events are foreign: a RST left a device
// and the TCP stack did not announce the same RST within Window either side.
//
// The kernel already drops a Wire event when tcp_v{4,6}_send_reset
// announced the RST first; but tcp_send_active_reset (close, abort,
// keepalive) fires tcp:tcp_send_reset only after tcp_transmit_skb, so its
// RST reaches net_dev_queue before the announcement. Correlator holds Wire
// events for Window and releases them only if no announcement came.
type Correlator struct {
	// Window is how long a Wire event waits; 0 means 250ms. Loopback and
	// veth deliver the late announcement within microseconds; the margin
	// covers a RST parked in a neighbour queue.
	Window  time.Duration
	recent  map[flowKey]uint64 // Sent RSTs by tuple -> Boot
	pending []Event
}

type flowKey struct {
	from, to netip.AddrPort
	netns    uint32
}

func (c *Correlator) window() uint64 {
	if c.Window <= 0 {
		return uint64(250 * time.Millisecond)
	}
	return uint64(c.Window)
}

// Add takes one event. It reports whether the caller should handle e now;
// a Wire event is held instead (see Expire).
func (c *Correlator) Add(e *Event) bool {
	k := flowKey{e.From, e.To, e.NetNS}
	switch e.Kind {
	case Sent:
		if c.recent == nil {
			c.recent = make(map[flowKey]uint64)
		}
		c.recent[k] = e.Boot
		for i := 0; i < len(c.pending); i++ {
			p := &c.pending[i]
			if p.From == e.From && p.To == e.To && p.NetNS == e.NetNS {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				i--
			}
		}
		return true
	case Wire:
		if at, ok := c.recent[k]; ok && absDiff(at, e.Boot) <= c.window() {
			return false
		}
		c.pending = append(c.pending, *e)
		return false
	}
	return true
}

// Expire passes each held Wire event older than Window at boot time now
// (CLOCK_BOOTTIME ns) to emit, and forgets old announcements.
func (c *Correlator) Expire(now uint64, emit func(*Event)) {
	w := c.window()
	n := 0
	for i := range c.pending {
		if now-c.pending[i].Boot >= w && now > c.pending[i].Boot {
			emit(&c.pending[i])
			continue
		}
		c.pending[n] = c.pending[i]
		n++
	}
	c.pending = c.pending[:n]
	for k, at := range c.recent {
		if now > at && now-at > w {
			delete(c.recent, k)
		}
	}
}

// Pending returns how many Wire events are held.
func (c *Correlator) Pending() int { return len(c.pending) }

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
