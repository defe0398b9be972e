package auth

import "sync"

// memStore is a fake Store in memory with switchable failures.
type memStore struct {
	mu   sync.Mutex
	m    map[string]string
	fail error // returned by every call while set
	sets int
}

func newMemStore() *memStore { return &memStore{m: map[string]string{}} }

func (m *memStore) Name() string { return "memory" }

func (m *memStore) Get(key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return "", m.fail
	}
	v, ok := m.m[key]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (m *memStore) Set(key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.sets++
	m.m[key] = value
	return nil
}

func (m *memStore) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	delete(m.m, key)
	return nil
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}
