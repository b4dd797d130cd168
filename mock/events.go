package mock

import (
	"sync"
)

// event is a change: its type and the link's JSON right after it.
type event struct {
	typ  string
	link []byte
}

// eventQueue hands events to the hook one at a time, in the order the state changed, on a
// goroutine of its own, so no lock is held and no response waits while the hook runs.
type eventQueue struct {
	hook func(eventType string, link []byte)

	mu      sync.Mutex
	idle    *sync.Cond // signalled when pending drops to zero
	queue   []event
	pending int // queued or running
	running bool
}

func newEventQueue(hook func(string, []byte)) *eventQueue {
	q := &eventQueue{hook: hook}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// push queues an event. It is called with Server.mu held, which orders events as the changes.
func (q *eventQueue) push(typ string, link []byte) {
	if q.hook == nil {
		return
	}
	q.mu.Lock()
	q.queue = append(q.queue, event{typ, link})
	q.pending++
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

func (q *eventQueue) run() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		ev := q.queue[0]
		q.queue[0] = event{}
		q.queue = q.queue[1:]
		q.mu.Unlock()
		q.call(ev)
	}
}

func (q *eventQueue) call(ev event) {
	defer func() {
		q.mu.Lock()
		q.pending--
		if q.pending == 0 {
			q.idle.Broadcast()
		}
		q.mu.Unlock()
	}()
	q.hook(ev.typ, ev.link)
}

// wait blocks until every event queued so far has been handled.
func (q *eventQueue) wait() {
	q.mu.Lock()
	for q.pending > 0 {
		q.idle.Wait()
	}
	q.mu.Unlock()
}
