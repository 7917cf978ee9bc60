// Package realtruth is the truth harness's test set from real server
// software: mkrealtruth.sh runs nginx, haproxy and redis (the Debian
// packages) in a network namespace and drives them from another with real
// clients (curl, redis-cli) and a Go driver that speaks their protocols
// (driver/), recording the capture, the scenario of every connection and
// the kernel's reason for every reset in the files bench/mktruth.sh makes,
// so bench/truth scores analyze on it unchanged. The package holds only its
// root test; README.md has the kinds and the measured figures.
package realtruth
