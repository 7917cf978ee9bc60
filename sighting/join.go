package sighting

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// resetSlack is how far apart, after the clock offset is taken out, two
// captures' sightings of one reset may be: the path's one-way delay plus
// the offset estimate's error. A reset with the same sequence numbers on
// the same connection further apart is another reset (a forger's second).
const resetSlack = 2 * time.Second

// maxSamples bounds the clock samples kept per pair of captures; their
// median is the offset, and captures of one traffic have one offset (drift
// over a capture's length is far below resetSlack).
const maxSamples = 1 << 14

// Join is what several captures say about each other's connections and
// resets. It is read-only once made and safe for concurrent lookups.
type Join struct {
	idx    []*Index
	base   []int32
	c      *clusters
	fileOf []uint8
	// mem lists, per cluster root with members in several captures, its
	// connections.
	mem members
	// refs maps, per capture, each address seen on a matched connection to
	// one such connection (see hostRef).
	refs []map[netip.Addr][]hostRef
	// offset[a][b] is what to add to a time in capture a to get the same
	// instant on capture b's clock; hasOffset says it was measured.
	offset    [][]int64
	hasOffset [][]bool
	// seen holds, per capture, its resets that another capture speaks
	// about, by frame.
	seen []map[uint64]*Seen
	// Groups lists the sets of captures that share connections, by index
	// position; a capture in no group shares nothing.
	Groups [][]int
}

// Seen is what the join says about one reset in one capture.
type Seen struct {
	// ID numbers the reset across captures: every capture's sighting of
	// one reset has the same ID.
	ID int
	// Path is what the other captures saw, from this capture's point of view.
	Path cause.Path
	// Sightings lists every capture that saw the reset, this one included,
	// in the order the captures were given. It is shared between the
	// sightings of one reset: do not modify it.
	Sightings []report.Sighting
}

// Match joins the indexes of captures of one traffic (nil entries, for
// captures that could not be read, are skipped). Only the first maxFiles
// captures take part.
func Match(idx []*Index) *Join {
	j := &Join{}
	for _, x := range idx {
		if x == nil {
			x = &Index{}
		}
		j.idx = append(j.idx, x)
	}
	if len(j.idx) > maxFiles {
		j.idx = j.idx[:maxFiles]
	}
	j.cluster()
	j.mem = j.members()
	members := &j.mem
	j.estimateOffsets(members)
	j.groups()
	j.matchResets(members)
	return j
}

// Offset is the clock offset of capture b relative to capture a: a time in
// a plus the offset is the same instant in b. ok is false when the two
// share no connection.
func (j *Join) Offset(a, b int) (time.Duration, bool) {
	if a >= len(j.idx) || b >= len(j.idx) {
		return 0, false
	}
	return time.Duration(j.offset[a][b]), j.hasOffset[a][b]
}

// Lookup says what the join knows about the reset at frame of capture file
// (its position in the list given to Match).
func (j *Join) Lookup(file int, frame uint64) (*Seen, bool) {
	if j == nil || file < 0 || file >= len(j.seen) {
		return nil, false
	}
	s, ok := j.seen[file][frame]
	return s, ok
}

// members lists, per cluster root with members in several captures, its
// connections, in node order: a counting sort by root into one list (a map
// of slices was a sixth of Match on two copies of the bench capture, and
// its order of iteration, which picked the clock samples, changed from run
// to run).
type members struct {
	start []int32 // per node: where the members of the cluster it roots begin in list; start[n] ends the last
	list  []int32
}

// of returns the members of the cluster rooted at r (none for a cluster in
// one capture, or a node that is no root).
func (m *members) of(r int32) []int32 {
	if int(r)+1 >= len(m.start) {
		return nil
	}
	return m.list[m.start[r]:m.start[r+1]]
}

func (j *Join) members() members {
	n := len(j.c.parent)
	m := members{start: make([]int32, n+1)}
	roots := make([]int32, n) // per node: its root, -1 for a cluster in one capture
	total := int32(0)
	for node := range n {
		r, _ := j.c.find(int32(node))
		roots[node] = -1
		if j.c.files[r]&(j.c.files[r]-1) == 0 {
			continue // one capture only
		}
		roots[node] = r
		m.start[r+1]++
		total++
	}
	for i := 1; i <= n; i++ {
		m.start[i] += m.start[i-1]
	}
	m.list = make([]int32, total)
	next := append([]int32(nil), m.start[:n]...)
	for node, r := range roots {
		if r >= 0 {
			m.list[next[r]] = int32(node)
			next[r]++
		}
	}
	return m
}

func (j *Join) conn(node int32) *conn {
	f := j.fileOf[node]
	return j.idx[f].conns.at(node - j.base[f])
}

// localSide maps side s of node a to the corresponding side of node b (in
// the same cluster).
func (j *Join) localSide(a int32, s side, b int32) side {
	_, pa := j.c.find(a)
	_, pb := j.c.find(b)
	return s ^ pa ^ pb
}

// delaySet holds, per side, the time differences of up to one handshake
// packet and prints×prints data segments.
type delaySet struct {
	v [2][1 + prints*prints]int64
	n [2]int
}

func (d *delaySet) add(s side, v int64) {
	if d.n[s] < len(d.v[s]) {
		d.v[s][d.n[s]] = v
		d.n[s]++
	}
}

func (d *delaySet) of(s side) []int64 { return d.v[s][:d.n[s]] }

