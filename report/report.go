package report

// Report is a whole analysis: what renderers get.
type Report struct {
	Summary     Summary       `json:"summary"`
	Findings    []Finding     `json:"findings"`
	Connections []ConnSummary `json:"connections,omitempty"`
}

// Summary gives the totals and the rankings the text report opens with.
type Summary struct {
	Files       []FileStats `json:"files"`
	Packets     uint64      `json:"packets"`
	TCPPackets  uint64      `json:"tcp_packets"`
	Connections uint64      `json:"connections"`
	Resets      int         `json:"resets"`
	Benign      int         `json:"benign"`
	Attention   int         `json:"attention"`
	ByCause     []Count     `json:"by_cause"`
	BySender    []Count     `json:"by_sender"`
	// Listeners are the server endpoints with the most resets.
	Listeners []Count `json:"listeners"`
	// Hosts are the addresses that sent the most resets.
	Hosts []Count `json:"hosts"`
	// Filters are the filter flags the findings were selected with, and
	// Unfiltered the number of resets before them (both only when filtered).
	Filters    string `json:"filters,omitempty"`
	Unfiltered int    `json:"unfiltered_resets,omitempty"`
}

// FileStats is what reading one capture file saw.
type FileStats struct {
	File      string `json:"file"`
	Packets   uint64 `json:"packets"`
	TCP       uint64 `json:"tcp_packets"`
	Truncated uint64 `json:"truncated_packets"` // cut by the snaplen
	// Fragments counts IP fragments skipped: cut by the snaplen, or of a
	// datagram that never completed (a fragment missing within 30 s,
	// overlapping, or past the reassembler's bounds) — the receiver never
	// saw such a datagram either.
	Fragments uint64 `json:"fragments"`
	// TCPFragments are the Fragments of TCP datagrams: segments (resets
	// among them) whose header or payload was in fragments not reassembled.
	TCPFragments uint64 `json:"tcp_fragments,omitempty"`
	// Reassembled counts the fragmented datagrams put back together and
	// analysed whole.
	Reassembled uint64 `json:"reassembled_datagrams,omitempty"`
	// Tunnelled counts packets inside encapsulations not decoded (IPsec
	// ESP, L2TP, Geneve, GTP-U sessions without IP): their resets unseen.
	Tunnelled uint64 `json:"tunnelled_not_decoded,omitempty"`
	Undecoded uint64 `json:"undecodable"` // malformed headers
	// Unsupported counts frames of a link type rstscope cannot decode;
	// UnsupportedLink is the first such link type.
	Unsupported     uint64 `json:"unsupported_link_frames,omitempty"`
	UnsupportedLink uint16 `json:"unsupported_link_type,omitempty"`
	Conns           uint64 `json:"connections"`
	Evicted         uint64 `json:"evicted"` // connections evicted by --max-conns
	PeakConns       int    `json:"peak_connections"`
	Resets          int    `json:"resets"`
	// BadTimes counts frames whose timestamp was impossible (before 1970,
	// past year 9999, or absent) and that were given the previous frame's
	// time; BadTimeFrame is the first of them.
	BadTimes     uint64 `json:"bad_timestamps,omitempty"`
	BadTimeFrame uint64 `json:"first_bad_timestamp_frame,omitempty"`
	// Interrupted says the read was stopped (Ctrl-C) before the end of
	// the file; Error says after which frame.
	Interrupted bool `json:"interrupted,omitempty"`
	// Error is the damage that stopped reading early, if any.
	Error string `json:"error,omitempty"`
}

// Count is one row of a ranking.
type Count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}
