package server_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/server"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// queueEvents records what a queue tells its observer.
type queueEvents struct {
	mu       sync.Mutex
	waiting  int
	outcomes map[server.QueueOutcome]int
}

func (e *queueEvents) QueueWaiting(delta int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.waiting += delta
}

func (e *queueEvents) QueueLeft(_ time.Duration, o server.QueueOutcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.outcomes == nil {
		e.outcomes = map[server.QueueOutcome]int{}
	}
	e.outcomes[o]++
}

func (e *queueEvents) count(o server.QueueOutcome) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.outcomes[o]
}

func newQueue(t *testing.T, cfg server.SigningQueueConfig) *server.SigningQueue {
	t.Helper()
	q, err := server.NewSigningQueue(cfg)
	if err != nil {
		t.Fatalf("NewSigningQueue(%+v) error = %v", cfg, err)
	}
	return q
}

// waitFor polls cond until it holds, or fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting, after 10 s, for %s", what)
		}
	}
}

func TestQueueServesInArrivalOrder(t *testing.T) {
	q := newQueue(t, server.SigningQueueConfig{Workers: 1, MaxWait: time.Minute})
	hold, err := q.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := q.Acquire(context.Background())
			if err != nil {
				t.Errorf("waiter %d: Acquire() error = %v", i, err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			release()
		}()
		// The next one arrives only once this one is in line.
		waitFor(t, "the waiter to queue", func() bool { return q.Waiting() == i+1 })
	}
	hold()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("served in the order %v, want 0 to %d in turn", order, n-1)
		}
	}
	if q.Waiting() != 0 {
		t.Errorf("Waiting() = %d after all were served, want 0", q.Waiting())
	}
}

func TestQueueShedsAtOnceWhenTheWaitWouldBeTooLong(t *testing.T) {
	clock := newFakeClock()
	events := &queueEvents{}
	// Turns of 20 s and a bound of 40 s, on a clock the test moves: the
	// bound's own timer never fires while the test runs.
	q := newQueue(t, server.SigningQueueConfig{Workers: 1, MaxWait: 40 * time.Second, Observer: events})
	server.SetQueueClock(q, clock.Now)

	// One turn of 20 s teaches the queue how long a turn takes.
	release, err := q.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(20 * time.Second)
	release()

	hold, err := q.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Two waiters expect 20 and 40 s (the bound itself): they queue. A
	// third would wait 60 s, past the bound: it is turned away at once.
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := q.Acquire(context.Background())
			if err != nil {
				t.Errorf("waiter %d: Acquire() error = %v, want a turn", i, err)
				return
			}
			release()
		}()
		waitFor(t, "the waiter to queue", func() bool { return q.Waiting() == i+1 })
	}
	_, err = q.Acquire(t.Context())
	var overload *server.OverloadError
	if !errors.As(err, &overload) {
		t.Fatalf("third waiter: Acquire() error = %v, want an *OverloadError", err)
	}
	if overload.RetryAfter != 60*time.Second {
		t.Errorf("RetryAfter = %v, want 1m0s: the wait it foresaw", overload.RetryAfter)
	}
	if q.Waiting() != 2 {
		t.Errorf("Waiting() = %d after the refusal, want 2: the refused one never queued", q.Waiting())
	}
	hold()
	wg.Wait()
	if got := events.count(server.QueueShed); got != 1 {
		t.Errorf("shed count = %d, want 1", got)
	}
	if got := events.count(server.QueueAdmitted); got != 4 {
		t.Errorf("admitted count = %d, want 4", got)
	}
}

func TestQueueShedsAWaiterAtTheBound(t *testing.T) {
	events := &queueEvents{}
	q := newQueue(t, server.SigningQueueConfig{Workers: 1, MaxWait: 20 * time.Millisecond, Observer: events})
	hold, err := q.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	// No turn has ended yet, so the queue expects no wait; the waiter
	// queues, and leaves when the bound passes.
	_, err = q.Acquire(t.Context())
	var overload *server.OverloadError
	if !errors.As(err, &overload) || overload.RetryAfter < time.Second {
		t.Fatalf("Acquire() error = %v, want an *OverloadError with a Retry-After of at least 1s", err)
	}
	if q.Waiting() != 0 || events.waiting != 0 {
		t.Errorf("Waiting() = %d, observer's count %d after the waiter left; want 0, 0", q.Waiting(), events.waiting)
	}
}

