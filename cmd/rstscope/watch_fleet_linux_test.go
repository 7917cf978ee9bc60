package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// The tests in this file run watch beside the real tools a fleet feeds it
// to: Prometheus scraping its metrics, and a log store taking its findings
// over Loki's push API and OTLP. Each tool runs on loopback from a temporary
// directory and is killed at the end; the resets happen in a namespace the
// test makes.

// freeAddr returns a loopback address nothing listens on (closed after
// the kernel chose the port).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDaemon runs bin with args, its output in a file the test logs on
// failure, and kills it (this process only) when the test ends.
func startDaemon(t *testing.T, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// No Pdeathsig: it fires when the forking OS thread exits, and the
	// threads ns.do locks into a namespace exit on purpose.
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s output:\n%s", filepath.Base(bin), b)
		}
		logf.Close()
	})
}

// waitUntil polls ok every 200ms until it holds or d has passed.
func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// closedPortResets connects n times to a port nothing listens on inside
// ns: n NO_SOCKET resets, each answered to a SYN.
func closedPortResets(t *testing.T, ns *watchNS, n int) {
	t.Helper()
	ns.do(t, func() error {
		for range n {
			c, err := net.DialTimeout("tcp", "127.0.0.1:9", time.Second)
			if err == nil {
				c.Close()
				return errors.New("something listens on 127.0.0.1:9 in the test namespace")
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("connect to a closed port: %v, want connection refused", err)
			}
		}
		return nil
	})
}

// promQuery runs an instant PromQL query over Prometheus's HTTP API and
// returns the value of its single sample (ok false when there is none).
func promQuery(t *testing.T, api, q string) (v float64, ok bool) {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		return 0, false // still starting
	}
	var body struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: status %s, %v", q, body.Status, err)
	}
	if len(body.Data.Result) != 1 {
		return 0, false
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err = strconv.ParseFloat(s, 64)
	return v, err == nil
}

