package diagnose

import (
	"context"
	"runtime"
	"slices"
	"sync"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/sighting"
)

// captures is what several captures of one traffic say about each reset:
// the classifier gets it as cause.Context.Path, the finding as Sightings.
type captures struct {
	j     *sighting.Join
	files map[string]int // file name → position in the join
}

// lookup fills ctx.Path for the reset at frame of file and returns its
// sightings; both stay empty for a file that shares no connection.
func (c *captures) lookup(file string, frame uint64, ctx *cause.Context) []report.Sighting {
	if c == nil {
		return nil
	}
	s, ok := c.seen(file, frame)
	if !ok {
		return nil
	}
	ctx.Path = s.Path
	return s.Sightings
}

func (c *captures) seen(file string, frame uint64) (*sighting.Seen, bool) {
	i, ok := c.files[file]
	if !ok {
		return nil, false
	}
	return c.j.Lookup(i, frame)
}

// JoinCaptures prepares the analysis of several captures of the same
// traffic taken at different points: it indexes them (a first, decode-only
// pass), finds each connection in every capture, and returns options under
// which each reset is classified knowing what the other captures saw and
// the findings of one reset from several captures come out as one, listing
// every sighting. Call done once every file has been read: it emits the
// findings still waiting for a sighting that never came (a file that
// failed part-way). Captures that share no connection with another are
// analysed as before; so is everything when there is one file, standard
// input, or no finding callback.
func JoinCaptures(ctx context.Context, files []string, opts Options) (_ Options, done func()) {
	done = func() {}
	if len(files) < 2 || opts.NoClassify || opts.OnFinding == nil {
		return opts, done
	}
	idx := make([]*sighting.Index, len(files))
	pos := make(map[string]int, len(files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range files {
		if _, dup := pos[name]; dup || name == "-" {
			// Standard input cannot be read twice; a file named twice
			// would be its own twin.
			continue
		}
		pos[name] = i
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			// A damaged file's index holds what came before the damage;
			// the analysis reports the damage.
			idx[i], _ = sighting.IndexFile(ctx, name)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return opts, done // interrupted: the analysis reports it
	}
	j := sighting.Match(idx)
	if len(j.Groups) == 0 {
		return opts, done
	}
	c := &captures{j: j, files: pos}
	m := &merger{c: c, emit: opts.OnFinding, waiting: map[int][]report.Finding{}}
	opts.captures = c
	opts.OnFinding = m.add
	return opts, m.flush
}

// merger holds the findings of a reset seen in several captures until
// every capture's finding has come, and emits them as one.
type merger struct {
	c       *captures
	emit    func(report.Finding)
	mu      sync.Mutex
	waiting map[int][]report.Finding // by sighting.Seen.ID
}

func (m *merger) add(f report.Finding) {
	s, ok := m.c.seen(f.File, f.Frame)
	if !ok || len(s.Sightings) < 2 {
		m.emit(f)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w := append(m.waiting[s.ID], f)
	if len(w) < len(s.Sightings) {
		m.waiting[s.ID] = w
		return
	}
	delete(m.waiting, s.ID)
	m.emit(m.mergeSightings(w))
}

func (m *merger) flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]int, 0, len(m.waiting))
	for id := range m.waiting {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m.emit(m.mergeSightings(m.waiting[id]))
	}
	clear(m.waiting)
}

// mergeSightings makes one finding of one reset's findings from several
// captures. The verdict kept is the one that says most: a named cause
// before unknown, then the higher confidence, then the capture nearest the
// purported sender (it saw what the sender saw before resetting); where
// another capture's verdict differs, the evidence says so.
func (m *merger) mergeSightings(fs []report.Finding) report.Finding {
	best := 0
	for i := 1; i < len(fs); i++ {
		if m.better(&fs[i], &fs[best]) {
			best = i
		}
	}
	out := fs[best]
	for i := range fs {
		if i == best {
			continue
		}
		if o := &fs[i]; o.Cause != out.Cause || o.Sender != out.Sender {
			out.Evidence = append(slices.Clip(out.Evidence), o.File+" alone suggested "+string(o.Cause)+" by "+string(o.Sender))
		}
	}
	return out
}

func (m *merger) better(a, b *report.Finding) bool {
	if (a.Cause == cause.Unknown) != (b.Cause == cause.Unknown) {
		return b.Cause == cause.Unknown
	}
	if a.Confidence != b.Confidence {
		return a.Confidence > b.Confidence
	}
	if na, nb := m.nearestSender(a), m.nearestSender(b); na != nb {
		return na
	}
	// Otherwise the file named first: the findings arrive in whatever
	// order the files' analyses finish, and which copy's evidence and
	// frame a tie kept changed from run to run on two cores (seen by the
	// joincost2 helper on the bench capture and its shifted copy).
	return m.c.files[a.File] < m.c.files[b.File]
}

// nearestSender says no capture nearer the purported sender than f's holds
// the connection.
func (m *merger) nearestSender(f *report.Finding) bool {
	s, ok := m.c.seen(f.File, f.Frame)
	return ok && !s.Path.NearerSender
}
