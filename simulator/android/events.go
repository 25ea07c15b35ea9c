package android

import "sync"

// eventQueue delivers values to fn, in order, on one goroutine, without
// ever blocking the producer.
type eventQueue[T any] struct {
	mu    sync.Mutex
	items []T
	wake  chan struct{}
	quit  chan struct{}
	once  sync.Once
	fn    func(T)
}

func newEventQueue[T any](fn func(T)) *eventQueue[T] {
	q := &eventQueue[T]{wake: make(chan struct{}, 1), quit: make(chan struct{}), fn: fn}
	go q.run()
	return q
}

func (q *eventQueue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue[T]) stop() { q.once.Do(func() { close(q.quit) }) }

func (q *eventQueue[T]) run() {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		for _, v := range items {
			select {
			case <-q.quit:
				return
			default:
			}
			q.fn(v)
		}
		select {
		case <-q.quit:
			return
		case <-q.wake:
		}
	}
}
