package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/shm"
)

// W8: a shared dict. 100,000 distinct string keys are set to int64 values
// one at a time, then read back; and two processes add 1 to one key.
// Every row's workers speak kv/w8.h's protocol: set and get time
// themselves and report what they read back and how much their store
// grew; add is timed from "go" to the last "done", and the counter is
// read afterwards.

const (
	w8Keys  = 100_000 // distinct keys in a full run
	w8Procs = 2       // processes incrementing the counter

	// W8Floor names W8's floor: a Go map and a sync.Mutex in one process.
	W8Floor = "Go map+Mutex (floor)"

	roleDictSet  Role = "w8-dict-set"
	roleDictGet  Role = "w8-dict-get"
	roleDictAdd  Role = "w8-dict-add"
	roleCDictSet Role = "w8-cdict-set"
	roleCDictGet Role = "w8-cdict-get"
	roleCDictAdd Role = "w8-cdict-add"
	roleMapSet   Role = "w8-map-set"
	roleMapGet   Role = "w8-map-get"
	roleMapCount Role = "w8-map-count"
)

func init() {
	register(roleDictSet, dictSet)
	register(roleDictGet, dictGet)
	register(roleDictAdd, dictAdd)
	register(roleMapSet, mapSet)
	register(roleMapGet, mapGet)
	register(roleMapCount, mapCount)
}

// dictWorkloads are W8 set, get and counter. Slow rows run a fraction of
// the count (Div); their set runs have as many fewer keys.
func dictWorkloads() []*Workload {
	return []*Workload{
		{ID: "W8", Variant: "set", Title: "100,000 string keys set to int64 values, one call each", Count: w8Keys, Figure: Ops,
			Impls: []Impl{
				{Name: "shmkit", run: kvSetRun(shmkitStore(goDict), 1)},
				{Name: "shmkit C", run: nativeRun(kvSetRun(shmkitStore(cDict), 1))},
				{Name: "shmkit Python", run: kvSetRun(shmkitStore(pyDict), 1)},
				{Name: "Boost unordered_map", run: kvSetRun(boostMapStore, 1)},
				{Name: "LMDB txn/1000 puts", run: kvSetRun(lmdbStore, 1000)},
				{Name: "LMDB txn/put", Div: 2, run: kvSetRun(lmdbStore, 1)},
				{Name: "Redis pipelined 100", run: kvSetRun(redisStore, 100)},
				{Name: "Redis", Div: 5, run: kvSetRun(redisStore, 1)},
				{Name: "Manager dict", Div: 10, run: kvSetRun(managerStore, 1)},
				{Name: W8Floor, run: kvSetRun(goMapStore, 1)},
			}},
		{ID: "W8", Variant: "get", Title: "gets of 100,000 string keys, five each", Count: 5 * w8Keys, Figure: Ops,
			Impls: []Impl{
				{Name: "shmkit", run: kvGetRun(shmkitStore(goDict), 1)},
				{Name: "shmkit C", run: nativeRun(kvGetRun(shmkitStore(cDict), 1))},
				{Name: "shmkit Python", Div: 2, run: kvGetRun(shmkitStore(pyDict), 1)},
				{Name: "Boost unordered_map", run: kvGetRun(boostMapStore, 1)},
				{Name: "LMDB", run: kvGetRun(lmdbStore, 1000)},
				{Name: "Redis pipelined 100", Div: 2, run: kvGetRun(redisStore, 100)},
				{Name: "Redis", Div: 25, run: kvGetRun(redisStore, 1)},
				{Name: "Manager dict", Div: 50, run: kvGetRun(managerStore, 1)},
				{Name: W8Floor, run: kvGetRun(goMapStore, 1)},
			}},
		{ID: "W8", Variant: "counter", Title: "2 processes add 1 to one key", Count: 1_000_000, Figure: Ops,
			Impls: []Impl{
				{Name: "shmkit", run: kvCountRun(shmkitStore(goDict))},
				{Name: "shmkit C", run: nativeRun(kvCountRun(shmkitStore(cDict)))},
				{Name: "shmkit Python", Div: 5, run: kvCountRun(shmkitStore(pyDict))},
				{Name: "Boost unordered_map", run: kvCountRun(boostMapStore)},
				{Name: "LMDB", Div: 4, run: kvCountRun(lmdbStore)},
				{Name: "Redis INCR", Div: 20, run: kvCountRun(redisStore)},
				{Name: "Manager dict+Lock", Div: 200, run: kvCountRun(managerStore)},
				{Name: W8Floor, run: kvCountRun(goMapStore)},
			}},
	}
}

