package diagnose_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// Agreement with Zeek's conn.log over the shared corpus (issue 2). Each
// zeek/*.conn.log is a verbatim btest baseline (some are zeek-cut subsets);
// the four conn_state-RST-behavior traces print "history, conn_state"
// instead and are read from their *.zeek-out.txt. Connections are matched
// by whatever of (orig_h, orig_p, resp_h, resp_p) the baseline kept, in
// order of appearance: Zeek may log several connections on one 4-tuple.
const (
	minConnStateAgreement = 0.95
	minHistoryAgreement   = 0.85
)

// zeekRow is one baseline connection; empty strings are columns the
// baseline does not have.
type zeekRow struct {
	origH, origP, respH, respP string
	state, history             string
	fields                     map[string]string
}

func (r zeekRow) matches(c report.ConnSummary) bool {
	return (r.origH == "" || r.origH == c.OrigH) &&
		(r.origP == "" || r.origP == strconv.Itoa(int(c.OrigP))) &&
		(r.respH == "" || r.respH == c.RespH) &&
		(r.respP == "" || r.respP == strconv.Itoa(int(c.RespP)))
}

func (r zeekRow) String() string {
	t := func(s string) string {
		if s == "" {
			return "?"
		}
		return s
	}
	return fmt.Sprintf("%s:%s -> %s:%s", t(r.origH), t(r.origP), t(r.respH), t(r.respP))
}

// zeekBaseline is one trace with the connections Zeek logged for it.
type zeekBaseline struct {
	name, capture, verdict string
	rows                   []zeekRow
	execLines              string
}

