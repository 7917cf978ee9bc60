package sighting

// Key kinds a connection is matched on across captures. None of them uses
// an address or a port, so NAT and load balancers that rewrite those do
// not hide a connection; all but dataKey survive a device that rewrites
// sequence numbers too, as long as the handshake was captured.
const (
	pairKey    = iota // both initial sequence numbers, the client's first
	synKey            // the client's ISN alone: a SYN answered by a reset, or a SYN-ACK lost in one capture
	dataKey           // a data segment's sequence number and payload hash
	relDataKey        // the same with the sequence relative to the side's ISN
	rstKey            // a reset's sequence and acknowledgment numbers: a connection whose other packets one capture lost
)

// keyed is one key of one connection. side is the connection's local side
// the key belongs to: the client for ISN keys, the segment's sender for
// data keys. Two connections sharing a key have corresponding sides.
type keyed struct {
	key  uint64
	node int32
	kind uint8
	side side
}

// maxFiles is how many captures one join can hold: a file set per cluster
// is a bit mask.
const maxFiles = 64

// clusters is a union-find over every connection of every index, with a
// parity per node saying whether its sides are swapped relative to its
// root's (side s of a node is side s^parity of the root).
type clusters struct {
	parent []int32
	parity []uint8
	files  []uint64 // per root: the files its members come from
	size   []int32
}

func newClusters(n int) *clusters {
	c := &clusters{parent: make([]int32, n), parity: make([]uint8, n), files: make([]uint64, n), size: make([]int32, n)}
	for i := range c.parent {
		c.parent[i], c.size[i] = int32(i), 1
	}
	return c
}

func (c *clusters) find(x int32) (int32, uint8) {
	if c.parent[x] == x {
		return x, 0
	}
	r, p := c.find(c.parent[x])
	c.parity[x] ^= p
	c.parent[x] = r
	return r, c.parity[x]
}

// union joins a and b, side s of a being side s^p of b, unless that would
// put two connections of one capture in one cluster.
func (c *clusters) union(a, b int32, p uint8) {
	ra, pa := c.find(a)
	rb, pb := c.find(b)
	if ra == rb || c.files[ra]&c.files[rb] != 0 {
		return
	}
	if c.size[ra] < c.size[rb] {
		ra, rb, pa, pb = rb, ra, pb, pa
	}
	c.parent[rb], c.parity[rb] = ra, pa^pb^p
	c.size[ra] += c.size[rb]
	c.files[ra] |= c.files[rb]
}

// keyCount is how many keys keysOf appends for c.
func keyCount(c *conn) int {
	n := 0
	cs := c.clientSide()
	if c.hasClient && c.hasISN[cs] {
		n++
		if c.hasISN[cs^1] {
			n++
		}
	}
	for s := range side(2) {
		k := int(c.nData[s])
		if c.hasISN[s] {
			k *= 2
		}
		n += k
	}
	return n
}

// keysOf appends the keys of one connection.
func keysOf(out []keyed, c *conn, node int32) []keyed {
	cs := c.clientSide()
	if c.hasClient && c.hasISN[cs] {
		out = append(out, keyed{key: uint64(c.isn[cs]), node: node, kind: synKey, side: cs})
		if c.hasISN[cs^1] {
			out = append(out, keyed{key: uint64(c.isn[cs])<<32 | uint64(c.isn[cs^1]), node: node, kind: pairKey, side: cs})
		}
	}
	for s := range side(2) {
		for _, d := range c.data[s][:c.nData[s]] {
			out = append(out, keyed{key: uint64(d.seq)<<32 | uint64(d.hash), node: node, kind: dataKey, side: s})
			if c.hasISN[s] {
				out = append(out, keyed{key: uint64(d.seq-c.isn[s])<<32 | uint64(d.hash), node: node, kind: relDataKey, side: s})
			}
		}
	}
	return out
}

// cluster matches the connections of every index. A key joins connections
// only when no capture holds it twice: a key two connections of one
// capture share (the same request bytes at the same relative sequence,
// a 32-bit ISN met twice) says nothing about which of them is which.
func (j *Join) cluster() {
	n := 0
	j.base = make([]int32, len(j.idx))
	for i, x := range j.idx {
		j.base[i] = int32(n)
		n += x.conns.n
	}
	j.c = newClusters(n)
	j.fileOf = make([]uint8, n)
	// Sized up front: growing it by appending was a fifth of Match on two
	// copies of bench/out/traffic.pcap.
	nk := 0
	for _, x := range j.idx {
		for ci := range int32(x.conns.n) {
			nk += keyCount(x.conns.at(ci))
		}
		nk += len(x.resets)
	}
	keys := make([]keyed, 0, nk)
	for i, x := range j.idx {
		for ci := range int32(x.conns.n) {
			node := j.base[i] + ci
			j.fileOf[node] = uint8(i)
			j.c.files[node] = 1 << i
			keys = keysOf(keys, x.conns.at(ci), node)
		}
		for _, r := range x.resets {
			keys = append(keys, keyed{key: uint64(r.seq)<<32 | uint64(r.ack), node: j.base[i] + r.conn, kind: rstKey, side: r.side})
		}
	}
	keys = sortKeys(keys)
	for lo := 0; lo < len(keys); {
		hi := lo + 1
		for hi < len(keys) && keys[hi].key == keys[lo].key {
			hi++
		}
		run := keys[lo:hi]
		lo = hi
		if len(run) < 2 || !oncePerFile(run, j.fileOf) {
			continue
		}
		for _, k := range run[1:] {
			j.c.union(run[0].node, k.node, run[0].side^k.side)
		}
	}
}

// oncePerFile says the run's connections come from distinct captures
// (a connection may carry one key twice: a data key on both sides).
func oncePerFile(run []keyed, fileOf []uint8) bool {
	var seen uint64
	prev := int32(-1)
	for _, k := range run {
		if k.node == prev {
			continue
		}
		prev = k.node
		bit := uint64(1) << fileOf[k.node]
		if seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return seen&(seen-1) != 0
}

// sortKeys orders keys by kind and key, keeping node order within equal
// keys: a radix sort on the key with the kind folded into its top bits.
// pdqsort with a comparator was two thirds of Match on two copies of
// bench/out/traffic.pcap (300 k keys). Six passes of 11 bits, whose counts
// (96 KiB for all six) are taken in one pass over the keys and whose
// scatter writes go to 2 048 places, took 31 ms on 455 k keys where four
// passes of 16 bits (eight passes over the keys, 65 536 places to write
// to) took 54 ms. A digit every key shares costs no pass. Folding the kind
// in lets two kinds share a value only when a data key's sequence number
// has exactly the bits a kind sets, a 2^-32 chance per key, and a shared
// value still joins nothing unless the connections agree elsewhere.
func sortKeys(keys []keyed) []keyed {
	const bits, digits = 11, 6 // 66 bits cover the 64
	var count [digits][1 << bits]int
	for i := range keys {
		keys[i].key ^= uint64(keys[i].kind) << 61
		k := keys[i].key
		for d := range digits {
			count[d][(k>>(d*bits))&(1<<bits-1)]++
		}
	}
	tmp := make([]keyed, len(keys))
	for d := range digits {
		c := &count[d]
		shift := uint(d * bits)
		if len(keys) > 0 && c[(keys[0].key>>shift)&(1<<bits-1)] == len(keys) {
			continue // every key has this digit
		}
		sum := 0
		for i, n := range c {
			c[i] = sum
			sum += n
		}
		for _, k := range keys {
			x := (k.key >> shift) & (1<<bits - 1)
			tmp[c[x]] = k
			c[x]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}