// A kvStore is one row's store for one run.
type kvStore struct {
	target string // where the workers find it: a segment, directory or socket
	// worker makes the spec of a worker doing op ("set", "get", "add",
	// "read", or "count" for rows that count in one worker) with args.
	worker func(op string, args ...string) workerSpec
	// oneWorker: the row counts in one self-timed "count" worker (one
	// process, or a program that starts its own processes).
	oneWorker bool
	check     func(n int) error     // after a set, this process's own check, if any
	counter   func() (int64, error) // the counter, if this process can read it; else a "read" worker does
	close     func()
}

type openStore func(ctx context.Context) (*kvStore, error)

// setSum and getSum are what a set's check and a run of n gets over keys
// keys report: key i holds i.
func setSum(n int) int64 { return int64(n) * int64(n-1) / 2 }

func getSum(n, keys int) int64 {
	q, r := int64(n/keys), int64(n%keys)
	return q*int64(keys)*int64(keys-1)/2 + r*(r-1)/2
}

// w8Key is key i of every row (kv/w8.h): "key" and i * 2654435761 mod
// 2^32 in decimal, distinct for each i and in no sorted order.
func w8Key(i int) string {
	return "key" + strconv.FormatUint(uint64(uint32(uint64(i)*2654435761)), 10)
}

func w8KeyList(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = w8Key(i)
	}
	return keys
}

// selfTimed runs one worker that times itself and reports "ns sum bytes".
func selfTimed(ctx context.Context, spec workerSpec) (d time.Duration, sum, bytes int64, err error) {
	procs, err := startAll(ctx, spec)
	if err != nil {
		return 0, 0, 0, err
	}
	_, reports, err := gang(procs...)
	if err != nil {
		return 0, 0, 0, err
	}
	f := strings.Fields(reports[0])
	var n [3]int64
	if len(f) != len(n) {
		return 0, 0, 0, fmt.Errorf("%w: worker %s reported %q", ErrChecksum, spec.role, reports[0])
	}
	for i := range n {
		if n[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("%w: worker %s reported %q", ErrChecksum, spec.role, reports[0])
		}
	}
	return time.Duration(n[0]), n[1], n[2], nil
}

// kvSetRun: a worker sets count new keys (batch per transaction or round
// trip where the row has them), then reads them back; the run also
// reports the bytes per key the store grew by.
func kvSetRun(open openStore, batch int) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		st, err := open(ctx)
		if err != nil {
			return 0, err
		}
		defer st.close()
		spec := st.worker("set", st.target, itoa(count), itoa(batch))
		d, sum, grown, err := selfTimed(ctx, spec)
		if err != nil {
			return 0, err
		}
		if sum != setSum(count) {
			return 0, fmt.Errorf("%w: the keys set read back as %d, expected %d", ErrChecksum, sum, setSum(count))
		}
		if st.check != nil {
			if err := st.check(count); err != nil {
				return 0, err
			}
		}
		reportSpace(ctx, float64(grown)/float64(count))
		return d, nil
	}
}

// kvGetRun: a worker fills min(count, 100,000) keys, then reads count
// keys in turn.
func kvGetRun(open openStore, batch int) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		st, err := open(ctx)
		if err != nil {
			return 0, err
		}
		defer st.close()
		keys := min(count, w8Keys)
		d, sum, _, err := selfTimed(ctx, st.worker("get", st.target, itoa(count), itoa(keys), itoa(batch)))
		if err != nil {
			return 0, err
		}
		if sum != getSum(count, keys) {
			return 0, fmt.Errorf("%w: the gets summed to %d, expected %d", ErrChecksum, sum, getSum(count, keys))
		}
		return d, nil
	}
}

