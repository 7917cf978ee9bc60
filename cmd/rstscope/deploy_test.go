package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

// The manifests in deploy/ are checked here, in `make test`, without a
// cluster. kubeconform would check them against the Kubernetes JSON schemas,
// but it fetches those from the network, which this project's machines do
// not have; so each document is decoded strictly (unknown fields are errors)
// into the Kubernetes API's own Go types (k8s.io/api), and what the
// manifests say to rstscope is checked against rstscope itself.

// manifests splits a multi-document YAML file.
func manifests(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(s, "")
}

func TestDeployDaemonSet(t *testing.T) {
	path := filepath.Join(testutil.ModuleRoot(t), "deploy", "daemonset.yaml")
	var ds *appsv1.DaemonSet
	for i, doc := range manifests(t, path) {
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: document %d: %v", path, i+1, err)
		}
		var obj any
		switch meta.APIVersion + " " + meta.Kind {
		case "v1 Namespace":
			obj = &corev1.Namespace{}
		case "apps/v1 DaemonSet":
			ds = &appsv1.DaemonSet{}
			obj = ds
		default:
			t.Fatalf("%s: document %d: %s %s has no check here", path, i+1, meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Errorf("%s: document %d (%s): %v", path, i+1, meta.Kind, err)
		}
	}
	if ds == nil {
		t.Fatalf("%s: no DaemonSet", path)
	}
	spec := ds.Spec.Template.Spec
	if sel := ds.Spec.Selector; sel == nil || !labelsMatch(sel.MatchLabels, ds.Spec.Template.Labels) {
		t.Errorf("selector %v does not select the pod template's labels %v", sel, ds.Spec.Template.Labels)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	mounts := map[string]bool{}
	for _, v := range spec.Volumes {
		mounts[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !mounts[m.Name] {
			t.Errorf("volume mount %s names no volume", m.Name)
		}
	}
	// The args must be ones watch takes: parse them with watch's own flags,
	// $(VAR) expanded as the kubelet does from the container's env.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			env[e.Name] = "node-a"
		}
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = regexp.MustCompile(`\$\(([A-Z_]+)\)`).ReplaceAllStringFunc(a, func(m string) string {
			v, ok := env[m[2:len(m)-1]]
			if !ok {
				t.Errorf("arg %q: no env %s", a, m)
			}
			return v
		})
	}
	if len(args) == 0 || args[0] != "watch" {
		t.Fatalf("args %q, want watch first", args)
	}
	cmd := newWatchCmd()
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Errorf("watch refuses the DaemonSet's args %q: %v", args[1:], err)
	}
	var port int32
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			port = p.ContainerPort
		}
	}
	addr, _ := cmd.Flags().GetString("metrics-addr")
	if port == 0 || !strings.HasSuffix(addr, ":"+i32(port)) || ds.Spec.Template.Annotations["prometheus.io/port"] != i32(port) {
		t.Errorf("--metrics-addr %q, container port %d and scrape annotation %q disagree", addr, port, ds.Spec.Template.Annotations["prometheus.io/port"])
	}
	if node, _ := cmd.Flags().GetString("node"); node != "node-a" {
		t.Errorf("--node %q, want spec.nodeName", node)
	}
}

func i32(n int32) string { return strconv.Itoa(int(n)) }

func labelsMatch(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// servedMetrics is every metric watch can serve, with its label names,
// gathered from the render.Metrics watch registers (one of each part set).
func servedMetrics(t *testing.T) map[string]map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := render.NewMetrics(reg, "kernel", "capture")
	m.SetInfo("net_dev_queue", "btf")
	m.SetBuild("devel", "unknown", "go")
	m.AddSink("loki", func() render.SinkStats { return render.SinkStats{} })
	m.Observe(&report.Finding{Cause: cause.ClosedPort, Sender: cause.Server})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, mf := range mfs {
		labels := map[string]bool{"instance": true, "job": true} // added by the scrape
		for _, mt := range mf.Metric {
			for _, l := range mt.Label {
				labels[l.GetName()] = true
			}
		}
		out[mf.GetName()] = labels
	}
	return out
}

// grafanaVars replaces the dashboard's variables with what "All" and a
// short range make of them.
var grafanaVars = strings.NewReplacer(`$__rate_interval`, "1m", `$__range`, "1h", `"$instance"`, `".*"`, `"$netns"`, `".*"`, `"$cause"`, `".*"`)

// dashboardPromQL returns the dashboard's Prometheus queries by panel
// title, variables replaced.
func dashboardPromQL(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct {
				Expr       string
				Datasource struct{ Type string }
			}
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.Datasource.Type == "prometheus" {
				out[p.Title] = grafanaVars.Replace(tg.Expr)
			}
		}
	}
	return out
}

// TestDeployDashboard: every Prometheus query in the dashboard names a
// metric watch serves and only labels that metric has; every Loki query
// selects on labels the Loki push sets; and, where promtool is installed,
// every query parses as PromQL.
func TestDeployDashboard(t *testing.T) {
	path := filepath.Join(testutil.ModuleRoot(t), "deploy", "grafana-dashboard.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string
		Panels []struct {
			ID         int
			Title      string
			Datasource struct{ Type string }
			Targets    []struct {
				Expr       string
				Datasource struct{ Type string }
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	served := servedMetrics(t)
	lokiLabels := map[string]bool{"job": true, "node": true, "cause": true, "sender": true}
	ids := map[int]bool{}
	var promExprs []string
	metricRe := regexp.MustCompile(`\b(rstscope_[a-z_]+)(\{[^}]*\})?`)
	matcherRe := regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)`)
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			switch tg.Datasource.Type {
			case "prometheus":
				promExprs = append(promExprs, tg.Expr)
				found := metricRe.FindAllStringSubmatch(tg.Expr, -1)
				if len(found) == 0 {
					t.Errorf("panel %q: %s names no rstscope metric", p.Title, tg.Expr)
				}
				for _, f := range found {
					labels, ok := served[f[1]]
					if !ok {
						t.Errorf("panel %q: watch serves no %s", p.Title, f[1])
						continue
					}
					for _, m := range matcherRe.FindAllStringSubmatch(f[2], -1) {
						if !labels[m[1]] {
							t.Errorf("panel %q: %s has no label %s", p.Title, f[1], m[1])
						}
					}
				}
			case "loki":
				sel := regexp.MustCompile(`^\{([^}]*)\}`).FindStringSubmatch(tg.Expr)
				if sel == nil {
					t.Errorf("panel %q: %s is no LogQL stream selector", p.Title, tg.Expr)
					continue
				}
				for _, m := range matcherRe.FindAllStringSubmatch(sel[1], -1) {
					if !lokiLabels[m[1]] {
						t.Errorf("panel %q: pushed streams have no label %s", p.Title, m[1])
					}
				}
			default:
				t.Errorf("panel %q: datasource %q", p.Title, tg.Datasource.Type)
			}
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Logf("promtool not installed (Debian package prometheus): PromQL syntax not checked")
		return
	}
	// promtool checks PromQL in rule files: one recording rule per query,
	// Grafana's variables replaced by what they become.
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range promExprs {
		q, _ := json.Marshal(grafanaVars.Replace(e))
		rules.WriteString("      - record: dashboard:q" + strconv.Itoa(i) + "\n        expr: " + string(q) + "\n")
	}
	rf := filepath.Join(t.TempDir(), "rules.yml")
	os.WriteFile(rf, []byte(rules.String()), 0o644)
	if out, err := exec.Command(promtool, "check", "rules", rf).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s\n%s", err, out, rules.String())
	}
}
