package diagnose

import (
	"encoding/binary"
	"math/bits"
	"sort"
	"time"
	"unsafe"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// compactReset is a pending reset the table took compactly (flow.Table.Answer)
// while it waits for its look-ahead, in 48 bytes: the reset itself and its
// connection stay in the table's slabs (flow.Table.Before rebuilds them),
// and what the table does not keep, the sender's host facts and the
// packet's link fields, is a snapshot shared with the resets before it
// when equal (see senderSnap). A reset of a flood (a closed port's
// RST+ACK, a spoofed source's reset to SYN cookies) needs nothing else
// until its verdict. As a pendingReset on the heap, with a cause.Host of
// its own or shared, each took about 330 bytes, doubled by the
// collector's headroom: the 400 k resets in the 2 s look-ahead of a flood
// answered by RST+ACK at 200 k/s were 80 MB of live heap.
type compactReset struct {
	ref   flow.Ref
	frame uint64
	ns    int64  // capture time, Unix nanoseconds (location: crLocal)
	burst *burst // the run of resets it is in (shared, see hostTable.reset)
	snap  uint32 // offset of its senderSnap in its chunk's snaps
	bits  uint8  // cr* below
}

const (
	crFromResp  = 1 << iota // its direction
	crTruncated             // packet.Packet.Truncated
	crLive                  // the table holds its connection compactly (pendingReset.live)
	crDone                  // its look-ahead is over (pendingReset.done)
	crLookDone              // … having run its full course (pendingReset.lookDone)
	crLocal                 // its time is in time.Local, not UTC
	crMoved                 // observe made it a pendingReset in the queue: skip it
)

// resetChunkLen is how many compact resets a chunk holds (48 KiB): chunks
// instead of one ring spare the copy on growth.
const resetChunkLen = 1024

// resetChunk holds compact resets in arrival order, and their senders'
// snapshots, encoded (encodeSnap).
type resetChunk struct {
	rs    []compactReset
	snaps []byte
}

// compactQueue holds compact resets in arrival order: chunks, oldest first,
// the first emitted up to head.
type compactQueue struct {
	chunks []*resetChunk
	head   int
	spare  *resetChunk // an emptied chunk, kept for the next
	// last is the latest snapshot, and where it is: the next reset with the
	// same one in the same chunk shares it.
	last      senderSnap
	lastChunk *resetChunk
	lastOff   uint32
}

// senderSnap is what a compact reset keeps beside the table's slabs: its
// sender's host facts as they stood at the reset (the per-host model moves
// on while the reset waits), and the packet's fields the table does not
// keep. In a flood nearly all resets come from one listener, and share
// one; resets from spoofed sources differ, so each is encoded without its
// zero words: a source seen in one SYN takes about 45 bytes instead of 168.
type senderSnap struct {
	host   cause.Host
	dstMAC [6]byte
	link   packet.LinkType
	vlans  uint8
	_      [7]byte // the size in whole words, padding included, zeroed
}

// snapWords is senderSnap as 32-bit words, at most 64 (one bit each in
// the encoding's mask); TestSenderSnapWords checks that it has no
// pointers, which the word copy would hide from the collector.
const snapWords = unsafe.Sizeof(senderSnap{}) / 4

var _ [64 - snapWords]struct{} // a compile error past 64 words
var _ [0]struct{} = [unsafe.Sizeof(senderSnap{}) % 4]struct{}{}

// encodeSnap appends s to b: a mask of its non-zero words, then those words.
func encodeSnap(b []byte, s *senderSnap) []byte {
	w := (*[snapWords]uint32)(unsafe.Pointer(s))
	var mask uint64
	for i, x := range w {
		if x != 0 {
			mask |= 1 << i
		}
	}
	b = binary.LittleEndian.AppendUint64(b, mask)
	for i := range w {
		if mask&(1<<i) != 0 {
			b = binary.LittleEndian.AppendUint32(b, w[i])
		}
	}
	return b
}

// decodeSnap undoes encodeSnap.
func decodeSnap(b []byte, s *senderSnap) {
	*s = senderSnap{}
	w := (*[snapWords]uint32)(unsafe.Pointer(s))
	mask := binary.LittleEndian.Uint64(b)
	b = b[8:]
	for mask != 0 {
		i := bits.TrailingZeros64(mask)
		w[i] = binary.LittleEndian.Uint32(b)
		b = b[4:]
		mask &= mask - 1
	}
}

// push appends a compact reset, its snapshot shared with the previous
// reset's when equal and in the same chunk.
func (q *compactQueue) push(r compactReset, snap *senderSnap) {
	n := len(q.chunks)
	if n == 0 || len(q.chunks[n-1].rs) == resetChunkLen {
		c := q.spare
		if c != nil {
			q.spare = nil
		} else {
			c = &resetChunk{rs: make([]compactReset, 0, resetChunkLen)}
		}
		q.chunks = append(q.chunks, c)
		n++
	}
	c := q.chunks[n-1]
	if q.lastChunk != c || q.last != *snap {
		q.last, q.lastChunk, q.lastOff = *snap, c, uint32(len(c.snaps))
		c.snaps = encodeSnap(c.snaps, snap)
	}
	r.snap = q.lastOff
	c.rs = append(c.rs, r)
}

// peek returns the oldest reset not emitted, or nil.
func (q *compactQueue) peek() (*compactReset, *resetChunk) {
	for len(q.chunks) > 0 {
		c := q.chunks[0]
		if q.head < len(c.rs) {
			return &c.rs[q.head], c
		}
		if len(c.rs) < resetChunkLen {
			return nil, nil // the chunk still being filled
		}
		q.dropFirst()
	}
	return nil, nil
}

// pop removes the oldest reset (peek's).
func (q *compactQueue) pop() {
	c := q.chunks[0]
	c.rs[q.head].burst = nil
	q.head++
	if q.head == len(c.rs) && (len(c.rs) == resetChunkLen || len(q.chunks) > 1) {
		q.dropFirst()
	}
}

// dropFirst releases the first chunk, all of it emitted.
func (q *compactQueue) dropFirst() {
	c := q.chunks[0]
	q.chunks[0] = nil
	q.chunks = q.chunks[1:]
	if len(q.chunks) == 0 {
		q.chunks = q.chunks[:0:0] // let the array go; append makes a small one
	}
	q.head = 0
	if q.lastChunk == c {
		q.lastChunk = nil
	}
	clear(c.rs)
	c.rs, c.snaps = c.rs[:0], c.snaps[:0]
	q.spare = c
}

// find returns the reset of frame, not emitted yet, and its chunk, or nil.
func (q *compactQueue) find(frame uint64) (*compactReset, *resetChunk) {
	i := sort.Search(len(q.chunks), func(i int) bool {
		rs := q.chunks[i].rs
		return len(rs) > 0 && rs[len(rs)-1].frame >= frame
	})
	if i == len(q.chunks) {
		return nil, nil
	}
	rs := q.chunks[i].rs
	if i == 0 {
		rs = rs[q.head:]
	}
	j := sort.Search(len(rs), func(j int) bool { return rs[j].frame >= frame })
	if j < len(rs) && rs[j].frame == frame {
		return &rs[j], q.chunks[i]
	}
	return nil, nil
}

// addCompact queues a reset the table took compactly (Analyzer.answer),
// as a compactReset when its time can be rebuilt exactly from Unix
// nanoseconds, else as a pendingReset.
func (a *Analyzer) addCompact(ref flow.Ref, d flow.Dir, p *packet.Packet, ts time.Time, frame uint64) {
	ns := ts.UnixNano()
	r := compactReset{ref: ref, frame: frame, ns: ns, bits: crLive}
	if ts.Location() == time.Local && time.Local != time.UTC {
		r.bits |= crLocal
	}
	if timeOf(ns, r.bits) != ts {
		a.pending.add(a.newCompactPending(ref, d, p, ts, frame))
		return
	}
	if d == flow.FromResp {
		r.bits |= crFromResp
	}
	if p.Truncated {
		r.bits |= crTruncated
	}
	r.burst = a.hosts.reset(p.SrcAddrPort(), ns)
	snap := &a.pending.snap
	*snap = senderSnap{host: a.hosts.get(p.Src), dstMAC: p.DstMAC, link: p.Link, vlans: p.VLANs}
	a.pending.compacts.push(r, snap)
}

// timeOf is the time of a compact reset of Unix nanoseconds ns and bits.
func timeOf(ns int64, bits uint8) time.Time {
	t := time.Unix(0, ns)
	if bits&crLocal == 0 {
		t = t.UTC()
	}
	return t
}

// unpack fills pr with compact reset r of chunk c, as newCompactPending
// would have made it; its host points into s (valid until the next call).
func (s *pendingSet) unpack(pr *pendingReset, r *compactReset, c *resetChunk) {
	decodeSnap(c.snaps[r.snap:], &s.snap)
	d := flow.FromOrig
	if r.bits&crFromResp != 0 {
		d = flow.FromResp
	}
	*pr = pendingReset{id: r.ref.ID(), frame: r.frame, dir: d, ref: r.ref,
		live: r.bits&crLive != 0, done: r.bits&crDone != 0, lookDone: r.bits&crLookDone != 0,
		deadline: r.ns + s.look, burst: r.burst, time: timeOf(r.ns, r.bits), host: &s.snap.host,
		dstMAC: s.snap.dstMAC, link: s.snap.link, vlans: s.snap.vlans, truncated: r.bits&crTruncated != 0}
}

// findCompact returns the compact reset of c, a connection with resets
// pending that the table held compactly until now, and its chunk, or nil
// (see compact).
func (s *pendingSet) findCompact(c *flow.Conn) (*compactReset, *resetChunk) {
	if len(s.byConn[c.ID]) > 0 {
		return nil, nil
	}
	r, ch := s.compacts.find(max(c.Ep[0].LastFrame, c.Ep[1].LastFrame))
	if r == nil || r.ref.ID() != c.ID || r.bits&crLive == 0 || r.bits&crMoved != 0 {
		return nil, nil
	}
	return r, ch
}

// move makes compact reset r of chunk c a pendingReset in the queue, in
// its place by frame, and returns it: its connection is a Conn again. Its
// host is scratch, valid until the next unpack.
func (s *pendingSet) move(r *compactReset, c *resetChunk) *pendingReset {
	pr := s.get()
	s.unpack(pr, r, c)
	r.bits |= crMoved
	r.burst = nil
	q := s.queue[s.head:]
	i := sort.Search(len(q), func(i int) bool { return q[i].frame > pr.frame })
	s.queue = append(s.queue, nil)
	copy(s.queue[s.head+i+1:], s.queue[s.head+i:])
	s.queue[s.head+i] = pr
	return pr
}