func TestQueueCancelledWaiterLeaves(t *testing.T) {
	events := &queueEvents{}
	q := newQueue(t, server.SigningQueueConfig{Workers: 1, MaxWait: time.Minute, Observer: events})
	hold, err := q.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		release, err := q.Acquire(ctx)
		if release != nil {
			release()
		}
		errc <- err
	}()
	waitFor(t, "the waiter to queue", func() bool { return q.Waiting() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: Acquire() error = %v, want context.Canceled", err)
	}
	if q.Waiting() != 0 {
		t.Errorf("Waiting() = %d after the waiter left, want 0", q.Waiting())
	}
	// The worker goes back to the pool, not to the one who left.
	hold()
	release, err := q.Acquire(t.Context())
	if err != nil {
		t.Fatalf("Acquire() after the release = %v, want a worker at once", err)
	}
	release()
	release() // a second call is a no-op, not a second worker
	r1, err := q.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer r1()
	if q.Waiting() != 0 {
		t.Fatal("the pool holds one worker, and it is taken")
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel2()
	if _, err := q.Acquire(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire() with the one worker busy = %v, want to wait until the deadline: a double release made two workers", err)
	}
	if got := events.count(server.QueueCancelled); got != 2 {
		t.Errorf("cancelled count = %d, want 2", got)
	}

	// A context already done never queues.
	done, cancel3 := context.WithCancel(t.Context())
	cancel3()
	if _, err := q.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire(done context) = %v, want context.Canceled", err)
	}
}

func TestQueueConfig(t *testing.T) {
	q := newQueue(t, server.SigningQueueConfig{})
	if q.Workers() < 1 || q.MaxWait() != server.DefaultMaxSigningWait {
		t.Errorf("defaults: Workers() = %d, MaxWait() = %v; want >= 1, %v", q.Workers(), q.MaxWait(), server.DefaultMaxSigningWait)
	}
	for _, cfg := range []server.SigningQueueConfig{{Workers: -1}, {MaxWait: -time.Second}} {
		if _, err := server.NewSigningQueue(cfg); err == nil {
			t.Errorf("NewSigningQueue(%+v) error = nil", cfg)
		}
	}
	for o, want := range map[server.QueueOutcome]string{server.QueueAdmitted: "admitted", server.QueueShed: "shed", server.QueueCancelled: "cancelled", 7: "QueueOutcome(7)"} {
		if o.String() != want {
			t.Errorf("QueueOutcome(%d).String() = %q, want %q", int(o), o.String(), want)
		}
	}
}

// taughtQueue is a queue of one worker, with a bound of 105 s, that has
// seen a signature of 10 s and a key generation of 100 s, on a clock the
// test moves.
func taughtQueue(t *testing.T) *server.SigningQueue {
	clock := newFakeClock()
	q := newQueue(t, server.SigningQueueConfig{Workers: 1, MaxWait: 105 * time.Second})
	server.SetQueueClock(q, clock.Now)
	turn := func(acquire func(context.Context) (func(), error), d time.Duration) {
		release, err := acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(d)
		release()
	}
	turn(q.Acquire, 10*time.Second)
	turn(q.AcquireKeyGeneration, 100*time.Second)
	return q
}

// A key generation takes its turn in the line at its own cost: those
// behind it foresee the wait it makes, and are turned away by it.
func TestQueueCountsKeyGenerationsAtTheirCost(t *testing.T) {
	for _, tc := range []struct {
		name           string
		first, waiting func(*server.SigningQueue) func(context.Context) (func(), error)
	}{
		// A generation under way: a signature behind it foresees 100 s
		// (the generation's cost beyond a signature's, and one turn).
		{"running", func(q *server.SigningQueue) func(context.Context) (func(), error) { return q.AcquireKeyGeneration },
			func(q *server.SigningQueue) func(context.Context) (func(), error) { return q.Acquire }},
		// A generation waiting behind a signature: 100 s and a turn.
		{"waiting", func(q *server.SigningQueue) func(context.Context) (func(), error) { return q.Acquire },
			func(q *server.SigningQueue) func(context.Context) (func(), error) { return q.AcquireKeyGeneration }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := taughtQueue(t)
			hold, err := tc.first(q)(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			queued := make(chan error, 1)
			go func() {
				release, err := tc.waiting(q)(context.Background())
				if err == nil {
					release()
				}
				queued <- err
			}()
			waitFor(t, "the second to queue", func() bool { return q.Waiting() == 1 })
			// A signature now foresees 110 s: past the bound, turned away
			// at once with the wait it foresaw.
			_, err = q.Acquire(t.Context())
			var overload *server.OverloadError
			if !errors.As(err, &overload) || overload.RetryAfter != 110*time.Second {
				t.Errorf("a signature third in line: %v, want an *OverloadError of 1m50s", err)
			}
			hold()
			if err := <-queued; err != nil {
				t.Errorf("the one queued: %v", err)
			}
		})
	}
}

// One key is generated at a time: another asked meanwhile is turned away
// at once, however free the workers, and the workers go on signing.
func TestQueueGeneratesOneKeyAtATime(t *testing.T) {
	q := newQueue(t, server.SigningQueueConfig{Workers: 4, MaxWait: time.Minute})
	gen, err := q.AcquireKeyGeneration(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var overload *server.OverloadError
	if _, err := q.AcquireKeyGeneration(t.Context()); !errors.As(err, &overload) || overload.RetryAfter < time.Second {
		t.Errorf("a second generation: %v, want an *OverloadError", err)
	}
	sign, err := q.Acquire(t.Context())
	if err != nil {
		t.Errorf("a signature beside a generation: %v", err)
	} else {
		sign()
	}
	gen()
	again, err := q.AcquireKeyGeneration(t.Context())
	if err != nil {
		t.Errorf("a generation after the first: %v", err)
	} else {
		again()
	}
}