func TestZeekAgreement(t *testing.T) {
	dir := testutil.CorpusDir(t)
	baselines := loadZeekBaselines(t, dir)
	if len(baselines) == 0 {
		t.Fatalf("no Zeek baselines under %s/zeek", dir)
	}
	var tot struct{ conns, stateN, stateEq, histN, histEq, bytesN, bytesEq, pktsN, pktsEq int }
	var macroState, macroHist float64
	var macroStateN, macroHistN int
	t.Logf("%-48s %5s %11s %11s %9s %9s", "trace", "conns", "conn_state", "history", "bytes", "pkts/ip")
	for _, b := range baselines {
		if f := bpfFilter(b.execLines); f != "" {
			t.Logf("%-48s skipped: Zeek ran with BPF filter %q", b.name, f)
			continue
		}
		var ours []report.ConnSummary
		if _, err := diagnose.ReadFile(b.capture, diagnose.Options{
			Flow:       diagnose.DefaultOptions.Flow,
			NoClassify: true,
			OnConn:     func(c report.ConnSummary) { ours = append(ours, c) },
		}); err != nil {
			t.Logf("%s: read error (analysed up to it): %v", b.name, err)
		}
		// Order of appearance: Zeek logs at removal, which for connections
		// on one 4-tuple is the order they started in.
		sort.SliceStable(ours, func(i, j int) bool { return ours[i].Start.Before(ours[j].Start) })
		used := make([]bool, len(ours))
		var f struct{ conns, stateN, stateEq, histN, histEq, bytesN, bytesEq, pktsN, pktsEq int }
		var notes []string
		for _, r := range b.rows {
			f.conns++
			if r.state != "" {
				f.stateN++
			}
			if r.history != "" {
				f.histN++
			}
			k := -1
			for i := range ours {
				if !used[i] && r.matches(ours[i]) {
					k = i
					break
				}
			}
			if k < 0 {
				notes = append(notes, fmt.Sprintf("%s: no such connection (zeek %s %s)", r, r.state, r.history))
				continue
			}
			used[k] = true
			c := ours[k]
			var why []string
			if r.state != "" {
				if r.state == c.ConnState {
					f.stateEq++
				} else {
					why = append(why, fmt.Sprintf("conn_state %s, zeek %s", c.ConnState, r.state))
				}
			}
			if r.history != "" {
				h := c.History
				if h == "" {
					h = "-" // Zeek's unset field
				}
				if r.history == h {
					f.histEq++
				} else {
					why = append(why, fmt.Sprintf("history %s, zeek %s", h, r.history))
				}
			}
			// Byte and packet counts are information, not a threshold.
			if ob, rb, ok := r.count("orig_bytes"), r.count("resp_bytes"), r.has("orig_bytes", "resp_bytes"); ok {
				f.bytesN++
				if ob == c.OrigBytes && rb == c.RespBytes {
					f.bytesEq++
				} else {
					why = append(why, fmt.Sprintf("(info) bytes %d/%d, zeek %d/%d", c.OrigBytes, c.RespBytes, ob, rb))
				}
			}
			if r.has("orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes") {
				f.pktsN++
				op, oi, rp, ri := r.count("orig_pkts"), r.count("orig_ip_bytes"), r.count("resp_pkts"), r.count("resp_ip_bytes")
				if op == c.OrigPkts && oi == c.OrigIP && rp == c.RespPkts && ri == c.RespIP {
					f.pktsEq++
				} else {
					why = append(why, fmt.Sprintf("(info) pkts/ip %d/%d %d/%d, zeek %d/%d %d/%d", c.OrigPkts, c.OrigIP, c.RespPkts, c.RespIP, op, oi, rp, ri))
				}
			}
			if len(why) > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s", r, strings.Join(why, "; ")))
			}
		}
		extra := 0
		for i := range ours {
			if !used[i] && b.keyed() {
				extra++
			}
		}
		t.Logf("%-48s %5d %5d/%-5d %5d/%-5d %4d/%-4d %4d/%-4d", b.name, f.conns, f.stateEq, f.stateN, f.histEq, f.histN, f.bytesEq, f.bytesN, f.pktsEq, f.pktsN)
		for _, n := range groupNotes(notes) {
			t.Logf("    %s", n)
		}
		if extra > 0 {
			t.Logf("    (info) %d connection(s) we log that Zeek's baseline does not list", extra)
		}
		tot.conns += f.conns
		tot.stateN += f.stateN
		tot.stateEq += f.stateEq
		tot.histN += f.histN
		tot.histEq += f.histEq
		tot.bytesN += f.bytesN
		tot.bytesEq += f.bytesEq
		tot.pktsN += f.pktsN
		tot.pktsEq += f.pktsEq
		if f.stateN > 0 {
			macroState += float64(f.stateEq) / float64(f.stateN)
			macroStateN++
		}
		if f.histN > 0 {
			macroHist += float64(f.histEq) / float64(f.histN)
			macroHistN++
		}
	}
	stateAgree := ratio(tot.stateEq, tot.stateN)
	histAgree := ratio(tot.histEq, tot.histN)
	t.Logf("TOTAL %d baseline files, %d connections: conn_state %d/%d (%.1f%%), history %d/%d (%.1f%%); bytes %d/%d, pkts/ip_bytes %d/%d (information)",
		len(baselines), tot.conns, tot.stateEq, tot.stateN, 100*stateAgree, tot.histEq, tot.histN, 100*histAgree, tot.bytesEq, tot.bytesN, tot.pktsEq, tot.pktsN)
	if macroStateN > 0 && macroHistN > 0 {
		t.Logf("per-file mean (each file weighs the same): conn_state %.1f%%, history %.1f%%",
			100*macroState/float64(macroStateN), 100*macroHist/float64(macroHistN))
	}
	if stateAgree < minConnStateAgreement {
		t.Errorf("conn_state agreement %.1f%% (%d/%d), want >= %.0f%%", 100*stateAgree, tot.stateEq, tot.stateN, 100*minConnStateAgreement)
	}
	if histAgree < minHistoryAgreement {
		t.Errorf("history agreement %.1f%% (%d/%d), want >= %.0f%%", 100*histAgree, tot.histEq, tot.histN, 100*minHistoryAgreement)
	}
}