// kvCountRun: two processes add 1 to the key "counter", count/2 times
// each; the counter must be exact.
func kvCountRun(open openStore) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		st, err := open(ctx)
		if err != nil {
			return 0, err
		}
		defer st.close()
		each := max(1, count/w8Procs)
		total := int64(each * w8Procs)
		var d time.Duration
		var got int64
		if st.oneWorker {
			if d, got, _, err = selfTimed(ctx, st.worker("count", st.target, itoa(each*w8Procs))); err != nil {
				return 0, err
			}
		} else {
			specs := make([]workerSpec, w8Procs)
			for i := range specs {
				specs[i] = st.worker("add", st.target, itoa(each))
			}
			if d, err = run(ctx, -1, "", specs...); err != nil {
				return 0, err
			}
			if st.counter == nil {
				_, err := run(ctx, 0, strconv.FormatInt(total, 10), st.worker("read", st.target))
				return d * time.Duration(count) / time.Duration(total), err
			}
			if got, err = st.counter(); err != nil {
				return 0, err
			}
		}
		if got != total {
			return 0, fmt.Errorf("%w: counter is %d, expected %d", ErrChecksum, got, total)
		}
		return d * time.Duration(count) / time.Duration(total), nil
	}
}

// The languages a shmkit row's workers are written in.
const (
	goDict = iota
	cDict
	pyDict
)

// shmkitStore is a dict.Map[string, int64] named "d" in a fresh segment,
// driven by workers in Go, C or Python (seg.dict).
func shmkitStore(lang int) openStore {
	return func(ctx context.Context) (*kvStore, error) {
		role := map[int]string{goDict: "w8-dict-", cDict: "w8-cdict-"}[lang]
		worker := func(op string, args ...string) workerSpec {
			return workerSpec{role: Role(role + op), args: args}
		}
		cleanup := func() {}
		if lang == pyDict {
			py, err := pythonWorker(ctx, "dict")
			if err != nil {
				return nil, err
			}
			worker, cleanup = py.worker, py.close
		}
		seg, name, done, err := segment(segmentFor(4096))
		if err != nil {
			cleanup()
			return nil, err
		}
		m, err := dict.NewMap[string, int64](seg, "d")
		if err != nil {
			done()
			cleanup()
			if errors.Is(err, cbind.ErrNoCgo) {
				err = fmt.Errorf("%w: the dict needs cgo: %w", ErrUnavailable, err)
			}
			return nil, err
		}
		return &kvStore{target: name, worker: worker,
			check: func(n int) error { return checkMap(m, n) },
			counter: func() (int64, error) {
				v, _, err := m.Get("counter")
				return v, err
			},
			close: func() { m.Unlink(); m.Close(); done(); cleanup() },
		}, nil
	}
}

// checkMap checks from this process what another one set: n keys, key i
// holding i.
func checkMap(m *dict.Map[string, int64], n int) error {
	if l, err := m.Len(); err != nil || l != n {
		return fmt.Errorf("%w: the dict holds %d keys (%v), expected %d", ErrChecksum, l, err, n)
	}
	for i := range n {
		if v, ok, err := m.Get(w8Key(i)); err != nil || !ok || v != int64(i) {
			return fmt.Errorf("%w: %s is %d, %v (%v), expected %d", ErrChecksum, w8Key(i), v, ok, err, i)
		}
	}
	return nil
}

// openDict opens the dict of a shmkit row's worker and measures its heap.
func openDict(seg *shm.Segment) (m *dict.Map[string, int64], heap func() int64, err error) {
	if m, err = dict.OpenMap[string, int64](seg, "d"); err != nil {
		return nil, nil, err
	}
	return m, func() int64 { s, _ := m.Stats(); return s.HeapBytes }, nil
}

// dictSet: args segment count batch.
func dictSet(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		m, heap, err := openDict(seg)
		if err != nil {
			return "", err
		}
		defer m.Close()
		keys := w8KeyList(n[0])
		before := heap()
		ready()
		t0 := time.Now()
		for i, k := range keys {
			if err := m.Set(k, int64(i)); err != nil {
				return "", err
			}
		}
		d := time.Since(t0)
		grown := heap() - before
		sum, err := readBack(keys, len(keys), m.Get)
		return report(d, sum, grown), err
	})
}

// dictGet: args segment count keys batch.
func dictGet(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		m, _, err := openDict(seg)
		if err != nil {
			return "", err
		}
		defer m.Close()
		keys := w8KeyList(n[1])
		for i, k := range keys {
			if err := m.Set(k, int64(i)); err != nil {
				return "", err
			}
		}
		ready()
		t0 := time.Now()
		sum, err := readBack(keys, n[0], m.Get)
		return report(time.Since(t0), sum, 0), err
	})
}

