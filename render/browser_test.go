package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/rstscope/rstscope/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/render"
)

// probeHead goes first in <head>: it records every error and every call
// to alert before the page's own script runs.
const probeHead = `<script>window.__probe={errors:[],alerts:0};addEventListener("error",function(e){__probe.errors.push(String(e.message))});` +
	`var __ce=console.error;console.error=function(){__probe.errors.push([].join.call(arguments," "));__ce.apply(console,arguments)};window.alert=function(){__probe.alerts++}</script>`

// probeTail drives the filters as a person would and writes what it saw
// into the DOM, where --dump-dom hands it back.
const probeTail = `<script>addEventListener("load",function(){var P=__probe,d=document;
function shown(){return [].slice.call(d.querySelectorAll(".group")).filter(function(g){return !g.hidden})}
function set(id,v){var s=d.getElementById(id);s.value=v;s.dispatchEvent(new Event("change"))}
P.groups=d.querySelectorAll(".group").length;P.overflow=d.documentElement.scrollWidth-d.documentElement.clientWidth;P.js=d.documentElement.className.indexOf("js")>=0;
set("f-cause","injected");P.cause=shown().map(function(g){return g.dataset.cause});
d.getElementById("f-clear").click();P.cleared=shown().length;
set("f-show","attention");P.attention=shown().map(function(g){return g.dataset.attention});
d.getElementById("f-clear").click();
var seg=d.querySelector("#timeline .bar rect");P.barCause=seg.getAttribute("data-cause");P.barSlice=seg.parentNode.dataset.slice;
seg.dispatchEvent(new MouseEvent("click",{bubbles:true}));
P.bar=shown().map(function(g){return {cause:g.dataset.cause,slices:g.dataset.slices}});
P.imgs=d.querySelectorAll("img").length;P.text=d.body.textContent;
var o=d.createElement("pre");o.id="probe";o.textContent=JSON.stringify(P);d.body.appendChild(o)})</script>`

type probe struct {
	Errors    []string
	Alerts    int
	Groups    int
	JS        bool
	Cause     []string
	Cleared   int
	Attention []string
	BarCause  string
	BarSlice  string
	Bar       []struct{ Cause, Slices string }
	Imgs      int
	Text      string
	Overflow  int // how far the page scrolls sideways
}

// TestBrowser loads the report of the sample, with a hostile reset added
// from a hand-written capture, in headless Chromium: no script errors, the
// filters and the timeline filter the groups, captured markup stays text.
func TestBrowser(t *testing.T) {
	chrome := testutil.LookTool(t, "chromium", "scripts/setup.sh installs it as root; without it the page is not tried in a browser")
	rep := analyze(t, sample)
	hostile := analyze(t, writeHostile(t))
	rep.Findings = append(rep.Findings, hostile.Findings...)
	rep.Summary.Files = append(rep.Summary.Files, hostile.Summary.Files...)
	rep.Tally()
	var b bytes.Buffer
	if err := render.HTMLPage(&b, rep, diagnose.Ladders(rep, diagnose.DefaultOptions)); err != nil {
		t.Fatal(err)
	}
	page := strings.Replace(b.String(), "<head>", "<head>"+probeHead, 1)
	page = strings.Replace(page, "</body>", probeTail+"</body>", 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1400,1000", "--dump-dom", "file://"+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.Bytes())
	}
	m := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the probe did not run: no result in the DOM\n%s", stderr.Bytes())
	}
	var p probe
	// --dump-dom serialises the text node: undo its escaping first.
	js := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&amp;", "&").Replace(string(m[1]))
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatalf("probe result: %v", err)
	}
	if p.Overflow > 0 {
		t.Errorf("the page scrolls sideways by %d px at 1400 px", p.Overflow)
	}
	if len(p.Errors) > 0 || p.Alerts > 0 {
		t.Errorf("script errors %q, %d alert() calls", p.Errors, p.Alerts)
	}
	if !p.JS || p.Groups == 0 {
		t.Fatalf("page script did not run (js %v) or no groups (%d)", p.JS, p.Groups)
	}
	if len(p.Cause) == 0 || strings.Join(p.Cause, " ") != strings.TrimSpace(strings.Repeat("injected ", len(p.Cause))) {
		t.Errorf("cause filter injected shows %v", p.Cause)
	}
	if p.Cleared != p.Groups {
		t.Errorf("after clear %d of %d groups shown", p.Cleared, p.Groups)
	}
	if len(p.Attention) == 0 || len(p.Attention) == p.Groups {
		t.Errorf("attention filter shows %d of %d groups", len(p.Attention), p.Groups)
	}
	for _, a := range p.Attention {
		if a == "0" {
			t.Errorf("attention filter shows a benign group")
		}
	}
	if len(p.Bar) == 0 {
		t.Errorf("clicking the bar of %s in slice %s shows nothing", p.BarCause, p.BarSlice)
	}
	for _, g := range p.Bar {
		if g.Cause != p.BarCause || !strings.Contains(" "+g.Slices+" ", " "+p.BarSlice+" ") {
			t.Errorf("clicking the bar of %s in slice %s shows %+v", p.BarCause, p.BarSlice, g)
		}
	}
	if p.Imgs != 0 {
		t.Errorf("captured markup made %d img elements", p.Imgs)
	}
	for _, want := range []string{`<img src=x onerror=alert(2)><script>alert(3)</script>`, `evil"><img src=x onerror=alert(4)>.pcap`} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
}
