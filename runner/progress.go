package runner

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// Reporter shows a run's progress: a bar redrawn in place on a terminal
// (NewTerminalReporter), plain log lines elsewhere (NewLogReporter).
type Reporter interface {
	// StageStart: stage i of n starts, estimated to take est, with after
	// estimated for the unfinished stages behind it.
	StageStart(i, n int, s *Stage, est, after time.Duration)
	StageCached(i, n int, s *Stage)
	StageWaiting(s *Stage, pid int)
	Update(s *Stage, u Update)
	StageDone(s *Stage, m *Manifest)
	StageFailed(s *Stage, err error)
	Printf(format string, args ...any)
	Close()
}

// NewReporter picks bars when w is a terminal, log lines otherwise.
func NewReporter(w io.Writer) Reporter {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb" {
			return NewTerminalReporter(w)
		}
	}
	return NewLogReporter(w)
}

// stageClock tracks the running stage for ETAs.
type stageClock struct {
	i, n    int
	s       *Stage
	start   time.Time
	est     time.Duration
	after   time.Duration
	last    Update
	lastOut time.Time
}

// fraction is how much of the stage is done, from its last update.
func (c *stageClock) fraction() float64 {
	u := c.last
	if u.Epochs <= 0 {
		return 0
	}
	f := float64(u.Epoch-1) / float64(u.Epochs)
	if u.Steps > 0 {
		f += float64(u.Step) / float64(u.Steps) / float64(u.Epochs)
	}
	return math.Min(math.Max(f, 0), 1)
}

// eta is the stage's time left: extrapolated from its progress once there
// is some, else the estimate minus the time spent.
func (c *stageClock) eta() time.Duration {
	el := time.Since(c.start)
	if f := c.fraction(); f > 0.02 {
		return time.Duration(float64(el) * (1 - f) / f)
	}
	return max(c.est-el, 0)
}

func (c *stageClock) prefix() string {
	width := len(fmt.Sprint(c.n))
	return fmt.Sprintf("[%*d/%d] %s", width, c.i+1, c.n, c.s.Label)
}

