package diagnose_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// forged lists the corpus resets known to be forged by a device in the path:
// Zeek's rst-inject-rae trace answers the client's SYN with a RST whose TTL
// (46) is not the server's (49) and whose IP ID copies the SYN's, and the
// real server then answers the same SYN with a SYN-ACK.
var forged = map[string]map[uint64]bool{
	"zeek/tcp__rst-inject-rae.pcap": {2: true},
}

// TestNoFalseAccusations: apart from the forged resets listed above, no
// capture in the shared corpus shows a device in the path forging or
// rejecting, so no other reset there may be called injected or be put on a
// middlebox; and the forged ones must be found. The test also lists every
// reset left unknown, with the evidence that did not single out a cause.
func TestNoFalseAccusations(t *testing.T) {
	dir := testutil.CorpusDir(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var total int
	unknown := map[string]int{}
	var examples []string
	for sc.Scan() {
		path := strings.SplitN(sc.Text(), "\t", 2)[0]
		opts := diagnose.DefaultOptions
		opts.OnFinding = func(x report.Finding) {
			total++
			if forged[path][x.Frame] {
				if x.Cause != cause.Injected || x.Sender != cause.Middlebox {
					t.Errorf("%s frame %d: got %s by %s, want injected by middlebox; evidence: %s", path, x.Frame, x.Cause, x.Sender, strings.Join(x.Evidence, "; "))
				}
			} else if x.Cause == cause.Injected || x.Sender == cause.Middlebox {
				t.Errorf("%s frame %d: %s by %s, but nothing forged it; evidence: %s", path, x.Frame, x.Cause, x.Sender, strings.Join(x.Evidence, "; "))
			}
			if x.Cause == cause.Unknown {
				unknown[path]++
				if unknown[path] <= 2 {
					examples = append(examples, path+" frame "+itoa(x.Frame)+": "+strings.Join(x.Evidence, "; "))
				}
			}
		}
		diagnose.ReadFile(filepath.Join(dir, path), opts) // damaged corpus files still yield their resets
	}
	n := 0
	for _, c := range unknown {
		n += c
	}
	t.Logf("%d resets in the corpus, %d unknown, in %d files:\n  %s", total, n, len(unknown), strings.Join(examples, "\n  "))
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
