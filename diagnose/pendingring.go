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
// while it waits for its look-ahead, in 24 bytes: the reset itself, its
// frame, time and connection stay in the table's slabs (flow.Table.Reset
// and Before read them back), and what the table does not keep, the
// sender's host facts and the packet's link fields, is a snapshot shared
// with the resets before it when equal (see senderSnap). A reset of a
// flood (a closed port's RST+ACK, a spoofed source's reset to SYN cookies)
// needs nothing else until its verdict. As a pendingReset on the heap,
// with a cause.Host of its own or shared, each took about 330 bytes,
// doubled by the collector's headroom: the 400 k resets in the 2 s
// look-ahead of a flood answered by RST+ACK at 200 k/s were 80 MB of live
// heap; as 48-byte entries holding their own Ref, frame and time, 19 MB.
type compactReset struct {
	burst *burst // the run of resets it is in (shared, see hostTable.reset)
	slot  uint32 // its flow.Ref's Slot
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
)

// resetChunkLen is how many compact resets a chunk holds (24 KiB): chunks
// instead of one ring spare the copy on growth.
const resetChunkLen = 1024

// resetChunk holds compact resets in arrival order, and their senders'
// snapshots, encoded (encodeSnap). A chunk is sealed once the next one
// is started: it takes no more.
type resetChunk struct {
	rs     []compactReset
	snaps  []byte
	sealed bool
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
		if n > 0 {
			q.chunks[n-1].sealed = true
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

// peek returns the oldest reset not emitted and its chunk, or nil.
func (q *compactQueue) peek() (*compactReset, *resetChunk) {
	for len(q.chunks) > 0 {
		c := q.chunks[0]
		if q.head < len(c.rs) {
			return &c.rs[q.head], c
		}
		if !c.sealed {
			return nil, nil
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
	if q.head == len(c.rs) && c.sealed {
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
	c.rs, c.snaps, c.sealed = c.rs[:0], c.snaps[:0], false
	q.spare = c
}

// find returns the position (chunk, index) of the reset not emitted yet
// whose frame is frame, or (-1, -1); frameOf reads a reset's frame.
func (q *compactQueue) find(frame uint64, frameOf func(*compactReset) uint64) (int, int) {
	i := sort.Search(len(q.chunks), func(i int) bool {
		rs := q.chunks[i].rs
		return len(rs) > 0 && frameOf(&rs[len(rs)-1]) >= frame
	})
	if i == len(q.chunks) {
		return -1, -1
	}
	rs, from := q.chunks[i].rs, 0
	if i == 0 {
		from = q.head
	}
	j := from + sort.Search(len(rs)-from, func(j int) bool { return frameOf(&rs[from+j]) >= frame })
	if j < len(rs) && frameOf(&rs[j]) == frame {
		return i, j
	}
	return -1, -1
}

// remove takes out the reset at (i, j), not emitted yet.
func (q *compactQueue) remove(i, j int) {
	c := q.chunks[i]
	c.rs = append(c.rs[:j], c.rs[j+1:]...)
	c.rs[:cap(c.rs)][len(c.rs)].burst = nil
	switch {
	case i == 0 && q.head == len(c.rs) && c.sealed:
		q.dropFirst()
	case i > 0 && len(c.rs) == 0 && c.sealed: // find's search needs no empty chunk before the last
		q.chunks = append(q.chunks[:i], q.chunks[i+1:]...)
		if q.lastChunk == c {
			q.lastChunk = nil
		}
	}
}

// addCompact queues a reset the table took compactly (Analyzer.answer),
// as a compactReset when its time can be rebuilt exactly from Unix
// nanoseconds, else as a pendingReset.
func (a *Analyzer) addCompact(ref flow.Ref, d flow.Dir, p *packet.Packet, ts time.Time, frame uint64) {
	r := compactReset{slot: ref.Slot(), bits: crLive}
	if ts.Location() == time.Local && time.Local != time.UTC {
		r.bits |= crLocal
	}
	if timeOf(ts.UnixNano(), r.bits) != ts {
		a.pending.add(a.newCompactPending(ref, d, p, ts, frame))
		return
	}
	if d == flow.FromResp {
		r.bits |= crFromResp
	}
	if p.Truncated {
		r.bits |= crTruncated
	}
	r.burst = a.hosts.reset(p.SrcAddrPort(), ts.UnixNano(), time.Time{})
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

// frameOf is the frame of compact reset r.
func (s *pendingSet) frameOf(r *compactReset) uint64 {
	_, f, _ := s.table.Reset(r.slot)
	return f
}

// unpack fills pr with compact reset r of chunk c, as newCompactPending
// would have made it; its host points into s (valid until the next call).
func (s *pendingSet) unpack(pr *pendingReset, r *compactReset, c *resetChunk) {
	decodeSnap(c.snaps[r.snap:], &s.snap)
	ref, frame, ns := s.table.Reset(r.slot)
	d := flow.FromOrig
	if r.bits&crFromResp != 0 {
		d = flow.FromResp
	}
	*pr = pendingReset{id: ref.ID(), frame: frame, dir: d, ref: ref,
		live: r.bits&crLive != 0, done: r.bits&crDone != 0, lookDone: r.bits&crLookDone != 0,
		deadline: ns + s.look, burst: r.burst, time: timeOf(ns, r.bits), host: &s.snap.host,
		dstMAC: s.snap.dstMAC, link: s.snap.link, vlans: s.snap.vlans, truncated: r.bits&crTruncated != 0}
}

// findCompact returns the position of the compact reset of c, a
// connection with resets pending that the table held compactly until now,
// or (-1, -1) (see compact).
func (s *pendingSet) findCompact(c *flow.Conn) (int, int) {
	if len(s.byConn[c.ID]) > 0 || len(s.compacts.chunks) == 0 {
		return -1, -1
	}
	i, j := s.compacts.find(max(c.Ep[0].LastFrame, c.Ep[1].LastFrame), s.frameOf)
	if i < 0 {
		return -1, -1
	}
	r := &s.compacts.chunks[i].rs[j]
	if ref, _, _ := s.table.Reset(r.slot); ref.ID() != c.ID || r.bits&crLive == 0 {
		return -1, -1
	}
	return i, j
}

// move makes the compact reset at (i, j) a pendingReset in the queue, in
// its place by frame, and returns it: its connection is a Conn again. Its
// host is scratch, valid until the next unpack.
func (s *pendingSet) move(i, j int) *pendingReset {
	pr := s.get()
	c := s.compacts.chunks[i]
	s.unpack(pr, &c.rs[j], c)
	s.compacts.remove(i, j)
	s.cHead = nil
	q := s.queue[s.head:]
	k := sort.Search(len(q), func(k int) bool { return q[k].frame > pr.frame })
	s.queue = append(s.queue, nil)
	copy(s.queue[s.head+k+1:], s.queue[s.head+k:])
	s.queue[s.head+k] = pr
	return pr
}
