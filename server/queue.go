package server

import (
	"container/list"
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// DefaultMaxSigningWait is how long a token request may wait for a signing
// worker unless configured otherwise: far above the wait of a busy but
// healthy server (64 clients on 2 cores wait some 50 ms), short enough
// that a client told to come back has not already given up.
const DefaultMaxSigningWait = 250 * time.Millisecond

// SigningQueueConfig configures a [SigningQueue].
type SigningQueueConfig struct {
	// Workers is how many signatures run at once. RSA signing is CPU
	// work: more workers than cores only make every request slower. For a
	// signer whose work is elsewhere (a KMS, an HSM), it is the calls at
	// once that the signer takes. Zero: one per core, runtime.NumCPU()
	// or GOMAXPROCS if fewer (a GOMAXPROCS raised past the cores, for C
	// calls that hold their thread, gives no more).
	Workers int
	// MaxWait bounds a request's wait for a worker. A request whose wait
	// would exceed it is turned away at once, and one that has waited that
	// long leaves. Zero: DefaultMaxSigningWait.
	MaxWait time.Duration
	// Observer, when set, is told what the queue does; the [Server]'s
	// /metrics is one.
	Observer QueueObserver
}

// QueueObserver hears what a [SigningQueue] does. Its methods are called
// outside the queue's lock and must be quick and safe for concurrent use.
type QueueObserver interface {
	// QueueWaiting is called with +1 when a request starts to wait for a
	// worker and -1 when it stops waiting.
	QueueWaiting(delta int)
	// QueueLeft is called once per request when the queue has decided on
	// it, with how long it waited.
	QueueLeft(wait time.Duration, outcome QueueOutcome)
}

// QueueOutcome is how a request left a [SigningQueue].
type QueueOutcome int

const (
	// QueueAdmitted is a request that got a worker.
	QueueAdmitted QueueOutcome = iota
	// QueueShed is a request turned away: its wait would pass, or passed,
	// MaxWait.
	QueueShed
	// QueueCancelled is a request whose context ended first (its client
	// left).
	QueueCancelled
)

// String names the outcome, in lowercase.
func (o QueueOutcome) String() string {
	switch o {
	case QueueAdmitted:
		return "admitted"
	case QueueShed:
		return "shed"
	case QueueCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("QueueOutcome(%d)", int(o))
}

// OverloadError is what [SigningQueue.Acquire] returns for a request it
// turns away: come back after RetryAfter.
type OverloadError struct {
	// RetryAfter is when the queue expects to have room again: at least a
	// second, the unit of an HTTP Retry-After.
	RetryAfter time.Duration
}

func (e *OverloadError) Error() string {
	return fmt.Sprintf("signing queue full: retry after %v", e.RetryAfter)
}

// SigningQueue admits signing work a few requests at a time (about one
// per core) and lets the others wait in arrival order, each for a bounded
// time. Without it every request signs at once: under overload they all
// share the cores, and every one of them is slow. With it the cores sign
// one token after another at full speed, the wait is short and steady,
// and a request that would wait too long is told so at once (an
// [*OverloadError]), not after it. Generating a key is RSA work too, of
// dozens of signatures: it takes its turn in the same line
// ([SigningQueue.AcquireKeyGeneration]), one at a time, and the wait the
// queue foresees counts it at its own cost. It is safe for concurrent use.
type SigningQueue struct {
	workers int
	maxWait time.Duration
	obs     QueueObserver
	now     func() time.Time // measures turns and waits; a test's clock

	mu      sync.Mutex
	running [kinds]int           // workers busy, by kind of work
	waiting list.List            // of *waiter, oldest first
	queued  [kinds]int           // the waiters, by kind of work
	avg     [kinds]time.Duration // a moving average of a turn's length, by kind
	seen    [kinds]bool          // whether avg is of turns seen, or a first guess
}

// kind is a kind of work a turn does.
type kind int

const (
	signing kind = iota
	keyGeneration
	kinds
)

// initialKeyGeneration is what the queue expects a key generation to take
// until it has seen one: RSA-2048 takes some 50 to 200 ms of a core.
const initialKeyGeneration = 100 * time.Millisecond

type waiter struct {
	ready    chan struct{} // closed when the waiter is given a worker
	admitted bool          // under mu
	kind     kind
	elem     *list.Element
}

// NewSigningQueue returns a queue configured by cfg.
func NewSigningQueue(cfg SigningQueueConfig) (*SigningQueue, error) {
	switch {
	case cfg.Workers < 0:
		return nil, fmt.Errorf("signing queue: Workers %d is negative", cfg.Workers)
	case cfg.Workers == 0:
		cfg.Workers = min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	}
	switch {
	case cfg.MaxWait < 0:
		return nil, fmt.Errorf("signing queue: MaxWait %v is negative", cfg.MaxWait)
	case cfg.MaxWait == 0:
		cfg.MaxWait = DefaultMaxSigningWait
	}
	q := &SigningQueue{workers: cfg.Workers, maxWait: cfg.MaxWait, obs: cfg.Observer, now: time.Now}
	q.avg[keyGeneration] = initialKeyGeneration
	return q, nil
}

// Workers returns how many signatures run at once.
func (q *SigningQueue) Workers() int { return q.workers }

// MaxWait returns the longest a request waits for a worker.
func (q *SigningQueue) MaxWait() time.Duration { return q.maxWait }

// Waiting returns how many requests wait for a worker.
func (q *SigningQueue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting.Len()
}

// Acquire waits for a worker to sign, in arrival order. It returns a
// release function to call once the work is done (exactly once), or an
// [*OverloadError] when the wait would exceed MaxWait or has reached it,
// or ctx's error when ctx ends first; then there is nothing to release.
func (q *SigningQueue) Acquire(ctx context.Context) (release func(), err error) {
	return q.acquire(ctx, signing)
}

// AcquireKeyGeneration is [SigningQueue.Acquire] for a key's generation:
// the same line, the same bound, and a turn whose cost (a moving average
// of the generations seen) the waits foreseen by those behind it count.
// One key is generated at a time: while one is, or waits, another is
// turned away at once (an [*OverloadError]), so that a flood of keys to
// make holds one worker at most, and the others go on signing tokens.
func (q *SigningQueue) AcquireKeyGeneration(ctx context.Context) (release func(), err error) {
	return q.acquire(ctx, keyGeneration)
}

func (q *SigningQueue) acquire(ctx context.Context, k kind) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		q.left(0, QueueCancelled)
		return nil, err
	}
	q.mu.Lock()
	if k == keyGeneration && q.running[k]+q.queued[k] > 0 {
		wait := q.avg[keyGeneration]
		q.mu.Unlock()
		q.left(0, QueueShed)
		return nil, &OverloadError{RetryAfter: retryAfter(wait)}
	}
	if q.busy() < q.workers && q.waiting.Len() == 0 {
		q.running[k]++
		q.mu.Unlock()
		q.left(0, QueueAdmitted)
		return q.releaser(k, q.now()), nil
	}
	if wait := q.expectedWait(q.avg[signing]); wait > q.maxWait {
		q.mu.Unlock()
		q.left(0, QueueShed)
		return nil, &OverloadError{RetryAfter: retryAfter(wait)}
	}
	w := &waiter{ready: make(chan struct{}), kind: k}
	w.elem = q.waiting.PushBack(w)
	q.queued[k]++
	q.mu.Unlock()

	start := q.now()
	if q.obs != nil {
		q.obs.QueueWaiting(+1)
		defer q.obs.QueueWaiting(-1)
	}
	timer := time.NewTimer(q.maxWait)
	defer timer.Stop()
	outcome := QueueAdmitted
	select {
	case <-w.ready:
	case <-ctx.Done():
		outcome = QueueCancelled
	case <-timer.C:
		outcome = QueueShed
	}
	if outcome != QueueAdmitted && !q.leave(w) {
		outcome = QueueAdmitted // a worker came as the wait ended: take it
	}
	now := q.now()
	q.left(now.Sub(start), outcome)
	switch outcome {
	case QueueCancelled:
		return nil, ctx.Err()
	case QueueShed:
		q.mu.Lock()
		wait := q.expectedWait(0)
		q.mu.Unlock()
		return nil, &OverloadError{RetryAfter: retryAfter(wait)}
	}
	// Yield once before the work. Go runs a goroutine that another woke
	// next on that core, ahead of the goroutines already waiting for it;
	// a chain of such hand-offs, one per signature, starves the goroutines
	// that read new requests, whose clients then wait unseen, before the
	// queue, for hundreds of milliseconds (make load: a p99 of 290 ms with
	// 64 clients without this, 80 ms with it).
	runtime.Gosched()
	return q.releaser(k, now), nil
}