// groupNotes folds repeated notes (many connections on one 4-tuple) into
// one line with a count, keeping first-seen order.
func groupNotes(notes []string) []string {
	count := make(map[string]int, len(notes))
	var order []string
	for _, n := range notes {
		if count[n] == 0 {
			order = append(order, n)
		}
		count[n]++
	}
	for i, n := range order {
		if c := count[n]; c > 1 {
			order[i] = fmt.Sprintf("%s (x%d)", n, c)
		}
	}
	return order
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func (b zeekBaseline) keyed() bool {
	for _, r := range b.rows {
		if r.origH == "" || r.origP == "" || r.respH == "" || r.respP == "" {
			return false
		}
	}
	return true
}

func (r zeekRow) has(cols ...string) bool {
	for _, c := range cols {
		v, ok := r.fields[c]
		if !ok || v == "-" {
			return false
		}
	}
	return true
}

func (r zeekRow) count(col string) uint64 {
	n, _ := strconv.ParseUint(r.fields[col], 10, 64)
	return n
}

// bpfFilter returns the -f filter on a btest's zeek command line, if any.
func bpfFilter(exec string) string {
	m := regexp.MustCompile(`\bzeek\b[^;]*?\s-f\s+("[^"]*"|'[^']*'|\S+)`).FindStringSubmatch(exec)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"'`)
}

// loadZeekBaselines reads ZEEK_VERDICTS.tsv and every baseline that gives
// connection state or history.
func loadZeekBaselines(t *testing.T, dir string) []zeekBaseline {
	t.Helper()
	verdicts := readTSV(t, filepath.Join(dir, "zeek", "ZEEK_VERDICTS.tsv"))
	var out []zeekBaseline
	for _, v := range verdicts {
		capture, verdict := v["capture"], v["verdict_file"]
		if v["has_history"] != "True" && v["has_conn_state"] != "True" {
			continue // endpoint-state or event printouts: no conn.log row
		}
		b := zeekBaseline{
			name:      strings.TrimPrefix(capture, "zeek/"),
			capture:   filepath.Join(dir, capture),
			verdict:   filepath.Join(dir, verdict),
			execLines: v["btest_TEST-EXEC_lines"],
		}
		var err error
		if strings.HasSuffix(verdict, ".conn.log") {
			b.rows, err = readConnLog(b.verdict)
		} else {
			b.rows, err = readHistoryStateLines(b.verdict)
		}
		if err != nil {
			t.Fatalf("reading %s: %v", verdict, err)
		}
		out = append(out, b)
	}
	return out
}

// readConnLog reads a conn.log baseline: Zeek's own header (#fields), or
// btest-diff-cut/zeek-cut -m output whose first line names the columns.
// Only TCP rows are kept.
func readConnLog(path string) ([]zeekRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cols []string
	var rows []zeekRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			cols = strings.Split(line, "\t")[1:]
			continue
		case strings.HasPrefix(line, "#"), line == "":
			continue
		case cols == nil:
			cols = strings.Split(line, "\t")
			continue
		}
		vals := strings.Split(line, "\t")
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			if i < len(vals) {
				m[c] = vals[i]
			}
		}
		if p, ok := m["proto"]; ok && p != "tcp" {
			continue
		}
		r := zeekRow{origH: m["id.orig_h"], origP: m["id.orig_p"], respH: m["id.resp_h"], respP: m["id.resp_p"],
			state: m["conn_state"], history: m["history"], fields: m}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// readHistoryStateLines reads the "history, conn_state" line a
// conn_state-RST-behavior trace prints.
func readHistoryStateLines(path string) ([]zeekRow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^([\^A-Za-z]*), ([A-Z0-9]+)$`)
	var rows []zeekRow
	for _, line := range strings.Split(string(data), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			rows = append(rows, zeekRow{history: m[1], state: m[2]})
		}
	}
	return rows, nil
}

// readTSV reads a TSV file with a header line into one map per row.
func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 0 {
		return nil
	}
	head := strings.Split(lines[0], "\t")
	var out []map[string]string
	for _, l := range lines[1:] {
		vals := strings.Split(l, "\t")
		m := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(vals) {
				m[h] = vals[i]
			}
		}
		out = append(out, m)
	}
	return out
}
