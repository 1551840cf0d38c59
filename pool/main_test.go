package pool_test

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{"poolowner": helperPoolOwner})
}

// The tasks the tests run, registered for every copy of the test binary.
var (
	double = pool.Register("double", func(x int64) (int64, error) { return 2 * x, nil })
	whoAmI = pool.Register("whoami", func(int64) (int64, error) { return int64(os.Getpid()), nil })
	sevens = pool.Register("sevens", func(x int64) (int64, error) {
		if x%7 == 0 {
			return 0, fmt.Errorf("%d is a multiple of 7", x)
		}
		return 2 * x, nil
	})
	panics = pool.Register("panics", func(x int64) (int64, error) {
		if x == 13 {
			panic("unlucky 13")
		}
		return 2 * x, nil
	})
	// sleepy sleeps x milliseconds: a task that takes a while.
	sleepy = pool.Register("sleepy", func(x int64) (int64, error) {
		time.Sleep(time.Duration(x) * time.Millisecond)
		return x, nil
	})
	// spin works about 50 µs, then doubles.
	spin = pool.Register("spin", func(x int64) (int64, error) {
		for t := time.Now(); time.Since(t) < 50*time.Microsecond; {
		}
		return 2 * x, nil
	})
	// dieOnce kills its worker the first time it sees crashAt, as a crash
	// would; the flag lives in a segment the initializer opened.
	dieOnce = pool.Register("dieonce", func(x int64) (int64, error) {
		if x == crashAt && crashed.CompareAndSwap(0, 1) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return 2 * x, nil
	})
	dieAlways = pool.Register("diealways", func(x int64) (int64, error) {
		if x == crashAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return 2 * x, nil
	})
	named = pool.Register("named", func(int64) (string, error) { return process.Name(), nil })
	greet = pool.Register("greet", func(s string) (string, error) { return "hello, " + s + greeting, nil })
	sum   = pool.Register("sum", func(xs []float64) (float64, error) {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s, nil
	})
	echoBytes = pool.Register("echobytes", func(b []byte) ([]byte, error) { return b, nil })

	openFlag = pool.RegisterInit("openflag", func(args []string) error {
		seg, err := shm.Open(args[0])
		if err != nil {
			return err
		}
		crashed, err = ctypes.OpenRawValue[int32](seg, "crashed")
		return err // the segment stays mapped for the worker's life
	})
	setGreeting = pool.RegisterInit("setgreeting", func(args []string) error { greeting = args[0]; return nil })
	failInit    = pool.RegisterInit("failinit", func([]string) error { return errors.New("no, as asked") })
)

const crashAt = 500

var (
	crashed  *ctypes.RawValue[int32]
	greeting string
)

// helperPoolOwner makes a pool of 2 workers named args[0], prints their
// pids and waits to be killed.
func helperPoolOwner(args []string) int {
	p, err := pool.New(pool.WithWorkers(2), pool.WithName(args[0]))
	if err != nil {
		return proctest.Fail("pool: %v", err)
	}
	if _, err := pool.Map(contextBackground(), p, double, []int64{1, 2, 3, 4}); err != nil {
		return proctest.Fail("map: %v", err)
	}
	for _, w := range p.Workers() {
		fmt.Println(w.Pid)
	}
	time.Sleep(time.Hour)
	return 0
}
