package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/batch"
)

// WorkOptions tune Work.
type WorkOptions struct {
	// Concurrency is how many rows this process works at once (default 8).
	Concurrency int
	// Payer sends the rows: its options (Rate or Throttle, Now, MaxUnreachable) are those of
	// batch.NewPayer. Nil makes one from the client with the zero options.
	Payer *batch.Payer
	// UntilDone makes Work return once no payout job is waiting or running (every row has an
	// outcome, or its job was given up), instead of when ctx is done.
	UntilDone bool
	// Poll is how often UntilDone looks (default 250 ms).
	Poll time.Duration
}

// worker is the River worker of payout jobs: one attempt at a row (batch.Payer.Pay), whose
// outcome is committed before the job completes.
type worker struct {
	river.WorkerDefaults[payoutArgs]
	q     *Queue
	payer *batch.Payer
}

// Work attempts the row of one job. A row with a final outcome completes the job; a row left
// unknown or not sent fails it, and River attempts it again after Options.RetryDelay (doubled
// each time), up to Options.MaxAttempts.
func (w *worker) Work(ctx context.Context, job *river.Job[payoutArgs]) error {
	a := job.Args
	row, err := a.row()
	if err != nil {
		return river.JobCancel(err)
	}
	j := w.q.Journal(a.Batch)
	e, ok, err := j.Entry(ctx, a.Line)
	if err != nil {
		return err
	}
	if !ok {
		return river.JobCancel(fmt.Errorf("pgqueue: row %d of %s is not in the journal", a.Line, a.Batch))
	}
	o, _, err := w.payer.Pay(ctx, durable{j}, max(a.Run, e.Run), row, e)
	switch {
	case err != nil:
		return err
	case o == batch.OutcomeUnknown || o == batch.OutcomeNotSent:
		return fmt.Errorf("row %d of %s: %s, to be attempted again", a.Line, a.Batch, o)
	}
	return nil
}

// Timeout is the queue's JobTimeout.
func (w *worker) Timeout(*river.Job[payoutArgs]) time.Duration { return w.q.opts.JobTimeout }

// retryPolicy attempts a row again after RetryDelay, doubled for each attempt, at most 30 s.
type retryPolicy struct{ base time.Duration }

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	n := min(max(job.Attempt-1, 0), 10)
	return time.Now().Add(min(p.base<<n, 30*time.Second))
}

// Work makes this process a worker of the queue: it takes payout jobs, of every batch and of
// the outbox, Concurrency at a time, and creates their links with client, until ctx is done
// (or, with UntilDone, until no job is waiting or running). Any number of processes may work
// one queue at once; each row is attempted by one worker at a time, and a worker that dies
// leaves its rows to others once River rescues its jobs (Options.RescueAfter).
func (q *Queue) Work(ctx context.Context, client *api.Client, opts WorkOptions) error {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Payer == nil {
		opts.Payer = batch.NewPayer(client, batch.Options{})
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{q: q, payer: opts.Payer}); err != nil {
		return fmt.Errorf("pgqueue: %w", err)
	}
	rc, err := river.NewClient(riverpgxv5.New(q.pool), &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Concurrency}},
		Workers:              workers,
		MaxAttempts:          q.opts.MaxAttempts,
		RetryPolicy:          retryPolicy{base: q.opts.RetryDelay},
		JobTimeout:           q.opts.JobTimeout,
		RescueStuckJobsAfter: q.opts.RescueAfter,
		FetchCooldown:        50 * time.Millisecond, // fewer fetches of more jobs: a fetch costs the database more than a job
		FetchPollInterval:    250 * time.Millisecond,
		Logger:               q.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("pgqueue: %w", err)
	}
	if err := rc.Start(ctx); err != nil {
		return fmt.Errorf("pgqueue: starting the workers: %w", err)
	}
	var werr error
	if opts.UntilDone {
		werr = q.waitIdle(ctx, opts.Poll)
	} else {
		<-ctx.Done()
	}
	// Let the rows in flight finish (their outcomes are committed), then stop.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.opts.JobTimeout)
	defer cancel()
	if err := rc.Stop(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		werr = errors.Join(werr, err)
	}
	return werr
}

// live counts the payout jobs waiting or running.
const live = `SELECT count(*) FROM river_job WHERE kind = $1 AND state IN ('available', 'pending', 'retryable', 'running', 'scheduled')`