func (c *stageClock) details() string {
	u := c.last
	var parts []string
	if u.Phase != "" && u.Epochs == 0 {
		parts = append(parts, u.Phase)
	}
	if u.Epochs > 0 {
		parts = append(parts, fmt.Sprintf("%s %d/%d", orDefault(u.Phase, "epoch"), u.Epoch, u.Epochs))
	}
	if u.TokensPerS > 0 {
		parts = append(parts, humanRate(u.TokensPerS)+" tok/s")
	}
	if u.Loss != 0 && !math.IsNaN(u.Loss) {
		parts = append(parts, fmt.Sprintf("loss %.3f", u.Loss))
	}
	parts = append(parts, "ETA "+shortDuration(c.eta()))
	if c.after > 0 {
		parts = append(parts, "all "+shortDuration(c.eta()+c.after))
	}
	return strings.Join(parts, "  ")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// terminalReporter redraws one status line.
type terminalReporter struct {
	mu    sync.Mutex
	w     io.Writer
	clock *stageClock
	shown bool
}

// NewTerminalReporter draws a progress bar on w, a terminal.
func NewTerminalReporter(w io.Writer) Reporter { return &terminalReporter{w: w} }

// width is the terminal's width, 0 when unknown.
func (r *terminalReporter) width() int {
	if f, ok := r.w.(*os.File); ok {
		return termWidth(f)
	}
	return 0
}

func (r *terminalReporter) clear() {
	if r.shown {
		fmt.Fprint(r.w, "\r\033[K")
		r.shown = false
	}
}

func (r *terminalReporter) draw() {
	c := r.clock
	if c == nil {
		return
	}
	const width = 24
	f := c.fraction()
	filled := int(f * width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	line := fmt.Sprintf("%s %s %3.0f%%  %s", c.prefix(), bar, 100*f, c.details())
	if width := r.width(); width > 1 {
		// A line longer than the terminal wraps, and "\r" would then
		// redraw only its last part: cut it.
		if runes := []rune(line); len(runes) > width-1 {
			line = string(runes[:width-1])
		}
	}
	r.clear()
	fmt.Fprint(r.w, line)
	r.shown = true
	c.lastOut = time.Now()
}

func (r *terminalReporter) StageStart(i, n int, s *Stage, est, after time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock = &stageClock{i: i, n: n, s: s, start: time.Now(), est: est, after: after}
	r.draw()
}

func (r *terminalReporter) StageCached(i, n int, s *Stage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	c := &stageClock{i: i, n: n, s: s}
	fmt.Fprintf(r.w, "%s  cached\n", c.prefix())
}

func (r *terminalReporter) StageWaiting(s *Stage, pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	fmt.Fprintf(r.w, "waiting for %s to finish %s\n", holder(pid), s.Label)
}

func (r *terminalReporter) Update(s *Stage, u Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clock == nil || r.clock.s != s {
		return
	}
	r.clock.last = u
	if time.Since(r.clock.lastOut) > 100*time.Millisecond {
		r.draw()
	}
}

func (r *terminalReporter) StageDone(s *Stage, m *Manifest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	if r.clock != nil {
		fmt.Fprintf(r.w, "%s  done in %s%s\n", r.clock.prefix(), shortDuration(time.Duration(m.WallSeconds*float64(time.Second))), rateNote(m))
	}
	r.clock = nil
}

func (r *terminalReporter) StageFailed(s *Stage, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	if r.clock != nil {
		fmt.Fprintf(r.w, "%s  FAILED after %s\n", r.clock.prefix(), shortDuration(time.Since(r.clock.start)))
	}
	r.clock = nil
}

func (r *terminalReporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	fmt.Fprintf(r.w, format, args...)
	r.draw()
}

func (r *terminalReporter) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
}

// logReporter writes a line per event, and per epoch or half minute while
// a stage runs.
type logReporter struct {
	mu    sync.Mutex
	w     io.Writer
	clock *stageClock
}

// NewLogReporter writes plain, timestamped log lines to w.
func NewLogReporter(w io.Writer) Reporter { return &logReporter{w: w} }

func (r *logReporter) logf(format string, args ...any) {
	fmt.Fprintf(r.w, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (r *logReporter) StageStart(i, n int, s *Stage, est, after time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock = &stageClock{i: i, n: n, s: s, start: time.Now(), est: est, after: after, lastOut: time.Now()}
	r.logf("%s  start (estimate %s; all %s)", r.clock.prefix(), shortDuration(est), shortDuration(est+after))
}

func (r *logReporter) StageCached(i, n int, s *Stage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &stageClock{i: i, n: n, s: s}
	r.logf("%s  cached", c.prefix())
}

func (r *logReporter) StageWaiting(s *Stage, pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logf("waiting for %s to finish %s", holder(pid), s.Label)
}

func (r *logReporter) Update(s *Stage, u Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.clock
	if c == nil || c.s != s {
		return
	}
	epochEnded := u.Epoch != c.last.Epoch && c.last.Epoch != 0
	c.last = u
	if epochEnded || time.Since(c.lastOut) > 30*time.Second {
		c.lastOut = time.Now()
		r.logf("%s  %s", c.prefix(), c.details())
	}
}

func (r *logReporter) StageDone(s *Stage, m *Manifest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clock != nil {
		r.logf("%s  done in %s%s", r.clock.prefix(), shortDuration(time.Duration(m.WallSeconds*float64(time.Second))), rateNote(m))
	}
	r.clock = nil
}

func (r *logReporter) StageFailed(s *Stage, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clock != nil {
		r.logf("%s  FAILED after %s", r.clock.prefix(), shortDuration(time.Since(r.clock.start)))
	}
	r.clock = nil
}

func (r *logReporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format, args...)
}

func (r *logReporter) Close() {}

func holder(pid int) string {
	if pid > 0 {
		return fmt.Sprintf("another runner (pid %d)", pid)
	}
	return "another runner"
}

func rateNote(m *Manifest) string {
	if m.TokensPerS > 0 {
		return fmt.Sprintf(" (%s tok/s)", humanRate(m.TokensPerS))
	}
	return ""
}

func humanRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// shortDuration prints 45s, 3m20s, 2h05m.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "<1s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
