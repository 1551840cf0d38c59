package semaphore_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{
		"hold":       helperHold,
		"sem2":       helperSem2,
		"eintr":      helperEINTR,
		"event":      helperEvent,
		"barrier":    helperBarrier,
		"cond":       helperCond,
		"countlock":  helperCountLock,
		"release":    helperRelease,
		"contend":    helperContend,
		"pairs":      helperPairs,
		"semhold":    helperSemHold,
		"barrier3":   helperBarrier3,
		"scribble":   helperScribble,
		"closewhile": helperCloseWhileWaiting,
		"closecond":  helperCloseCondRounds,
		"closebar":   helperCloseBarrierRounds,
		"condsignal": helperCondSignal,
		"opennamed":  helperOpenNamed,
		"namedops":   helperNamedOps,
	})
}

func openSeg(name string) *shm.Segment { return proctest.OpenSegment(name) }

// counters returns the int32 counters of the bytes object "counters".
func counters(seg *shm.Segment) []atomic.Int32 {
	obj, err := seg.Lookup("counters")
	if err != nil {
		panic(err)
	}
	return layout.Slice[atomic.Int32](obj.Bytes(), 0, 16)
}

// helperHold locks mutex args[1] (kind args[2]: mutex or rmutex), says so,
// and waits for stdin to close (it is killed first).
func helperHold(args []string) int {
	seg := openSeg(args[0])
	var l semaphore.Locker
	var err error
	if args[2] == "rmutex" {
		l, err = semaphore.OpenRMutex(seg, args[1])
	} else {
		l, err = semaphore.OpenMutex(seg, args[1])
	}
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	if err := l.Lock(); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	if args[2] == "rmutex" {
		l.Lock() // held twice: death must still release it
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// helperSem2 is one worker of the seeds' Semaphore(2) program: it holds the
// semaphore while it counts itself in and out, recording the most inside.
func helperSem2(args []string) int {
	seg := openSeg(args[0])
	sem, err := semaphore.Open(seg, "sem")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	c := counters(seg)
	for range 20 {
		if err := sem.Acquire(); err != nil {
			return proctest.Fail("acquire: %v", err)
		}
		in := c[0].Add(1)
		for {
			m := c[1].Load()
			if in <= m || c[1].CompareAndSwap(m, in) {
				break
			}
		}
		time.Sleep(time.Millisecond) // the work done while holding it
		c[0].Add(-1)
		c[2].Add(1)
		if err := sem.Release(); err != nil {
			return proctest.Fail("release: %v", err)
		}
	}
	return 0
}

// helperEINTR acquires semaphore "sem" args[1] times while signals rain on
// it, printing how many signals it got.
func helperEINTR(args []string) int {
	seg := openSeg(args[0])
	sem, err := semaphore.Open(seg, "sem")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	mu, err := semaphore.OpenMutex(seg, "mu")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	n, _ := strconv.Atoi(args[1])
	sigs := make(chan os.Signal, 1024)
	signal.Notify(sigs, syscall.SIGUSR1)
	var got atomic.Int64
	go func() {
		for range sigs {
			got.Add(1)
		}
	}()
	fmt.Println("ready")
	for range n {
		if err := sem.Acquire(); err != nil {
			return proctest.Fail("acquire: %v", err)
		}
		if err := mu.Lock(); err != nil {
			return proctest.Fail("lock: %v", err)
		}
		if err := mu.Unlock(); err != nil {
			return proctest.Fail("unlock: %v", err)
		}
	}
	// The waits can all be over before os/signal has handed this process's
	// goroutine a single signal: wait for the first one to be counted.
	for deadline := time.Now().Add(30 * time.Second); got.Load() == 0 && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	fmt.Println(got.Load())
	return 0
}

// helperEvent waits for event "ev" and counts itself in.
func helperEvent(args []string) int {
	seg := openSeg(args[0])
	ev, err := semaphore.OpenEvent(seg, "ev")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	counters(seg)[0].Add(1) // waiting
	ok, err := ev.WaitTimeout(time.Minute)
	if err != nil || !ok {
		return proctest.Fail("wait: %v %v", ok, err)
	}
	counters(seg)[1].Add(1) // woken
	return 0
}

// helperBarrier passes barrier "b" args[1] times, printing its indexes.
func helperBarrier(args []string) int {
	seg := openSeg(args[0])
	b, err := semaphore.OpenBarrier(seg, "b")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	rounds, _ := strconv.Atoi(args[1])
	c := counters(seg)
	p := int32(b.Parties())
	for r := range int32(rounds) {
		c[0].Add(1) // arrivals, over all rounds
		i, err := b.WaitTimeout(time.Minute)
		if err != nil {
			return proctest.Fail("wait: %v", err)
		}
		// Round r is passed only once all p parties arrived for it, and no
		// party can arrive for round r+2 before everybody passed r+1.
		if got := c[0].Load(); got < (r+1)*p || got > (r+2)*p {
			return proctest.Fail("round %d passed with %d arrivals in all", r, got)
		}
		fmt.Println(i)
	}
	return 0
}

// helperCond waits on cond "cv" with mutex "mu" until counter 0 reaches
// args[1], then adds 1 to counter 1.
func helperCond(args []string) int {
	seg := openSeg(args[0])
	mu, err := semaphore.OpenMutex(seg, "mu")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	cv, err := semaphore.OpenCond(seg, "cv", mu)
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	want, _ := strconv.Atoi(args[1])
	c := counters(seg)
	if err := mu.Lock(); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	c[2].Add(1) // waiting, under the mutex
	for c[0].Load() < int32(want) {
		if ok, err := cv.WaitTimeout(time.Minute); err != nil || !ok {
			return proctest.Fail("wait: %v %v", ok, err)
		}
	}
	c[1].Add(1)
	return exitErr(mu.Unlock())
}

// helperCountLock adds 1 to counter 0 args[1] times under mutex "mu", with
// a read-then-write that would lose updates without the lock.
func helperCountLock(args []string) int {
	seg := openSeg(args[0])
	mu, err := semaphore.OpenMutex(seg, "mu")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	n, _ := strconv.Atoi(args[1])
	c := counters(seg)
	for range n {
		if err := mu.Lock(); err != nil {
			return proctest.Fail("lock: %v", err)
		}
		v := c[0].Load()
		c[0].Store(v + 1)
		if err := mu.Unlock(); err != nil {
			return proctest.Fail("unlock: %v", err)
		}
	}
	return 0
}

func exitErr(err error) int {
	if err != nil {
		return proctest.Fail("%v", err)
	}
	return 0
}

// helperRelease releases semaphore args[1] up to args[2] times and prints
// how many releases succeeded.
func helperRelease(args []string) int {
	seg := openSeg(args[0])
	sem, err := semaphore.Open(seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	n, _ := strconv.Atoi(args[2])
	ok := 0
	for range n {
		switch err := sem.Release(); {
		case err == nil:
			ok++
		case !errors.Is(err, semaphore.ErrTooManyReleases):
			return proctest.Fail("release: %v", err)
		}
	}
	fmt.Println(ok)
	return 0
}

// helperPairs keeps counters 3 and 4 equal under mutex "mu", making them
// unequal for a moment inside each critical section, until killed.
func helperPairs(args []string) int {
	seg := openSeg(args[0])
	mu, err := semaphore.OpenMutex(seg, "mu")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	c := counters(seg)
	fmt.Println("running")
	for {
		if err := mu.Lock(); err != nil {
			return proctest.Fail("lock: %v", err)
		}
		c[3].Add(1)
		for range 100 { // the window in which a kill breaks the invariant
			c[5].Add(1)
		}
		c[4].Add(1)
		if err := mu.Unlock(); err != nil {
			return proctest.Fail("unlock: %v", err)
		}
	}
}

// helperSemHold acquires semaphore "sem", says so, and waits to be killed.
func helperSemHold(args []string) int {
	seg := openSeg(args[0])
	sem, err := semaphore.Open(seg, "sem")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	if err := sem.Acquire(); err != nil {
		return proctest.Fail("acquire: %v", err)
	}
	fmt.Println("acquired")
	io.ReadAll(os.Stdin)
	return 0
}

// helperBarrier3 arrives at barrier "b3", says so, and waits there.
func helperBarrier3(args []string) int {
	seg := openSeg(args[0])
	b, err := semaphore.OpenBarrier(seg, "b3")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	go func() {
		for b.Waiting() == 0 {
			time.Sleep(time.Millisecond)
		}
		fmt.Println("waiting")
	}()
	_, err = b.WaitTimeout(time.Minute)
	return exitErr(err)
}

// helperScribble overwrites the first 16 bytes of object args[1] with 0xff,
// as a hostile or broken process would.
func helperScribble(args []string) int {
	seg := openSeg(args[0])
	obj, err := seg.Lookup(args[1])
	if err != nil {
		return proctest.Fail("lookup: %v", err)
	}
	for i := range obj.Bytes()[:16] {
		obj.Bytes()[i] = 0xff
	}
	return 0
}
