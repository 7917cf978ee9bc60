//go:build linux

package main

import (
	"sync"
	"time"
)

// round is one of the kinds that act on a server while a round of clients
// holds connections to it (kill it, stop it, restart it, reload it).
type round struct {
	// before, when given, runs before the round's clients start.
	before func(round int) error
	// client is the client numbered i. It calls connected once it holds
	// what the round acts on (its return counts as connected too), and
	// may wait on acted, closed when act has returned. An error counts
	// as one of the kind's client-side errors.
	client func(i int, connected func(), acted <-chan struct{}) error
	// act runs once every client of the round is connected; the round's
	// error stops the kind, after the clients have returned.
	act func(round int) error
	// after, when given, runs once every client has returned and act
	// succeeded (starting the server again).
	after func(round int) error
	// pause is the wait after each round, 200 ms when zero.
	pause time.Duration
}

// rounds runs kind k's n clients in rounds of perRound: the round's
// clients start at once, act waits until all are connected (a fixed wait
// was too short under load), then each goes on.
func (d *driver) rounds(k string, n, perRound int, r round) error {
	pause := r.pause
	if pause == 0 {
		pause = 200 * time.Millisecond
	}
	for rd := 0; rd*perRound < n; rd++ {
		if r.before != nil {
			if err := r.before(rd); err != nil {
				return err
			}
		}
		m := min(perRound, n-rd*perRound)
		acted := make(chan struct{})
		var up, wg sync.WaitGroup
		up.Add(m)
		for j := range m {
			i := rd*perRound + j
			wg.Add(1)
			go func() {
				defer wg.Done()
				connected := sync.OnceFunc(up.Done)
				defer connected()
				if err := r.client(i, connected, acted); err != nil {
					d.count(k).errs.Add(1)
				}
			}()
		}
		up.Wait()
		err := r.act(rd)
		close(acted)
		wg.Wait()
		if err == nil && r.after != nil {
			err = r.after(rd)
		}
		if err != nil {
			return err
		}
		time.Sleep(pause)
	}
	return nil
}
