//go:build linux

package main

// allKinds are the behaviours, with their connections at scale 100 (about
// 3 000 in all) and how many run at once. bench/realtruth/README.md says
// what each does and which kernel reasons it yielded.
var allKinds = []kind{
	// nginx
	{name: "nginx-keepalive", count: 250, conc: 8, run: nginxKeepalive, what: "Go net/http: three GETs on one keep-alive connection, client closes"},
	{name: "nginx-keepalive-timeout-race", count: 200, conc: 60, run: nginxKeepaliveRace, what: "second request sent 1 s ± 40 ms after the first, at keepalive_timeout 1s"},
	{name: "nginx-pipeline-keepalive-requests-1", count: 200, conc: 8, run: nginxPipeline, what: "three pipelined GETs to keepalive_requests 1"},
	{name: "nginx-413-lingering", count: 150, conc: 8, run: nginx413Linger, what: "64–256 KiB POST without Expect to client_max_body_size 1k (lingering_close on)"},
	{name: "nginx-413-lingering-off", count: 150, conc: 8, run: nginx413NoLinger, what: "the same to lingering_close off"},
	{name: "nginx-send-timeout-reset", count: 100, conc: 50, run: nginxSendTimeout, what: "16 MiB GET never read (8 KiB rcvbuf); send_timeout 1s, reset_timedout_connection on"},
	{name: "nginx-header-timeout-reset", count: 100, conc: 50, run: nginxHeaderTimeout, what: "headers never finished; client_header_timeout 1s, reset_timedout_connection on"},
	{name: "nginx-pipeline-lingering-off", count: 100, conc: 8, run: nginxPipelineNoLinger, what: "3–6 pipelined GETs of ≈ 700 bytes in one write to keepalive_requests 1, lingering_close off: one answer, the rest unread at the close"},
	{name: "nginx-client-abort-mid-response", count: 200, conc: 8, run: nginxClientAbort, what: "16 MiB GET, 4 KiB read, close"},
	// curl against nginx
	{name: "curl-keepalive", count: 100, conc: 4, run: curlKeepalive, what: "curl, three URLs on one connection"},
	{name: "curl-limit-rate-timeout", count: 100, conc: 8, run: curlLimitRateTimeout, what: "curl --limit-rate 500k -m 0.4 on 16 MiB"},
	{name: "curl-413-no-expect", count: 100, conc: 4, run: curl413NoExpect, what: "curl -H 'Expect:' --data-binary 200 KiB to lingering_close off"},
	{name: "curl-413-expect", count: 50, conc: 4, run: curl413Expect, what: "curl --data-binary 200 KiB (Expect: 100-continue) to lingering_close off"},
	// haproxy in front of nginx (or of a backend that never answers)
	{name: "haproxy-http-request-timeout", count: 100, conc: 50, run: haproxyRequestTimeout, what: "headers never finished; timeout http-request 500ms (408)"},
	{name: "haproxy-client-timeout", count: 100, conc: 50, run: haproxyClientTimeout, what: "16 MiB GET never read (8 KiB rcvbuf); timeout client 500ms"},
	{name: "haproxy-abortonclose", count: 100, conc: 30, run: haproxyAbortOnClose, what: "request to a silent backend, client closes after 100–300 ms; option abortonclose"},
	{name: "haproxy-tcp-reject", count: 150, conc: 8, run: haproxyReject, what: "tcp-request connection reject"},
	{name: "haproxy-silent-drop", count: 100, conc: 30, run: haproxySilentDrop, what: "http-request silent-drop; the client asks again after 300 ms"},
	{name: "haproxy-server-timeout", count: 50, conc: 50, run: haproxyServerTimeout, what: "backend never answers; timeout connect/server 500ms (503)"},
	{name: "haproxy-nolinger", count: 100, conc: 8, run: haproxyNoLinger, what: "GET with Connection: close through option nolinger: a 200, then SO_LINGER 0"},
	{name: "haproxy-deny-nolinger", count: 100, conc: 8, run: haproxyDenyNoLinger, what: "http-request deny (403) with option nolinger: SO_LINGER 0 after the whole request was read"},
	{name: "haproxy-pipeline-nolinger", count: 100, conc: 8, run: haproxyPipelineNoLinger, what: "three pipelined GETs in one write through option nolinger, the last with Connection: close: three 200s, then SO_LINGER 0 with nothing unread"},
	// redis
	{name: "redis-clean", count: 200, conc: 8, run: redisClean, what: "SET, GET, QUIT"},
	{name: "redis-timeout-idle", count: 150, conc: 75, run: redisIdleTimeout, what: "PING, 2–3 s idle at timeout 1, PING"},
	{name: "redis-maxclients", count: 150, conc: 8, run: redisMaxClientsReached, what: "PING at once to maxclients 1 (slot held)"},
	{name: "redis-client-kill-idle", count: 150, conc: 8, run: redisClientKillIdle, what: "CLIENT KILL ID of an idle client, which then sends PING"},
	{name: "redis-client-kill-busy", count: 100, conc: 8, run: redisClientKillBusy, what: "CLIENT KILL ID of a client streaming pipelined SETs"},
	{name: "redis-pipeline-quit", count: 100, conc: 8, run: redisPipelineQuit, what: "2–4 commands, QUIT and 32–64 KiB more SETs in one write: answers up to QUIT, the rest unread at the close"},
	{name: "redis-big-reply-abort", count: 150, conc: 8, run: redisBigReplyAbort, what: "GET of 1 MiB, 4 KiB read, close"},
	{name: "redis-restart-queued", count: 200, batch: redisRestartQueued, what: "server SIGSTOPped, 20 clients connect and PING, SIGKILL, restart (plus 2 idle clients per round: redis-killed-idle-client)"},
	{name: "redis-cli-subscribe-killed", count: 60, conc: 6, run: redisCLISubscribeKilled, what: "redis-cli SUBSCRIBE under a flood, output unread, SIGKILL after 300 ms"},
	{name: "redis-cli-blpop-killed", count: 40, conc: 6, run: redisCLIBlpopKilled, what: "redis-cli BLPOP waiting, SIGKILL after 200 ms"},
	// apache2 2.4, mpm_event
	{name: "apache-keepalive-timeout-race", count: 100, conc: 50, run: apacheKeepaliveRace, what: "second request sent 1 s ± 40 ms after the first, at KeepAliveTimeout 1"},
	{name: "apache-keepalive-stale", count: 150, conc: 75, run: apacheKeepaliveStale, what: "second request sent 3–4 s after the first, past KeepAliveTimeout 1 and the lingering close"},
	{name: "apache-header-timeout-late", count: 100, conc: 50, run: apacheHeaderTimeoutLate, what: "half the headers, the rest 3.2–4.2 s later; RequestReadTimeout header=1 (408)"},
	{name: "apache-body-timeout-late", count: 100, conc: 50, run: apacheBodyTimeoutLate, what: "POST with 200 bytes of its 1000-byte body, the rest 3.2–4.2 s later; RequestReadTimeout body=1 (408)"},
	{name: "apache-413-body", count: 50, conc: 8, run: apache413, what: "64–256 KiB POST without Expect to LimitRequestBody 1024"},
	{name: "apache-414-request-line", count: 50, conc: 8, run: apache414, what: "GET of a 2–16 KiB path to LimitRequestLine 512 (414)"},
	{name: "apache-graceful-keepalive", count: 100, batch: apacheGracefulKeepalive, what: "idle keep-alive connections through apachectl -k graceful; next request 2.2–3.2 s after"},
	{name: "apache-graceful-stop-download", count: 50, batch: apacheGracefulStop, what: "stalled 16 MiB downloads through apachectl -k graceful-stop (GracefulShutdownTimeout 1), then a restart (plus 4 connects per round during the stop: apache-connect-during-graceful-stop)"},
	// memcached 1.6
	{name: "memcached-idle-timeout", count: 150, conc: 75, run: memcachedIdleTimeout, what: "version, 2–3 s idle at -o idle_timeout=1, get"},
	{name: "memcached-maxconns", count: 150, conc: 8, run: memcachedMaxConnsReached, what: "version at once to a full server (-c 20, its 7 client slots held)"},
	{name: "memcached-line-too-long", count: 100, conc: 8, run: memcachedLineTooLong, what: "delete with a 16–64 KiB key and no line end (CLIENT_ERROR line too long)"},
	{name: "memcached-hung-restart", count: 100, batch: memcachedHungRestart, what: "memcached SIGSTOPped, 20 clients connect and send version, SIGKILL after 1.5–2.5 s, restart"},
	{name: "memcached-killed-loading", count: 100, batch: memcachedKilledLoading, what: "20 clients stream set … noreply; memcached SIGKILLed 100–300 ms in, restarted"},
	{name: "memcached-killed-idle", count: 100, batch: memcachedKilledIdle, what: "idle clients through a SIGKILL and restart; next command 50–300 ms after"},
	// PostgreSQL 15
	{name: "postgres-idle-session-timeout", count: 100, conc: 50, run: postgresIdleSessionTimeout, what: "SELECT 1, 2–3 s idle at idle_session_timeout 1s, SELECT 1"},
	{name: "postgres-auth-timeout", count: 100, conc: 50, run: postgresAuthTimeout, what: "SCRAM challenge answered 1.3–2.3 s late, at authentication_timeout 1s"},
	{name: "postgres-terminate-idle", count: 100, conc: 8, run: postgresTerminateIdle, what: "pg_terminate_backend of an idle session, which then sends a query"},
	{name: "postgres-terminate-copy", count: 60, conc: 4, run: postgresTerminateCopy, what: "pg_terminate_backend of a session streaming COPY FROM STDIN"},
	{name: "postgres-fast-shutdown", count: 100, batch: postgresFastShutdown, what: "idle sessions through pg_ctl stop -m fast and a restart; next query 50–300 ms after"},
	{name: "postgres-backend-crash", count: 100, batch: postgresBackendCrash, what: "idle sessions while another session's backend is SIGKILLed (the postmaster ends them all and restarts); next query 50–300 ms after"},
	// pgbouncer 1.18 in front of PostgreSQL
	{name: "pgbouncer-client-idle-timeout", count: 100, conc: 50, run: pgbouncerClientIdleTimeout, what: "SELECT 1, 2–3 s idle at client_idle_timeout 1, SELECT 1"},
	{name: "pgbouncer-server-terminated", count: 100, conc: 8, run: pgbouncerServerTerminated, what: "the server session behind a client in a transaction terminated (pg_terminate_backend); the client's next query 20–100 ms after"},
	{name: "pgbouncer-query-wait-timeout", count: 60, conc: 30, run: pgbouncerQueryWaitTimeout, what: "query waits for the pool's one held server connection; query_wait_timeout 1; a second query 1.2–1.7 s in"},
	// varnish 7.1 in front of an nginx of its own
	{name: "varnish-idle-timeout", count: 100, conc: 50, run: varnishIdleTimeout, what: "GET, 2–3 s idle at timeout_idle 1s, GET"},
	{name: "varnish-backend-killed", count: 50, batch: varnishBackendKilled, what: "16 MiB streamed through varnish from a 2 MB/s backend, which is SIGKILLed 400–700 ms in"},
	// haproxy 2.6 as the client (hbproxy.go): in the client's namespace with option nolinger on
	// its backends, in front of an nginx of its own; curl asks it over the loopback. count is
	// curl runs; the connections are haproxy's to nginx, logged by a SYN watch.
	{name: "hbproxy-server-close", count: 100, batch: hbproxyServerClose, what: "haproxy (client side) with http-server-close, http-reuse never, option nolinger: SO_LINGER 0 after each response read (nginx's FIN races it: Connection: close)"},
	{name: "hbproxy-reuse-never", count: 100, batch: hbproxyReuseNever, what: "haproxy (client side) with keep-alive, http-reuse never, option nolinger: SO_LINGER 0 when curl closes its connection"},
	{name: "hbproxy-idle-purge", count: 100, batch: hbproxyIdlePurge, what: "haproxy (client side) with http-reuse safe, option nolinger: idle pooled connections purged (pool-purge-delay 1s)"},
	// real client software (clients.go, browser.go): each kind's connections are the SYNs to
	// its own ports on a second nginx, logged by a tcpdump of its own; count is runs, not
	// connections (a browser makes several). Run only when named (-k clients: all of them),
	// never in the root test: minutes of chromium on both cores.
	{name: "chromium-page-load", count: 20, batch: watched("chromium-page-load", []int{cliPageLoad}, 3, chromiumPageLoad), what: "chromium headless: a page of 60 resources (six connections), DOM dumped, browser closed", optIn: true},
	{name: "chromium-stop-mid-load", count: 20, batch: watched("chromium-stop-mid-load", []int{cliSlow}, 3, chromiumStopMidLoad), what: "chromium: the same page at limit_rate 32k, stopped by --timeout 400–900 ms, closed", optIn: true},
	{name: "chromium-navigate-away", count: 20, batch: watched("chromium-navigate-away", []int{cliNavigate}, 3, chromiumNavigateAway), what: "chromium: the slow page navigates away 300–700 ms in; closed at 2.5 s", optIn: true},
	{name: "chromium-fetch-abort", count: 20, batch: watched("chromium-fetch-abort", []int{cliFetchAbort}, 3, chromiumFetchAbort), what: "chromium: four 16 MiB fetches aborted (AbortController) after 200–800 ms", optIn: true},
	{name: "chromium-keepalive-poll", count: 15, batch: watched("chromium-keepalive-poll", []int{cliPoll}, 3, chromiumKeepalivePoll), what: "chromium: a page polling every ~1 s at keepalive_timeout 1s, for 6 s", optIn: true},
	{name: "chromium-preconnect", count: 20, batch: watched("chromium-preconnect", []int{cliPreconnect, cliResetIdle}, 3, chromiumPreconnect), what: "chromium: two preconnects to client_header_timeout 1s, never used (odd runs) or used 950–1050 ms in (even)", optIn: true},
	{name: "chromium-download-closed", count: 20, batch: watched("chromium-download-closed", []int{cliDownload}, 3, chromiumDownloadClosed), what: "chromium: a 16 MiB download at 2 MiB/s, browser closed 1.5–2.5 s in", optIn: true},
	{name: "chromium-tls-page-load", count: 20, batch: watched("chromium-tls-page-load", []int{cliTLSLoad}, 3, chromiumTLSPageLoad), what: "chromium: the 60-resource page over TLS + HTTP/2, DOM dumped, closed", optIn: true},
	{name: "chromium-tls-navigate-away", count: 20, batch: watched("chromium-tls-navigate-away", []int{cliTLSNav}, 3, chromiumTLSNavigateAway), what: "chromium: the slow page over TLS + HTTP/2 navigates away 300–700 ms in; closed at 2.5 s", optIn: true},
	{name: "chromium-killed", count: 20, batch: watched("chromium-killed", []int{cliKilled}, 1, chromiumKilled), what: "chromium: the slow page, browser SIGKILLed 300–800 ms after its first connection", optIn: true},
	{name: "chromium-upload-413", count: 20, batch: watched("chromium-upload-413", []int{cliUpload413}, 3, chromiumUpload413), what: "chromium: two 2 MiB fetch POSTs to client_max_body_size 1k (lingering_close on)", optIn: true},
	{name: "wget-interrupted", count: 60, batch: watched("wget-interrupted", []int{cliWgetKill}, 4, wgetInterrupted), what: "wget --limit-rate=300k on 16 MiB, SIGINT after 300–800 ms", optIn: true},
	{name: "wget-read-timeout", count: 40, batch: watched("wget-read-timeout", []int{cliWgetTmo}, 10, wgetReadTimeout), what: "wget -T 1 -t 2 on a request nginx's upstream never answers", optIn: true},
	{name: "ab-keepalive-time-limit", count: 20, batch: watched("ab-keepalive-time-limit", []int{cliAB}, 2, abKeepaliveTimeLimit), what: "ab -k -c 6 -t 1 on 256 KiB: stops with requests in flight", optIn: true},
	{name: "python-urllib-partial", count: 60, batch: watched("python-urllib-partial", []int{cliPyPartial}, 6, pyURLLibPartial), what: "python3 urllib reads 64 KiB of 16 MiB and exits", optIn: true},
	{name: "python-stale-keepalive", count: 60, batch: watched("python-stale-keepalive", []int{cliPyStale}, 20, pyStaleKeepalive), what: "python3 http.client: second GET 1 s ± 50 ms after the first at keepalive_timeout 1s", optIn: true},
	{name: "h2load-duration", count: 20, batch: watched("h2load-duration", []int{cliH2}, 2, h2loadDuration), what: "h2load, cleartext HTTP/2: 4 connections × 10 streams for 1 s of 64 KiB, stops mid-stream", optIn: true},
}
