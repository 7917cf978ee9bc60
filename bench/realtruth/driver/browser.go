//go:build linux

package main

// Chromium headless (the Debian package) against the client-software nginx
// (clients.go): pages with many resources, a stop or a navigation mid-load,
// aborted downloads, a page polling a server whose keep-alive timeout
// equals its period, and preconnects never used. Each run is one browser
// with a profile of its own (removed after), kept off every other network
// by its flags and by the client's namespace, which routes nowhere else.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// browsers bounds the chromiums alive at once over every kind (2 cores).
var browsers = make(chan struct{}, 3)

// chromium runs one headless browser on url for at most life, then sends
// it SIGTERM (as a closed browser) and SIGKILL to what is left 3 s later.
func (d *driver) chromium(url string, life time.Duration, extra ...string) error {
	return d.chromiumSig(url, life, syscall.SIGTERM, nil, extra...)
}

// chromiumSig is chromium ended by sig after life or, when wait is set,
// once wait returns.
func (d *driver) chromiumSig(url string, life time.Duration, sig syscall.Signal, wait func(), extra ...string) error {
	browsers <- struct{}{}
	defer func() { <-browsers }()
	prof, err := os.MkdirTemp(filepath.Join(d.srvDir, "tmp"), "chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(prof)
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + prof,
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--no-default-browser-check", "--disable-extensions", "--disable-breakpad",
		"--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings", "--metrics-recording-only",
		"--disable-features=OptimizationHints,MediaRouter,DialMediaRouteProvider,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,NetworkTimeServiceQuerying",
		// No name resolves: only the servers' address literals are reachable.
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE " + d.addr4.String() + ", EXCLUDE " + d.addr6.String(),
		"--proxy-server=direct://", "--proxy-bypass-list=*"}
	// The TLS kinds' certificate is self-signed.
	args = append(append(args, "--ignore-certificate-errors"), extra...)
	cmd := exec.Command("chromium", append(args, url)...)
	// Downloads go to $HOME/Downloads: the profile, removed after.
	cmd.Env = append(os.Environ(), "HOME="+prof)
	return runCmdUntil(cmd, life, sig, wait)
}

