package cause

import (
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/packet"
)

// TestModelFit holds resets against their sender's habits where the
// connection alone carries them (the TCP timestamp clock) or the address's
// other connections do (Context.SenderHost as diagnose/hosts.go fills it).
// Each row's expectation comes from what the named stack puts on the wire.
func TestModelFit(t *testing.T) {
	ms := time.Millisecond
	// The server answers a request, then a reset claims to come from it;
	// its segments carry timestamps (TSval set per row below).
	segs := conv(
		seg{flags: PA, seq: 1001, ack: 5001, n: 100, at: 3 * ms},
		seg{fromServer: true, flags: PA, seq: 5001, ack: 1101, n: 300, at: 4 * ms},
		seg{flags: A, seq: 1101, ack: 5301, at: 5 * ms},
		seg{fromServer: true, flags: RA, seq: 5301, ack: 1101, at: 6 * ms, win: 900},
	)
	windows := Host{Seen: true, MinTTL: 62, MaxTTL: 62, Conns: 6, V4Packets: 40, DFPackets: 40, IDSteps: 30, IDUp: 30,
		HasSYN: true, SYN: packet.Options{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 8, SACKPerm: true, Len: 12}}
	tests := []struct {
		name    string
		lastTS  uint32 // the server's last TSval before the reset
		rstTS   uint32
		rstID   uint16
		host    func(h *Host)
		device  bool
		mention string
	}{
		{name: "a timestamp behind the sender's clock is another stack's", lastTS: 900_000, rstTS: 12_345, device: true, mention: "behind server's clock"},
		{name: "a timestamp on the sender's clock is its own", lastTS: 900_000, rstTS: 900_003},
		{name: "a timestamp a tick behind is capture disorder", lastTS: 900_000, rstTS: 899_500},
		// Linux 3.x stamped a live socket's reset with TSval 0.
		{name: "TSval 0 is no clock", lastTS: 900_000, rstTS: 0},
		// Windows numbers every datagram; a reset with ID 0 is not its own
		// once a connection is seen to start on the last one's counter.
		{name: "ID 0 from a Windows-like host with one counter", lastTS: 900_000, rstTS: 900_003, rstID: 0,
			host: func(h *Host) { *h = windows; h.StartsNear, h.MinTTL, h.MaxTTL = 1, 126, 126 }, device: true, mention: "netfilter's reject sends 0"},
		// Without that sign it may be Linux with TTL 128 and timestamps
		// off, whose socketless resets carry ID 0.
		{name: "ID 0 from a 128 host of unknown numbering", lastTS: 900_000, rstTS: 900_003, rstID: 0,
			host: func(h *Host) { *h = windows; h.MinTTL, h.MaxTTL = 126, 126 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := contextAt(t, segs, len(segs)-1)
			srvEp := &ctx.Conn.Ep[ctx.Dir]
			srvEp.LastTSVal = tt.lastTS
			ctx.RST.Opt.TSVal, ctx.RST.IPID = tt.rstTS, tt.rstID
			if tt.host != nil {
				tt.host(&ctx.SenderHost)
				// The server's packets on this connection as Windows sends
				// them: TTL 128 less two hops, IDs from a counter, DF.
				srvEp.MinTTL, srvEp.MaxTTL = 126, 126
				srvEp.LastIPID, srvEp.IPIDSteps, srvEp.IPIDUp, srvEp.IPIDZero, srvEp.DFCount = 4000, 2, 2, 0, 3
				srvEp.SYNOpt = windows.SYN // no timestamps offered
				ctx.RST.TTL, ctx.RST.DF = 126, true
			}
			v := Classify(ctx)
			ev := strings.Join(v.Evidence, "; ")
			if got := v.Sender == Middlebox; got != tt.device {
				t.Fatalf("got %s by %s, want device %v; evidence: %s", v.Cause, v.Sender, tt.device, ev)
			}
			if tt.mention != "" && !strings.Contains(ev, tt.mention) {
				t.Errorf("evidence lacks %q: %s", tt.mention, ev)
			}
		})
	}
}