// delays returns, per side of a, how much later b saw that side's packets
// than a did (on the two clocks as they are), for the packets both saw:
// the SYN, the SYN-ACK and the data fingerprints.
func (j *Join) delays(a, b int32) (d delaySet) {
	ca, cb := j.conn(a), j.conn(b)
	for s := range side(2) {
		sb := j.localSide(a, s, b)
		if ca.hasClient && cb.hasClient {
			if s == ca.clientSide() && ca.synNS != 0 && cb.synNS != 0 {
				d.add(s, cb.synNS-ca.synNS)
			}
			if s != ca.clientSide() && ca.synAckNS != 0 && cb.synAckNS != 0 {
				d.add(s, cb.synAckNS-ca.synAckNS)
			}
		}
		delta := seqDelta(ca, s, cb, sb)
		for _, fa := range ca.data[s][:ca.nData[s]] {
			for _, fb := range cb.data[sb][:cb.nData[sb]] {
				if fa.hash == fb.hash && fa.seq+delta == fb.seq {
					d.add(s, fb.ns-fa.ns)
				}
			}
		}
	}
	return d
}

// seqDelta is what to add to side s's sequence numbers in a to get side
// sb's in b: zero unless a device rewrote them and both handshakes show it.
func seqDelta(a *conn, s side, b *conn, sb side) uint32 {
	if a.hasISN[s] && b.hasISN[sb] {
		return b.isn[sb] - a.isn[s]
	}
	return 0
}

// estimateOffsets takes, per pair of captures, the median of the time
// differences of the packets both saw. The median of both directions sits
// halfway between the two one-way delays, which is the offset for the
// purpose at hand: telling which sighting of a reset is which.
func (j *Join) estimateOffsets(members *members) {
	n := len(j.idx)
	samples := make([][][]int64, n)
	j.offset, j.hasOffset = make([][]int64, n), make([][]bool, n)
	for i := range n {
		samples[i] = make([][]int64, n)
		j.offset[i], j.hasOffset[i] = make([]int64, n), make([]bool, n)
		j.hasOffset[i][i] = true
	}
	for r := range int32(len(members.start) - 1) {
		nodes := members.of(r)
		for x, a := range nodes {
			for _, b := range nodes[x+1:] {
				fa, fb := j.fileOf[a], j.fileOf[b]
				if len(samples[fa][fb]) >= maxSamples {
					continue
				}
				d := j.delays(a, b)
				samples[fa][fb] = append(append(samples[fa][fb], d.of(0)...), d.of(1)...)
			}
		}
	}
	for a := range n {
		for b := range n {
			s := samples[a][b]
			if len(s) == 0 {
				continue
			}
			slices.Sort(s)
			m := s[len(s)/2]
			j.offset[a][b], j.hasOffset[a][b] = m, true
			j.offset[b][a], j.hasOffset[b][a] = -m, true
		}
	}
}

// groups puts captures that share a connection in one group.
func (j *Join) groups() {
	n := len(j.idx)
	g := make([]int, n)
	for i := range g {
		g[i] = i
	}
	var root func(int) int
	root = func(i int) int {
		for g[i] != i {
			i = g[i]
		}
		return i
	}
	for a := range n {
		for b := a + 1; b < n; b++ {
			if j.hasOffset[a][b] {
				g[root(b)] = root(a)
			}
		}
	}
	byRoot := map[int][]int{}
	for i := range n {
		byRoot[root(i)] = append(byRoot[root(i)], i)
	}
	for i := range n {
		if m := byRoot[i]; len(m) > 1 {
			j.Groups = append(j.Groups, m)
		}
	}
}

// hostRef is a matched connection that shows where a capture sits
// relative to one address: used for a reset on a connection the other
// captures never saw (a SYN refused between them), or whose own packets
// do not tell.
type hostRef struct {
	node int32
	side side
	ns   int64 // the connection's first packet
}

// hostRef returns the matched connection of capture f with address a on
// one side that started nearest to ns: the path to an address can change
// over a capture, so the connection nearest in time speaks for it. The
// lists are built on first use: most joins never need them.
func (j *Join) hostRef(f int, a netip.Addr, ns int64) (hostRef, bool) {
	if j.refs == nil {
		j.refs = make([]map[netip.Addr][]hostRef, len(j.idx))
		for i := range j.refs {
			j.refs[i] = make(map[netip.Addr][]hostRef)
		}
		// Nodes are numbered in the order their first packets were
		// captured, so each list comes out in time order (within the
		// capture's own small disorder, which a nearest-match tolerates).
		for node := range int32(len(j.fileOf)) {
			if r, _ := j.c.find(node); j.c.files[r]&(j.c.files[r]-1) == 0 {
				continue // in one capture only
			}
			c, fi := j.conn(node), j.fileOf[node]
			for s := range side(2) {
				a := c.ends[s].Addr()
				j.refs[fi][a] = append(j.refs[fi][a], hostRef{node: node, side: s, ns: c.firstNS})
			}
		}
	}
	list := j.refs[f][a]
	if len(list) == 0 {
		return hostRef{}, false
	}
	i, _ := slices.BinarySearchFunc(list, ns, func(r hostRef, t int64) int { return cmp.Compare(r.ns, t) })
	switch {
	case i == len(list):
		i--
	case i > 0 && ns-list[i-1].ns < list[i].ns-ns:
		i--
	}
	return list[i], true
}
