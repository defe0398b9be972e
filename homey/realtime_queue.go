package homey

import (
	"container/list"
	"sync"
)

// eventQueue holds the events a [Stream] has received and its reader has not taken yet, within
// a number of events and of bytes. The socket reader never waits on it: when it is full, an
// event with a key (a device's capability, a device, a connection state) replaces the queued
// event of the same key, moved to the back, so that the newest value of each key is delivered
// and in the order of the newest values; an event with no key, or whose key is not queued,
// makes room by dropping the oldest events. Either way the next event delivered counts what
// was lost in its Missed field.
type eventQueue struct {
	mu       sync.Mutex
	l        list.List                // of *queued, oldest first
	byKey    map[string]*list.Element // the newest queued event of each key
	maxLen   int
	maxBytes int
	bytes    int
	missed   int           // dropped since the last pop, for the next event popped
	ready    chan struct{} // has a value when something was pushed since the last wait
}

type queued struct {
	ev   Event
	key  string
	size int
}

// eventOverhead is what an event costs besides its data, roughly, in bytes.
const eventOverhead = 256

func newEventQueue(maxLen, maxBytes int) *eventQueue {
	return &eventQueue{byKey: map[string]*list.Element{}, maxLen: maxLen, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

// push adds ev under key ("" = no key); it never blocks.
func (q *eventQueue) push(ev Event, key string) {
	size := len(ev.Data) + eventOverhead
	q.mu.Lock()
	if q.full(size) && key != "" {
		if e := q.byKey[key]; e != nil {
			old := q.remove(e)
			ev.Missed += old.ev.Missed + 1
		}
	}
	for q.full(size) && q.l.Len() > 0 {
		old := q.remove(q.l.Front())
		q.missed += old.ev.Missed + 1
	}
	e := q.l.PushBack(&queued{ev: ev, key: key, size: size})
	q.bytes += size
	if key != "" {
		q.byKey[key] = e
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop takes the oldest event; false when there is none.
func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.l.Front()
	if e == nil {
		return Event{}, false
	}
	it := q.remove(e)
	it.ev.Missed += q.missed
	q.missed = 0
	return it.ev, true
}

// len is the number of queued events.
func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.l.Len()
}

// full reports whether an event of size bytes does not fit; q.mu held.
func (q *eventQueue) full(size int) bool {
	return q.l.Len() >= q.maxLen || q.bytes+size > q.maxBytes
}

// remove takes e out of the queue; q.mu held.
func (q *eventQueue) remove(e *list.Element) *queued {
	it := q.l.Remove(e).(*queued)
	q.bytes -= it.size
	if it.key != "" && q.byKey[it.key] == e {
		delete(q.byKey, it.key)
	}
	return it
}
