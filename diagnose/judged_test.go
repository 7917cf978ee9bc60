package diagnose_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// Floors for TestCorpusJudgedByHand, set at what main gives less a margin.
// Measured: with main at 30625c6 (before the rules fixed from this
// judgment) 136 of 175 causes right and 160 of 167 senders; at 17fb382,
// 153 and 160; at 67fa49a, 158; since the 1 ms abort (cause
// readThenAbort, measured on the kernel's reasons), 151: six crafted
// suricata captures whose timestamps a script wrote and wstunnel's
// websocket close, resets within a millisecond of the data that the
// judgment leaves open (cannot tell), now an abort at 0.9. The judged rows are since the training set of those fixes,
// so this is a regression floor, not a measure of accuracy on new traffic
// (bench/truth and bench/realtruth are that).
const (
	judgedCauseFloor  = 150
	judgedSenderFloor = 158
)

type judged struct {
	file   string
	frame  uint64
	sender string // client, server, middlebox, or "cannot tell"
	cause  string // one cause, or "cannot tell: a|b"
	why    string
}

func readJudged(t *testing.T) []judged {
	t.Helper()
	f, err := os.Open(filepath.Join(testutil.ModuleRoot(t), "testdata", "corpus-judged.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []judged
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	header := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if !header {
			header = true
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 5 {
			t.Fatalf("corpus-judged.tsv: %d columns in %q, want 5", len(c), line)
		}
		frame, err := strconv.ParseUint(c[1], 10, 64)
		if err != nil {
			t.Fatalf("corpus-judged.tsv: frame %q: %v", c[1], err)
		}
		out = append(out, judged{c[0], frame, c[2], c[3], c[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// agrees applies the judge's own criteria: a named cause must be the
// verdict; where the packets cannot decide, the verdict must be one of the
// causes left open at 0.6 or less, or unknown at 0.3 or less.
func agrees(j judged, f report.Finding) bool {
	if rest, ok := strings.CutPrefix(j.cause, "cannot tell"); ok {
		if f.Cause == cause.Unknown && f.Confidence <= 0.3 {
			return true
		}
		// "cannot tell (crafted): a|b (follow-up)": the causes after the
		// colon, each without a note in brackets.
		_, open, _ := strings.Cut(rest, ":")
		for _, c := range strings.Split(open, "|") {
			c, _, _ = strings.Cut(strings.TrimSpace(c), " (")
			if c == string(f.Cause) {
				return f.Confidence <= 0.6
			}
		}
		return false
	}
	return string(f.Cause) == j.cause
}

// TestCorpusJudgedByHand holds the verdicts on the shared corpus against a
// judgment made by hand from the packets (testdata/corpus-judged.tsv),
// independent of the rules: every judged reset must still be found, and the
// verdicts that agree with the judgment must stay at or above the floors.
// It lists the ones that do not agree.
func TestCorpusJudgedByHand(t *testing.T) {
	dir := testutil.CorpusDir(t)
	rows := readJudged(t)
	byFile := map[string][]judged{}
	var files []string
	for _, j := range rows {
		if byFile[j.file] == nil {
			files = append(files, j.file)
		}
		byFile[j.file] = append(byFile[j.file], j)
	}
	var causeRight, senderRight, senders int
	var misses []string
	for _, file := range files {
		found := map[uint64]report.Finding{}
		opts := diagnose.DefaultOptions
		opts.OnFinding = func(f report.Finding) { found[f.Frame] = f }
		diagnose.ReadFile(filepath.Join(dir, file), opts) // damaged corpus files still yield their resets
		for _, j := range byFile[file] {
			f, ok := found[j.frame]
			if !ok {
				t.Errorf("%s frame %d: judged by hand, but analyze reported no reset there", file, j.frame)
				continue
			}
			if agrees(j, f) {
				causeRight++
			} else {
				misses = append(misses, file+" #"+strconv.FormatUint(j.frame, 10)+": "+string(f.Cause)+" "+
					strconv.FormatFloat(f.Confidence, 'f', 2, 64)+", judged "+j.cause)
			}
			if j.sender != "cannot tell" {
				senders++
				if string(f.Sender) == j.sender {
					senderRight++
				}
			}
		}
	}
	t.Logf("%d of %d causes agree with the hand judgment, %d of %d senders; the others:\n  %s",
		causeRight, len(rows), senderRight, senders, strings.Join(misses, "\n  "))
	if causeRight < judgedCauseFloor {
		t.Errorf("%d causes agree with the hand judgment, floor %d", causeRight, judgedCauseFloor)
	}
	if senderRight < judgedSenderFloor {
		t.Errorf("%d senders agree with the hand judgment, floor %d", senderRight, judgedSenderFloor)
	}
}
