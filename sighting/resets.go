package sighting

import (
	"slices"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// matchResets finds each reset in every capture that holds its connection
// and records, per sighting, what the others saw.
func (j *Join) matchResets(members *members) {
	byConn := make([]map[int32][]int32, len(j.idx))
	for f, x := range j.idx {
		byConn[f] = make(map[int32][]int32)
		for ri, r := range x.resets {
			byConn[f][r.conn] = append(byConn[f][r.conn], int32(ri))
		}
	}
	inGroup := make([]bool, len(j.idx))
	for _, g := range j.Groups {
		for _, f := range g {
			inGroup[f] = true
		}
	}
	j.seen = make([]map[uint64]*Seen, len(j.idx))
	for f := range j.seen {
		j.seen[f] = make(map[uint64]*Seen)
	}
	nextID := 1
	for fa, x := range j.idx {
		if !inGroup[fa] {
			continue
		}
		for ri := range x.resets {
			r := &x.resets[ri]
			if _, done := j.seen[fa][r.frame]; done {
				continue
			}
			a := j.base[fa] + r.conn
			root, _ := j.c.find(a)
			// The reset's sightings, one per capture, this one first.
			type sighting struct {
				file int
				node int32
				r    *reset
			}
			found := []sighting{{fa, a, r}}
			for _, b := range members.of(root) {
				fb := int(j.fileOf[b])
				if fb == fa {
					continue
				}
				if rb := j.findReset(a, r, b, byConn[fb]); rb != nil {
					found = append(found, sighting{fb, b, rb})
				}
			}
			slices.SortFunc(found, func(x, y sighting) int { return x.file - y.file })
			list := make([]report.Sighting, len(found))
			for i, s := range found {
				list[i] = report.Sighting{File: j.idx[s.file].File, Frame: s.r.frame, Time: time.Unix(0, s.r.ns), TTL: s.r.ttl}
			}
			for _, s := range found {
				seen := &Seen{ID: nextID, Sightings: list}
				var saw uint64
				for _, o := range found {
					saw |= 1 << o.file
				}
				seen.Path = j.path(s.file, s.node, s.r, members, saw)
				j.seen[s.file][s.r.frame] = seen
			}
			nextID++
		}
	}
}

// findReset looks in node b's resets for the one that is r (a reset of node
// a): sent by the corresponding side, with the same flags and sequence
// numbers (through any rewriting the handshakes show), nearest in time once
// the clock offset is taken out and within resetSlack.
func (j *Join) findReset(a int32, r *reset, b int32, byConn map[int32][]int32) *reset {
	fa, fb := j.fileOf[a], j.fileOf[b]
	ca, cb := j.conn(a), j.conn(b)
	xb := j.idx[fb]
	sb := j.localSide(a, r.side, b)
	seq := r.seq + seqDelta(ca, r.side, cb, sb)
	ack := r.ack + seqDelta(ca, r.side^1, cb, sb^1)
	want := r.ns + j.offset[fa][fb]
	const flags = packet.RST | packet.ACK | packet.SYN | packet.FIN
	var best *reset
	bestDist := int64(resetSlack) + 1
	for _, ri := range byConn[b-j.base[fb]] {
		rb := &xb.resets[ri]
		if rb.side != sb || rb.flags&flags != r.flags&flags || rb.seq != seq || r.flags.Has(packet.ACK) && rb.ack != ack {
			continue
		}
		d := rb.ns - want
		if d < 0 {
			d = -d
		}
		if d < bestDist {
			best, bestDist = rb, d
		}
	}
	return best
}

// path is what the other captures say about reset r of node a in capture
// fa; saw is the set of captures that saw it.
func (j *Join) path(fa int, a int32, r *reset, members *members, saw uint64) cause.Path {
	var p cause.Path
	root, _ := j.c.find(a)
	others := members.of(root)
	p.Captures = 1
	if len(others) == 0 {
		// The connection is in this capture only. A capture that holds
		// other connections of the purported sender's address, nearer to
		// it, and was running at the time, would have seen this one leave.
		ca := j.conn(a)
		ref, ok := j.hostRef(fa, ca.ends[r.side].Addr(), r.ns)
		if !ok {
			return p
		}
		rootRef, _ := j.c.find(ref.node)
		for _, b := range members.of(rootRef) {
			fb := int(j.fileOf[b])
			if fb == fa || !j.covers(fa, fb, r.ns) {
				continue
			}
			if j.near(ref.node, ref.side, b) > 0 {
				p.NearerSender = true
				if p.NearerSenderFile == "" {
					p.NearerSenderFile = j.idx[fb].File
				}
			}
		}
		return p
	}
	for _, b := range others {
		fb := int(j.fileOf[b])
		if fb == fa {
			continue
		}
		p.Captures++
		seen := saw&(1<<fb) != 0
		if !seen && !j.covers(fa, fb, r.ns) {
			continue
		}
		name := j.idx[fb].File
		switch j.near(a, r.side, b) {
		case +1:
			p.NearerSender = true
			if seen && !p.SeenNearerSender || p.NearerSenderFile == "" {
				p.NearerSenderFile = name
			}
			p.SeenNearerSender = p.SeenNearerSender || seen
		case -1:
			p.NearerReceiver = true
			if seen && !p.SeenNearerReceiver || p.NearerReceiverFile == "" {
				p.NearerReceiverFile = name
			}
			p.SeenNearerReceiver = p.SeenNearerReceiver || seen
		}
	}
	return p
}

// stopSlack is how long before this capture's last packet another capture
// may have seen its own last one and still count as running to the end.
// Captures of one traffic are started before it and stopped after it, and a
// quiet capture point has nothing to show after its last connection: in
// the lab (testdata/lab) the server side's last packet came up to 2.5 s
// before the client side's (idle-timeout-conntrack, whose last packet is
// the router's reset).
const stopSlack = 10 * time.Second

// covers says capture fb was running at time ns of capture fa: it had
// started, and it either saw packets later or stopped with fa.
func (j *Join) covers(fa, fb int, ns int64) bool {
	if !j.hasOffset[fa][fb] {
		return false
	}
	off := j.offset[fa][fb]
	xa, xb := j.idx[fa], j.idx[fb]
	t := ns + off
	return xb.Packets > 0 && xb.FirstNS <= t && (t <= xb.LastNS || xa.LastNS+off-xb.LastNS <= int64(stopSlack))
}

// near says whether node b's capture sits nearer side s of node a than a's
// capture does (+1), nearer the other side (-1), or cannot tell (0). The
// TTL of the side's packets decides first (higher is nearer: fewer routers
// passed); when it does not differ, the capture that sees the side's
// packets earlier relative to its peer's is nearer (see delays).
func (j *Join) near(a int32, s side, b int32) int {
	if v := j.nearOn(a, s, b); v != 0 {
		return v
	}
	// This connection does not tell because the side sent nothing but the
	// reset in one of the captures: another connection of the same address
	// between the same two captures may. (When both captures saw the
	// side's packets with one TTL, another connection on the same path
	// shows the same.)
	ca := j.conn(a)
	fa, fb := j.fileOf[a], j.fileOf[b]
	if ca.ttl[s] != 0 && j.conn(b).ttl[j.localSide(a, s, b)] != 0 {
		return 0
	}
	ref, ok := j.hostRef(int(fa), ca.ends[s].Addr(), ca.firstNS)
	if !ok || ref.node == a {
		return 0
	}
	rootRef, _ := j.c.find(ref.node)
	for _, nb := range j.mem.of(rootRef) {
		if j.fileOf[nb] == fb {
			return j.nearOn(ref.node, ref.side, nb)
		}
	}
	return 0
}

func (j *Join) nearOn(a int32, s side, b int32) int {
	ca, cb := j.conn(a), j.conn(b)
	sb := j.localSide(a, s, b)
	if ta, tb := ca.ttl[s], cb.ttl[sb]; ta != 0 && tb != 0 && ta != tb {
		if tb > ta {
			return +1
		}
		return -1
	}
	// On one path, a capture farther from the peer is nearer the side.
	if ta, tb := ca.ttl[s^1], cb.ttl[sb^1]; ta != 0 && tb != 0 && ta != tb {
		if tb < ta {
			return +1
		}
		return -1
	}
	d := j.delays(a, b)
	if d.n[s] == 0 || d.n[s^1] == 0 {
		return 0
	}
	mine, theirs := median(d.of(s)), median(d.of(s^1))
	switch {
	case mine < theirs:
		return +1
	case mine > theirs:
		return -1
	}
	return 0
}

// median sorts s in place.
func median(s []int64) int64 {
	slices.Sort(s)
	return s[len(s)/2]
}