// leave takes w out of the line, unless it has just been given a worker:
// then it reports false and w holds the worker.
func (q *SigningQueue) leave(w *waiter) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.admitted {
		return false
	}
	q.waiting.Remove(w.elem)
	q.queued[w.kind]--
	return true
}

// busy is how many workers are taken. Under q.mu.
func (q *SigningQueue) busy() int { return q.running[signing] + q.running[keyGeneration] }

// releaser returns the release function of a turn of kind k that started
// at start.
func (q *SigningQueue) releaser(k kind, start time.Time) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			took := q.now().Sub(start)
			q.mu.Lock()
			defer q.mu.Unlock()
			if !q.seen[k] {
				q.avg[k], q.seen[k] = took, true
			} else {
				q.avg[k] += (took - q.avg[k]) / 8
			}
			q.running[k]--
			// The worker goes to the oldest waiter, not back to the pool:
			// a request that just arrived does not overtake the line.
			if front := q.waiting.Front(); front != nil {
				w := q.waiting.Remove(front).(*waiter)
				q.queued[w.kind]--
				q.running[w.kind]++
				w.admitted = true
				close(w.ready)
			}
		})
	}
}

// expectedWait is how long one more in line would wait for a worker: the
// turns of those waiting, each at the average of its kind, and what key
// generations under way take beyond a signature, shared by the workers,
// plus extra. Under q.mu. With signatures alone, the n-th in line waits n
// average turns over the workers.
func (q *SigningQueue) expectedWait(extra time.Duration) time.Duration {
	sign, gen := q.avg[signing], q.avg[keyGeneration]
	work := time.Duration(q.queued[signing])*sign + time.Duration(q.queued[keyGeneration])*gen +
		time.Duration(q.running[keyGeneration])*max(0, gen-sign) + extra
	return work / time.Duration(q.workers)
}

func (q *SigningQueue) left(wait time.Duration, o QueueOutcome) {
	if q.obs != nil {
		q.obs.QueueLeft(wait, o)
	}
}

// retryAfter rounds a wait up to whole seconds, at least one.
func retryAfter(wait time.Duration) time.Duration {
	return max(time.Second, (wait+time.Second-1)/time.Second*time.Second)
}
