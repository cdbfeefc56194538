// Package jobs runs one plan with several runners on one machine ('ulmfit
// run --jobs N'): this process is the first runner; the others are copies
// of the program started once the plan is made. Each runs on its share of
// the cores (GOMAXPROCS and OpenBLAS threads) and passes over the stages
// another is building, so they build different stages at once: small models
// do not keep two cores busy, and two one-thread runners get more done than
// one with two. Progress lines carry the job's number; the first runner
// writes any record left and prints the tables once every stage is done.
package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/runner"
)

// Threads is the cores each of n runners gets: the machine's shared out,
// at least one.
func Threads(n int) int { return max(1, runtime.NumCPU()/n) }

// Options are a run of N runners.
type Options struct {
	Runner runner.Options // the first runner's, run in this process
	N      int            // runners in all, this one included
	// Command starts another runner of the same plan: a program and its
	// arguments (this binary's 'run' with the same flags, but --jobs).
	Command []string
}

// Run runs o.Runner in this process and o.N-1 other runners once the plan
// is made, and waits for them all. If this process's run fails, the others
// are asked to stop, as after Ctrl-C; the error names each runner that
// failed.
func Run(ctx context.Context, o Options) error {
	ro := o.Runner
	stderr := ro.Stderr
	threads := Threads(o.N)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	defer compute.SetBLASThreads(compute.SetBLASThreads(threads))
	var mu sync.Mutex // one line at a time on stderr, whoever writes it
	first := &prefixWriter{w: stderr, mu: &mu, prefix: "[job 1] "}
	ro.Reporter = runner.NewLogReporter(first)
	jobs := &jobSet{}
	ro.OnStart = func() error {
		fmt.Fprintf(first, "%d runners, %d thread(s) each\n", o.N, threads)
		for k := 2; k <= o.N; k++ {
			cmd := exec.Command(o.Command[0], o.Command[1:]...)
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(threads), "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads))
			cmd.Stdout = io.Discard // this process prints the tables
			cmd.Stderr = &prefixWriter{w: stderr, mu: &mu, prefix: fmt.Sprintf("[job %d] ", k)}
			if err := jobs.start(ctx, k, cmd); err != nil {
				return err
			}
		}
		return nil
	}
	runErr := runner.Run(ctx, ro)
	first.Flush()
	if runErr != nil {
		jobs.interrupt() // this run failed: the others stop too, as after Ctrl-C
	}
	return errors.Join(runErr, jobs.wait())
}

// jobSet is the runners this process started.
type jobSet struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
	ids  []int
	errs []chan error
}

// start starts cmd as job k; ctx's end asks it to stop as Ctrl-C does.
func (j *jobSet) start(ctx context.Context, k int, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("--jobs: starting runner %d: %w", k, err)
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Signal(os.Interrupt) })
	errc := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		stop()
		if pw, ok := cmd.Stderr.(*prefixWriter); ok {
			pw.Flush()
		}
		errc <- err
	}()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cmds, j.ids, j.errs = append(j.cmds, cmd), append(j.ids, k), append(j.errs, errc)
	return nil
}

// interrupt asks every runner to stop, as Ctrl-C does: each keeps its
// finished stages and LM epochs for the next run.
func (j *jobSet) interrupt() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range j.cmds {
		c.Process.Signal(os.Interrupt)
	}
}

// wait waits for every runner and says which failed.
func (j *jobSet) wait() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	for i, errc := range j.errs {
		if err := <-errc; err != nil {
			errs = append(errs, fmt.Errorf("runner %d (pid %d): %w (its lines above start [job %d])", j.ids[i], j.cmds[i].Process.Pid, err, j.ids[i]))
		}
	}
	return errors.Join(errs...)
}

// prefixWriter writes whole lines to w, each after prefix, holding mu
// for each so that runners' lines do not interleave.
type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// Flush writes a last line without its newline.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