// TestWatchPrometheusScrape: a real Prometheus (Debian's 2.42) scrapes a
// running watch every second; the test makes five closed-port resets in its
// namespace and asks Prometheus, in PromQL, how far the counter for
// closed-port by the server in that namespace rose. The same watch pushes to
// a Loki that is not there, and Prometheus must see each of those findings
// counted as dropped, while the watch's own output is not held up.
func TestWatchPrometheusScrape(t *testing.T) {
	testutil.RequireRoot(t)
	prom := testutil.LookTool(t, "prometheus", "Debian package prometheus")
	ns := newRoleNS(t, "fleet-prom")
	deadLoki := freeAddr(t)
	lw := startWatch(t, "--netns", ns.path(), "--metrics-addr", "127.0.0.1:0", "--loki-url", "http://"+deadLoki)
	if lw.metricsURL == "" {
		t.Fatal("watch printed no metrics address")
	}
	target := strings.TrimSuffix(strings.TrimPrefix(lw.metricsURL, "http://"), "/metrics")

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: rstscope
    static_configs:
      - targets: ['%s']
`, target), 0o644); err != nil {
		t.Fatal(err)
	}
	web := freeAddr(t)
	startDaemon(t, prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	api := "http://" + web
	waitUntil(t, "Prometheus scraping watch (up == 1)", 60*time.Second, func() bool {
		v, ok := promQuery(t, api, `up{job="rstscope"}`)
		return ok && v == 1
	})

	sel := fmt.Sprintf(`rstscope_resets_total{job="rstscope",cause="closed-port",sender="server",netns=%q}`, ns.name)
	before, _ := promQuery(t, api, "sum("+sel+") or vector(0)")
	const n = 5
	closedPortResets(t, ns, n)
	for i := range n {
		lw.expect(t, fmt.Sprintf("closed-port finding %d of %d", i+1, n), 5*time.Second, func(f report.Finding) bool {
			return f.Cause == cause.ClosedPort
		})
	}
	var after float64
	defer func() {
		if t.Failed() {
			t.Logf("series in Prometheus: %v", promSeries(t, api, `rstscope_resets_total`))
		}
	}()
	waitUntil(t, fmt.Sprintf("Prometheus seeing %s rise by %d", sel, n), 30*time.Second, func() bool {
		after, _ = promQuery(t, api, "sum("+sel+")")
		return after-before >= n
	})
	time.Sleep(2500 * time.Millisecond) // two more scrapes: nothing counted twice
	after, _ = promQuery(t, api, "sum("+sel+")")
	if after-before != n {
		t.Errorf("%s rose by %v, want %d", sel, after-before, n)
	}

	waitUntil(t, "Prometheus seeing the dead Loki's drops", 30*time.Second, func() bool {
		v, ok := promQuery(t, api, `rstscope_log_records_dropped_total{sink="loki"}`)
		return ok && v == n
	})
	if v, ok := promQuery(t, api, `rstscope_log_records_sent_total{sink="loki"}`); !ok || v != 0 {
		t.Errorf("loki sent %v (present %v), want 0", v, ok)
	}
	if v, ok := promQuery(t, api, `rstscope_events_lost_total{source="kernel"}`); !ok || v != 0 {
		t.Errorf("kernel events lost %v (present %v), want 0", v, ok)
	}
	if v, ok := promQuery(t, api, `rstscope_build_info{version!="",goversion!=""}`); !ok || v != 1 {
		t.Errorf("rstscope_build_info %v (present %v), want 1", v, ok)
	}

	// The dashboard's queries, run by this Prometheus: each must be
	// accepted, and the per-namespace panel must show the test's namespace.
	for title, q := range dashboardPromQL(t) {
		series := promSeries(t, api, q)
		if title == "Resets/s by network namespace (top 10)" {
			found := false
			for _, s := range series {
				found = found || s["netns"] == ns.name
			}
			if !found {
				t.Errorf("dashboard panel %q: no series for netns %s in %v", title, ns.name, series)
			}
		}
	}
}

// promSeries runs an instant query and returns each result's labels; a
// query Prometheus refuses fails the test.
func promSeries(t *testing.T, api, q string) []map[string]string {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status, Error string
		Data          struct {
			Result []struct{ Metric map[string]string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Errorf("Prometheus refuses %s: %s %s %v", q, body.Status, body.Error, err)
		return nil
	}
	var out []map[string]string
	for _, r := range body.Data.Result {
		out = append(out, r.Metric)
	}
	return out
}

// vlQuery runs a LogsQL query over VictoriaLogs' HTTP API and returns the
// entries, one JSON object each.
func vlQuery(t *testing.T, api, q string) []map[string]string {
	t.Helper()
	resp, err := http.PostForm(api+"/select/logsql/query", url.Values{"query": {q}})
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("LogsQL %s: %s", q, resp.Status)
	}
	var out []map[string]string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e map[string]string
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("LogsQL answer line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// TestWatchLogStore: watch pushes its findings, over Loki's push API and as
// OTLP logs over HTTP, to a real log store on loopback: VictoriaLogs, which
// takes both protocols (Debian's package named loki is an unrelated genetics
// program, and Grafana Loki itself is not available to this project). The
// test makes five closed-port resets and reads them back with the store's
// query language: five entries per protocol, labelled with the node, cause
// and sender, each line the finding watch printed.
func TestWatchLogStore(t *testing.T) {
	testutil.RequireRoot(t)
	vl := testutil.LookTool(t, "victoria-logs", "go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@"+victoriaLogsVersion)
	ns := newRoleNS(t, "fleet-logs")
	web := freeAddr(t)
	startDaemon(t, vl, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+web,
		"-loki.disableMessageParsing", "-loggerLevel=WARN")
	api := "http://" + web
	waitUntil(t, "VictoriaLogs ready", 30*time.Second, func() bool {
		resp, err := http.Get(api + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	node := fmt.Sprintf("fleet-test-%d", os.Getpid())
	lw := startWatch(t, "--netns", ns.path(), "--node", node,
		"--loki-url", api+"/insert/loki/api/v1/push",
		"--otlp-url", api+"/insert/opentelemetry/v1/logs")
	const n = 5
	closedPortResets(t, ns, n)
	printed := map[string]bool{} // client address of each finding watch printed
	for i := range n {
		f := lw.expect(t, fmt.Sprintf("closed-port finding %d of %d", i+1, n), 5*time.Second, func(f report.Finding) bool {
			return f.Cause == cause.ClosedPort
		})
		printed[f.Client] = true
	}
	check := func(proto, q string, labels func(e map[string]string) (node, cause, sender string)) {
		t.Helper()
		var got []map[string]string
		waitUntil(t, proto+": "+strconv.Itoa(n)+" entries for "+q, 30*time.Second, func() bool {
			got = vlQuery(t, api, q)
			return len(got) >= n
		})
		if len(got) != n {
			t.Errorf("%s: %d entries, want %d", proto, len(got), n)
		}
		for _, e := range got {
			if gn, gc, gs := labels(e); gn != node || gc != "closed-port" || gs != "server" {
				t.Errorf("%s: labels node=%q cause=%q sender=%q, want %s, closed-port, server", proto, gn, gc, gs, node)
			}
			var f map[string]any
			if err := json.Unmarshal([]byte(e["_msg"]), &f); err != nil {
				t.Errorf("%s: message is not a JSON finding: %v: %q", proto, err, e["_msg"])
				continue
			}
			if c, _ := f["client"].(string); !printed[c] || f["cause"] != "closed-port" {
				t.Errorf("%s: finding for client %v cause %v, not one watch printed", proto, f["client"], f["cause"])
			}
		}
	}
	check("loki", fmt.Sprintf(`_stream:{job="rstscope",node=%q,cause="closed-port",sender="server"}`, node),
		func(e map[string]string) (string, string, string) { return e["node"], e["cause"], e["sender"] })
	check("otlp", fmt.Sprintf(`"host.name":=%q "service.name":="rstscope" cause:="closed-port"`, node),
		func(e map[string]string) (string, string, string) { return e["host.name"], e["cause"], e["sender"] })
}

// victoriaLogsVersion is the log store scripts/setup.sh builds for
// TestWatchLogStore (Apache 2.0; the newest the module proxy serves that
// builds with this Go).
const victoriaLogsVersion = "v1.52.1"

// TestSetupPinsVictoriaLogs: the version scripts/setup.sh builds is the one
// this file names in its skip message.
func TestSetupPinsVictoriaLogs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "scripts", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "victoria-logs@" + victoriaLogsVersion; !strings.Contains(string(b), want) {
		t.Errorf("scripts/setup.sh does not install %s", want)
	}
}