// waitIdle returns once no payout job is waiting or running, or when ctx is done.
func (q *Queue) waitIdle(ctx context.Context, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var n int
		if err := q.pool.QueryRow(ctx, live, Kind).Scan(&n); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("pgqueue: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Dispatcher returns the batch.Dispatcher of a run of the batch named name (batch.RunOn with
// Options.Dispatcher and Journal(name)): it commits the rows' entries and queues their jobs in
// one transaction per chunk, and waits for their outcomes, which workers (Work) on any machine
// commit.
func (q *Queue) Dispatcher(name string) batch.Dispatcher {
	return &dispatcher{q: q, batch: name, poll: 200 * time.Millisecond}
}

type dispatcher struct {
	q     *Queue
	batch string
	poll  time.Duration
	count int // rows dispatched
}

func (d *dispatcher) Dispatch(ctx context.Context, run int, rows []batch.Pending) error {
	params := make([]river.InsertManyParams, len(rows))
	for i, p := range rows {
		args, err := argsOf(d.batch, run, p.Row, p.Entry.Key)
		if err != nil {
			return err
		}
		params[i] = river.InsertManyParams{Args: args, InsertOpts: d.q.insertOpts()}
	}
	err := pgx.BeginFunc(ctx, d.q.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, p := range rows {
			if p.New {
				b.Queue(insertRow, rowArgs(d.batch, p.Row.Reference, p.Entry)...)
				b.Queue(insertKey, d.batch, p.Entry.Key, p.Entry.Line, p.Entry.KeyCreated)
			}
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return err
			}
		}
		_, err := d.q.insert.InsertManyTx(ctx, tx, params)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgqueue: queueing rows of %s: %w", d.batch, err)
	}
	d.count += len(rows)
	return nil
}

// The queries of Wait: the batch's rows by state (and those this run settled), and its live
// jobs.
const (
	waitStates = `SELECT state, count(*), count(*) FILTER (WHERE run = $2) FROM dots_batch_rows WHERE batch = $1 GROUP BY state`
	waitLive   = live + ` AND args->>'batch' = $2`
)

func (d *dispatcher) Wait(ctx context.Context, run int, settled func(batch.Outcome)) error {
	reported := map[batch.State]int{} // rows of this run reported settled, by state
	lastOpen := -1
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for {
		counts, ours, err := d.states(ctx, run)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, s := range []batch.State{batch.Made, batch.Failed} {
			for range ours[s] - reported[s] {
				settled(outcomeOf(s))
			}
			reported[s] = max(reported[s], ours[s])
		}
		open := counts[batch.NotSent] + counts[batch.Sending] + counts[batch.Unknown]
		if open > 0 && open == lastOpen {
			// Nothing moved since the last look: is any worker still at it?
			var n int
			if err := d.q.pool.QueryRow(ctx, waitLive, Kind, d.batch).Scan(&n); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("pgqueue: %w", err)
			}
			if n == 0 {
				open = 0 // the rows left are given up for this run
			}
		}
		if open == 0 {
			// The rows left: settled by an earlier run's job, or given up.
			left := d.count - reported[batch.Made] - reported[batch.Failed]
			for _, s := range []batch.State{batch.Unknown, batch.Sending, batch.NotSent, batch.Failed, batch.Made} {
				for range min(left, counts[s]-reported[s]) {
					settled(outcomeOf(s))
					left--
				}
			}
			return nil
		}
		lastOpen = open
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// states counts the batch's rows by state, all of them and those this run settled.
func (d *dispatcher) states(ctx context.Context, run int) (all, ours map[batch.State]int, err error) {
	all, ours = map[batch.State]int{}, map[batch.State]int{}
	rows, err := d.q.pool.Query(ctx, waitStates, d.batch, run)
	if err != nil {
		return nil, nil, fmt.Errorf("pgqueue: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n, mine int
		if err := rows.Scan(&state, &n, &mine); err != nil {
			return nil, nil, fmt.Errorf("pgqueue: %w", err)
		}
		all[batch.State(state)], ours[batch.State(state)] = n, mine
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("pgqueue: %w", err)
	}
	return all, ours, nil
}

func outcomeOf(s batch.State) batch.Outcome {
	switch s {
	case batch.Made:
		return batch.OutcomeMade
	case batch.Failed:
		return batch.OutcomeFailed
	case batch.NotSent:
		return batch.OutcomeNotSent
	}
	return batch.OutcomeUnknown
}
