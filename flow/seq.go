package flow

// Seq is a TCP sequence number. Comparisons are modulo 2^32 (RFC 9293 §3.4):
// a precedes b when the signed distance from b to a is negative. Never compare
// raw sequence numbers with < (RFC 1982 serial-number arithmetic).
type Seq uint32

// LessThan reports whether s precedes v.
func (s Seq) LessThan(v Seq) bool { return int32(s-v) < 0 }

// LessThanEq reports whether s precedes or equals v.
func (s Seq) LessThanEq(v Seq) bool { return int32(s-v) <= 0 }

// Add returns s advanced by n.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the signed distance from v to s.
func (s Seq) Sub(v Seq) int32 { return int32(s - v) }

// InWindow reports whether s lies in [first, first+size).
func (s Seq) InWindow(first Seq, size uint32) bool {
	return uint32(s-first) < size
}

// Max returns the later of s and v.
func (s Seq) Max(v Seq) Seq {
	if s.LessThan(v) {
		return v
	}
	return s
}