// dictAdd: args segment count. Adds 1 to "counter", count times.
func dictAdd(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		m, _, err := openDict(seg)
		if err != nil {
			return "", err
		}
		defer m.Close()
		ready()
		var v int64
		for range n[0] {
			if v, err = m.Add("counter", 1); err != nil {
				return "", err
			}
		}
		return strconv.FormatInt(v, 10), nil
	})
}

// readBack gets n keys in turn (key j % len(keys)), checks that key i
// holds i, and sums them.
func readBack(keys []string, n int, get func(string) (int64, bool, error)) (int64, error) {
	var sum int64
	for j := range n {
		i := j % len(keys)
		v, ok, err := get(keys[i])
		if err != nil {
			return 0, err
		}
		if !ok || v != int64(i) {
			return 0, fmt.Errorf("%w: %s is %d (present %v), expected %d", ErrChecksum, keys[i], v, ok, i)
		}
		sum += v
	}
	return sum, nil
}

func report(d time.Duration, sum, bytes int64) string {
	return fmt.Sprintf("%d %d %d", d.Nanoseconds(), sum, bytes)
}

// goMapStore is the floor: a map[string]int64 and a sync.Mutex in the
// worker's own process. The set makes its map for the keys it will hold
// (make(map, n)), the least work: a map that grew as it went, rehashing
// and faulting in new pages on the way, ran slower than shmkit's dict.
func goMapStore(ctx context.Context) (*kvStore, error) {
	return &kvStore{target: "-", oneWorker: true, close: func() {},
		worker: func(op string, args ...string) workerSpec {
			return workerSpec{role: Role("w8-map-" + op), args: args}
		}}, nil
}

// lockedMap is the floor's map: what a Go program shares between its
// goroutines.
type lockedMap struct {
	mu sync.Mutex
	m  map[string]int64
}

func (l *lockedMap) set(k string, v int64) {
	l.mu.Lock()
	l.m[k] = v
	l.mu.Unlock()
}

func (l *lockedMap) get(k string) (int64, bool, error) {
	l.mu.Lock()
	v, ok := l.m[k]
	l.mu.Unlock()
	return v, ok, nil
}

// heapInUse is the Go heap's live bytes, after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// mapSet: args - count batch. The map refers to the key list's strings;
// their bytes are counted as its own, as every other row stores a copy.
func mapSet(args []string, ready func()) (string, error) {
	n, err := ints(args, 1)
	if err != nil {
		return "", err
	}
	keys := w8KeyList(n[0])
	before := heapInUse()
	m := &lockedMap{m: make(map[string]int64, len(keys))} // its memory counts as grown
	ready()
	t0 := time.Now()
	for i, k := range keys {
		m.set(k, int64(i))
	}
	d := time.Since(t0)
	grown := heapInUse() - before
	for _, k := range keys {
		grown += int64(len(k))
	}
	sum, err := readBack(keys, len(keys), m.get)
	return report(d, sum, grown), err
}

// mapGet: args - count keys batch.
func mapGet(args []string, ready func()) (string, error) {
	n, err := ints(args, 1)
	if err != nil {
		return "", err
	}
	keys := w8KeyList(n[1])
	m := &lockedMap{m: map[string]int64{}}
	for i, k := range keys {
		m.set(k, int64(i))
	}
	ready()
	t0 := time.Now()
	sum, err := readBack(keys, n[0], m.get)
	return report(time.Since(t0), sum, 0), err
}

// mapCount: args - count. Two goroutines add 1 to "counter", count/2
// times each, under the mutex.
func mapCount(args []string, ready func()) (string, error) {
	n, err := ints(args, 1)
	if err != nil {
		return "", err
	}
	m := &lockedMap{m: map[string]int64{}}
	var wg sync.WaitGroup
	ready()
	t0 := time.Now()
	for range w8Procs {
		wg.Go(func() {
			for range n[0] / w8Procs {
				m.mu.Lock()
				m.m["counter"]++
				m.mu.Unlock()
			}
		})
	}
	wg.Wait()
	d := time.Since(t0)
	v, _, _ := m.get("counter")
	return report(d, v, 0), nil
}
