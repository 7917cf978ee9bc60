package main

import "github.com/rstscope/rstscope/diagnose"

// watch -i IFACE runs analyze's packet analyzer on the interface beside the
// kernel's events.
func init() { watchPackets = diagnose.WatchInterface }