// manyResources is a page of 60 images (8–64 KiB) under prefix.
func manyResources(prefix, script string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>many</title>" + script + "</head><body>\n")
	for j := range 60 {
		fmt.Fprintf(&b, "<img src=\"%sr/%d?v=%d\" width=1 height=1>\n", prefix, j, j)
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// browserPages are the pages the chromium kinds load (in html/cli).
var browserPages = map[string]string{
	"many.html":     manyResources("/cli/", ""),
	"slowmany.html": manyResources("/slow/", ""),
	// Navigates away 300–700 ms after it starts, its slow images in flight.
	"navigate.html": manyResources("/slow/", `<script>setTimeout(() => { location.href = "/cli/next.html"; }, 300 + Math.random() * 400);</script>`),
	// Starts a 16 MiB download (2 MiB/s) as a user's click would.
	"download.html": `<!doctype html><html><head><title>download</title></head><body>
<a id="dl" href="/dl/big" download="big.bin">download</a>
<script>document.getElementById("dl").click();</script></body></html>
`,
	// POSTs 2 MiB (a form's file, sent at once: browsers send no Expect)
	// to a server that refuses bodies over 1 KiB, twice, one after the other.
	"upload.html": `<!doctype html><html><head><title>upload</title><script>
const body = new Uint8Array(2 << 20);
fetch("/cli/up?1", {method: "POST", body: body, cache: "no-store"}).catch(() => {})
  .finally(() => fetch("/cli/up?2", {method: "POST", body: body, cache: "no-store"}).catch(() => {}));
</script></head><body>upload</body></html>
`,
	"next.html": "<!doctype html><html><head><title>next</title></head><body>next</body></html>\n",
	// Four 16 MiB downloads, each aborted (AbortController) after 200–800 ms
	// with the body unread.
	"abort.html": `<!doctype html><html><head><title>abort</title><script>
for (let j = 0; j < 4; j++) {
  const c = new AbortController();
  fetch("/cli/big?" + j, {signal: c.signal, cache: "no-store"}).catch(() => {});
  setTimeout(() => c.abort(), 200 + Math.random() * 600);
}
</script></head><body>abort</body></html>
`,
	// Polls every 950–1050 ms, at keepalive_timeout 1s.
	"poll.html": `<!doctype html><html><head><title>poll</title><script>
function poll() { fetch("/cli/small?" + Date.now(), {cache: "no-store"}).then(r => r.text()).catch(() => {}).finally(() => setTimeout(poll, 950 + Math.random() * 100)); }
poll();
</script></head><body>poll</body></html>
`,
	// Preconnects (plain and crossorigin) to a server that closes
	// connections idle 1 s before a request (client_header_timeout 1s);
	// with ?use, fetches from it 950–1050 ms later, as nginx closes them.
	"preconnect.html": `<!doctype html><html><head><title>preconnect</title><script>
const origin = "http://" + location.hostname + ":` + strconv.Itoa(cliResetIdle) + `";
for (const co of [false, true]) {
  const l = document.createElement("link");
  l.rel = "preconnect";
  l.href = origin;
  if (co) l.crossOrigin = "anonymous";
  document.head.appendChild(l);
}
if (location.search == "?use") setTimeout(() => {
  fetch(origin + "/cli/small?a", {mode: "no-cors", cache: "no-store"}).catch(() => {});
  fetch(origin + "/cli/small?b", {mode: "cors", cache: "no-store"}).catch(() => {});
}, 950 + Math.random() * 100);
</script></head><body>preconnect</body></html>
`,
}

// chromiumPageLoad: 60 resources over the browser's six connections,
// the DOM dumped at load and the browser closed.
func chromiumPageLoad(d *driver, k string, i int) error {
	return d.chromium(d.url(k, i, cliPageLoad, "/cli/many.html"), 20*time.Second, "--dump-dom")
}

// chromiumStopMidLoad: the same page served at 32 KiB/s per resource,
// stopped by --timeout after 400–900 ms (every load cancelled) and closed.
func chromiumStopMidLoad(d *driver, k string, i int) error {
	ms := 400 + d.rng(k, i).IntN(500)
	return d.chromium(d.url(k, i, cliSlow, "/cli/slowmany.html"), 20*time.Second, "--dump-dom", "--timeout="+strconv.Itoa(ms))
}

// chromiumNavigateAway: the slow page navigates to another 300–700 ms in;
// the browser is closed 2.5 s after it started.
func chromiumNavigateAway(d *driver, k string, i int) error {
	return d.chromium(d.url(k, i, cliNavigate, "/cli/navigate.html"), 2500*time.Millisecond)
}

// chromiumFetchAbort: four 16 MiB fetches aborted mid-body; closed after 2.5 s.
func chromiumFetchAbort(d *driver, k string, i int) error {
	return d.chromium(d.url(k, i, cliFetchAbort, "/cli/abort.html"), 2500*time.Millisecond)
}

// chromiumKeepalivePoll: a page polling every ~1 s a server whose
// keep-alive timeout is 1 s, for 6 s; the browser reuses its pooled
// connection as nginx closes it.
func chromiumKeepalivePoll(d *driver, k string, i int) error {
	return d.chromium(d.url(k, i, cliPoll, "/cli/poll.html"), 6*time.Second)
}

// chromiumPreconnect: two preconnected sockets that nginx closes when
// idle 1 s without a request; in odd runs never used, in even runs used
// 950–1050 ms after the page starts, as nginx closes them. The browser
// stays 3 s.
func chromiumPreconnect(d *driver, k string, i int) error {
	q := ""
	if i%2 == 0 {
		q = "?use"
	}
	return d.chromium(d.url(k, i, cliPreconnect, "/cli/preconnect.html"+q), 3*time.Second)
}

// chromiumDownloadClosed: a page starts a 16 MiB download served at
// 2 MiB/s; the browser is closed 1.5–2.5 s in, the download unfinished.
func chromiumDownloadClosed(d *driver, k string, i int) error {
	life := time.Duration(1500+d.rng(k, i).IntN(1000)) * time.Millisecond
	return d.chromium(d.url(k, i, cliDownload, "/cli/download.html"), life)
}

// chromiumTLSPageLoad: the 60-resource page over TLS and HTTP/2 (one
// connection), DOM dumped, browser closed.
func chromiumTLSPageLoad(d *driver, k string, i int) error {
	return d.chromium(d.url(k, i, cliTLSLoad, "/cli/many.html"), 20*time.Second, "--dump-dom")
}

// chromiumTLSNavigateAway: the slow page over TLS and HTTP/2, navigating
// away 300–700 ms in (its streams cancelled, the connection kept); closed
// at 2.5 s.
func chromiumTLSNavigateAway(d *driver, k string, i int) error {
	return d.chromium(d.url(k, i, cliTLSNav, "/cli/navigate.html"), 2500*time.Millisecond)
}

// chromiumKilled: the slow page, the browser SIGKILLed (a crash, an OOM
// kill) 300–800 ms after its first connection to the page's server, so
// that its start-up time does not decide whether anything is in flight:
// the kernel closes every socket it held. One run at a time (conc 1), so
// any connection to the port is this run's.
func chromiumKilled(d *driver, k string, i int) error {
	after := time.Duration(300+d.rng(k, i).IntN(500)) * time.Millisecond
	return d.chromiumSig(d.url(k, i, cliKilled, "/cli/slowmany.html"), 0, syscall.SIGKILL, func() {
		for range 500 {
			if connectedTo(cliKilled) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(after)
	})
}

// connectedTo says whether this namespace has an established TCP
// connection to remote port port (/proc/net/tcp and tcp6).
func connectedTo(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) > 3 && strings.HasSuffix(f[2], want) && f[3] == "01" {
				return true
			}
		}
	}
	return false
}

// chromiumUpload413: two 2 MiB POSTs to nginx's client_max_body_size 1k
// (lingering_close on, nginx's default); closed after 3 s.
func chromiumUpload413(d *driver, k string, i int) error {
	return d.chromium(d.url(k, i, cliUpload413, "/cli/upload.html"), 3*time.Second)
}
