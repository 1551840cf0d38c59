// Objects shared with a pool's workers: Python cannot pass a Queue to a
// Pool's tasks, so the seeds hand it over through the initializer (init
// stores it in a global) or use a Manager's proxies. Here each worker's
// initializer opens the shared objects by name once and keeps them in
// globals, and the tasks use them:
//
//   - the seeds' test1 sets three keys of a shared dict and reverses a
//     shared list, then test2 prints both (the seed gives both to
//     apply_async at once, so test2 may print before test1 ran; here test2
//     is given once test1 is done);
//
//   - the seeds' pro_test1 and pro_test2 talk over queues: the first asks,
//     the second answers. The seed uses one queue both ways and polls it,
//     so the first task could read back its own question; here each
//     direction has its queue. A task that waits for another must not
//     queue behind it on the same worker, so the answer is given to the
//     pool once the question is out (an Event says so).
//
//     go run ./examples/poolshared
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/queue"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// What each worker's initializer opens: the seeds' global q.
var (
	d           *dict.Dict
	l           *dict.List
	to1, to2    *queue.Queue
	asked       *semaphore.Event
	initializer = pool.RegisterInit("init", initWorker)
)

var (
	test1 = pool.Register("test1", func(struct{}) (struct{}, error) {
		for _, kv := range [][2]any{{1, "1"}, {"2", 2}, {0.25, nil}} {
			if err := d.Set(kv[0], kv[1]); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, l.Reverse()
	})
	test2 = pool.Register("test2", func(struct{}) (struct{}, error) {
		items, err := l.Items()
		if err != nil {
			return struct{}{}, err
		}
		fmt.Println(pyDict(d))
		fmt.Println(items)
		return struct{}{}, nil
	})
	proTest1 = pool.Register("pro_test1", func(struct{}) (string, error) {
		fmt.Printf("[child 1] PPID=%d, PID=%d\n", os.Getppid(), os.Getpid())
		if err := to2.Send([]byte("[child 1] Xiaoming, skewers tonight?")); err != nil {
			return "", err
		}
		asked.Set()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reply, err := to1.RecvContext(ctx)
		if err != nil {
			return "", err
		}
		fmt.Println(string(reply))
		return string(reply), nil
	})
	proTest2 = pool.Register("pro_test2", func(struct{}) (string, error) {
		fmt.Printf("[child 2] PPID=%d, PID=%d\n", os.Getppid(), os.Getpid())
		question, err := to2.Recv()
		if err != nil {
			return "", err
		}
		fmt.Println(string(question))
		return string(question), to1.Send([]byte("[child 2] Not tonight, I have plans"))
	})
)

func main() {
	process.Dispatch()
	ctx := context.Background()
	fmt.Printf("[parent] PPID=%d, PID=%d\n", os.Getppid(), os.Getpid())

	name := fmt.Sprintf("example-poolshared-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()
	dd, err := dict.New(seg, "d") // manager.dict()
	check(err)
	defer dd.Unlink()
	defer dd.Close()
	ll, err := dict.NewList(seg, "l") // manager.list(range(10))
	check(err)
	defer ll.Unlink()
	defer ll.Close()
	for i := range 10 {
		check(ll.Append(i))
	}
	for _, q := range []string{"to1", "to2"} { // Queue()
		_, err := queue.New(seg, q, 8, 128, 1024)
		check(err)
	}
	ev, err := semaphore.NewEvent(seg, "asked")
	check(err)

	p, err := pool.New(pool.WithWorkers(2), pool.WithInitializer(initializer, name),
		pool.WithName(name+"-pool"))
	check(err)
	_, err = pool.ApplyAsync(ctx, p, test1, struct{}{}, nil).Get(ctx)
	check(err)
	_, err = pool.ApplyAsync(ctx, p, test2, struct{}{}, nil).Get(ctx)
	check(err)

	r1 := pool.ApplyAsync(ctx, p, proTest1, struct{}{}, nil)
	asking, stop := context.WithCancel(ctx)
	go func() { <-r1.Done(); stop() }() // if pro_test1 fails before it asks, stop waiting
	if err := ev.WaitContext(asking); err != nil && !ev.IsSet() {
		_, err := r1.Get(ctx)
		log.Fatalf("pro_test1 ended without asking: %v", err)
	}
	stop() // pro_test1 is running and has asked
	r2 := pool.ApplyAsync(ctx, p, proTest2, struct{}{}, nil)
	p.Close()
	check(p.Join())
	question, err := r2.Get(ctx)
	check(err)
	reply, err := r1.Get(ctx)
	check(err)
	fmt.Printf("[parent] child 2 heard %q; child 1 heard %q\n", question, reply)
}

// initWorker is the seeds' init(queue): it opens the objects by name and
// keeps them for the worker's tasks.
func initWorker(args []string) error {
	seg, err := shm.Open(args[0]) // kept open for the worker's life
	if err != nil {
		return err
	}
	if d, err = dict.Open(seg, "d"); err != nil {
		return err
	}
	if l, err = dict.OpenList(seg, "l"); err != nil {
		return err
	}
	if to1, err = queue.Open(seg, "to1"); err != nil {
		return err
	}
	if to2, err = queue.Open(seg, "to2"); err != nil {
		return err
	}
	asked, err = semaphore.OpenEvent(seg, "asked")
	return err
}

// pyDict prints d as Python prints a dict, its items sorted.
func pyDict(d *dict.Dict) string {
	var items []string
	check(d.Range(func(k, v any) bool { items = append(items, py(k)+": "+py(v)); return true }))
	slices.Sort(items)
	return "{" + strings.Join(items, ", ") + "}"
}

func py(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
