package tasks

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// listReuse is how old a visibility pass a list may be answered from: a
// list asked within listReuse of the start of an identical pass (same
// visibility queries, so the same caller scope, filters and statuses)
// shares it, whether it is still running or done. A task that ended shows
// as running for at most this long after visibility knows (visibility
// itself trails the workflows by a few milliseconds). Clients polling the
// running tasks every 20 ms, or many clients polling the same list, then
// cost one pass per window instead of one each.
const listReuse = 50 * time.Millisecond

// listPassTimeout bounds a shared pass, which runs on after the caller
// that started it has gone while other lists wait for it; it is cancelled
// when the last list waiting for it leaves.
const listPassTimeout = 30 * time.Second

// maxListPasses bounds the passes remembered; past it, the finished ones
// are dropped.
const maxListPasses = 256

// maxSharedListPasses bounds the shared passes running at once on a
// replica (review 34 L3): a list that would start one more runs its pass
// unshared, on its own context (it ends when its caller leaves), as lists
// did before passes were shared.
const maxSharedListPasses = 32

// listShare holds the recent visibility passes of task lists by their
// queries, each until listReuse has passed since it began. A pass's tasks
// are copied out to each list, which filters, sorts and cuts its own copy.
type listShare struct {
	mu      sync.Mutex
	passes  map[string]*listPass
	running int              // shared passes not done
	now     func() time.Time // time.Now; a test's clock
}

// listPass is one visibility pass: done is closed when tasks and err are
// set. waiters, cancel and abandoned are guarded by listShare.mu.
type listPass struct {
	began time.Time
	done  chan struct{}
	tasks []Task
	err   error
	// waiters counts the lists waiting for the pass; the last to leave
	// before it is done cancels it (cancel) and marks it abandoned, so
	// that no later list shares it.
	waiters   int
	cancel    context.CancelFunc
	abandoned bool
}

// tasks runs pass for key, or shares a pass of key that began at most
// listReuse before now and did not fail.
func (ls *listShare) tasks(ctx context.Context, key string, pass func(context.Context) ([]*Task, error)) ([]*Task, error) {
	ls.mu.Lock()
	now := ls.clock()
	p := ls.passes[key]
	if p == nil || now.Sub(p.began) > listReuse || p.failed() || p.abandoned {
		if ls.running >= maxSharedListPasses {
			ls.mu.Unlock()
			return runListPass(ctx, pass)
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listPassTimeout)
		p = &listPass{began: now, done: make(chan struct{}), cancel: cancel}
		ls.keep(key, p)
		ls.running++
		go func() {
			defer cancel()
			all, err := runListPass(pctx, pass)
			p.tasks = make([]Task, len(all))
			for i, t := range all {
				p.tasks[i] = *t
			}
			p.err = err
			ls.mu.Lock()
			ls.running--
			ls.mu.Unlock()
			close(p.done)
			// A pass is let go once no list may share it any more, so an
			// idle server holds no task lists.
			time.AfterFunc(listReuse, ls.sweep)
		}()
	}
	p.waiters++
	ls.mu.Unlock()
	select {
	case <-p.done:
		ls.leave(p)
	case <-ctx.Done():
		ls.leave(p)
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	out := make([]*Task, len(p.tasks))
	for i := range p.tasks {
		t := p.tasks[i]
		out[i] = &t
	}
	return out, nil
}

// leave ends a list's wait for p: the last list to leave a pass still
// running cancels it.
func (ls *listShare) leave(p *listPass) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	p.waiters--
	if p.waiters > 0 {
		return
	}
	select {
	case <-p.done:
	default:
		p.abandoned = true
		p.cancel()
	}
}

// runListPass runs pass; a panic in it is its error (a shared pass runs
// outside the request's recovery, and must not end the process).
func runListPass(ctx context.Context, pass func(context.Context) ([]*Task, error)) (tasks []*Task, err error) {
	defer func() {
		if r := recover(); r != nil {
			tasks, err = nil, fmt.Errorf("list tasks: the visibility pass panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return pass(ctx)
}

// keep remembers p as key's newest pass, first dropping the finished
// passes when maxListPasses are held. Called with mu held.
func (ls *listShare) keep(key string, p *listPass) {
	if ls.passes == nil {
		ls.passes = map[string]*listPass{}
	}
	if len(ls.passes) >= maxListPasses {
		for k, old := range ls.passes {
			select {
			case <-old.done:
				delete(ls.passes, k)
			default:
			}
		}
	}
	ls.passes[key] = p
}

// sweep drops the finished passes no list may share any more.
func (ls *listShare) sweep() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	now := ls.clock()
	for k, p := range ls.passes {
		select {
		case <-p.done:
			if now.Sub(p.began) > listReuse {
				delete(ls.passes, k)
			}
		default:
		}
	}
}

func (ls *listShare) clock() time.Time {
	if ls.now != nil {
		return ls.now()
	}
	return time.Now()
}

// failed: the pass is done and failed (a failure is not shared with lists
// that come later).
func (p *listPass) failed() bool {
	select {
	case <-p.done:
		return p.err != nil
	default:
		return false
	}
}
