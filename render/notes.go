package render

import (
	"fmt"

	"github.com/rstscope/rstscope/report"
)

// fileNotes says, one short phrase each, what reading a file left out or
// changed: every format that writes for a person shows them, so a blind
// spot is never silent. The file's Error (damage) is shown apart.
func fileNotes(f report.FileStats) []string {
	var notes []string
	if f.Truncated > 0 {
		notes = append(notes, fmt.Sprintf("%d packets cut by the snaplen", f.Truncated))
	}
	if f.Reassembled > 0 {
		notes = append(notes, fmt.Sprintf("%d fragmented IP datagrams reassembled", f.Reassembled))
	}
	if f.Fragments > 0 {
		n := fmt.Sprintf("%d IP fragments skipped (cut by the snaplen, or their datagram never completed)", f.Fragments)
		if f.TCPFragments > 0 {
			n += fmt.Sprintf(", %d of them TCP: a reset whose header was in one is not seen", f.TCPFragments)
		}
		notes = append(notes, n)
	}
	if f.Tunnelled > 0 {
		notes = append(notes, fmt.Sprintf("%d packets inside tunnels not decoded (IPsec ESP, L2TP, Geneve, GTP-U without IP): their resets are not seen", f.Tunnelled))
	}
	if f.Undecoded > 0 {
		notes = append(notes, fmt.Sprintf("%d packets undecodable", f.Undecoded))
	}
	if f.Evicted > 0 {
		notes = append(notes, fmt.Sprintf("%d connections evicted by --max-conns", f.Evicted))
	}
	if f.BadTimes > 0 {
		notes = append(notes, fmt.Sprintf("%d frames with an impossible timestamp (first: frame %d) given the time of the frame before", f.BadTimes, f.BadTimeFrame))
	}
	return notes
}
