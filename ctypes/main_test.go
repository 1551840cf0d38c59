package ctypes_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{
		"write":     helperWrite,
		"prefixsum": helperPrefixSum,
		"count":     helperCount,
		"holdlock":  helperHoldLock,
		"openarray": helperOpenArray,
		"readonly":  helperReadOnly,
		"particles": helperParticles,
	})
}

func openSeg(name string) *shm.Segment { return proctest.OpenSegment(name) }

// helperWrite writes the sample of typecode args[1] into value "v" and
// every element of array "a".
func helperWrite(args []string) int {
	seg := openSeg(args[0])
	for _, s := range samples {
		if string(rune(s.code())) == args[1] {
			if err := s.write(seg); err != nil {
				return proctest.Fail("write %s: %v", args[1], err)
			}
			return 0
		}
	}
	return proctest.Fail("no sample for %q", args[1])
}

// helperPrefixSum replaces array "a" by its prefix sums, under its lock.
func helperPrefixSum(args []string) int {
	seg := openSeg(args[0])
	a, err := ctypes.OpenArray[int64](seg, "a")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	err = a.Update(func(s []int64) {
		for i := 1; i < len(s); i++ {
			s[i] += s[i-1]
		}
	})
	if err != nil {
		return proctest.Fail("update: %v", err)
	}
	return 0
}

// helperCount adds 1 to value "n" args[2] times: with its lock (args[1] ==
// "lock") or with atomic Add and no lock ("atomic").
func helperCount(args []string) int {
	seg := openSeg(args[0])
	v, err := ctypes.OpenValue[int32](seg, "n")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	k, _ := strconv.Atoi(args[2])
	for range k {
		if args[1] == "lock" {
			_, err = v.Update(func(x int32) int32 { return x + 1 })
		} else {
			v.Raw().Add(1)
		}
		if err != nil {
			return proctest.Fail("update: %v", err)
		}
	}
	return 0
}

// helperHoldLock takes value "n"'s lock, says so, and waits to be killed.
func helperHoldLock(args []string) int {
	seg := openSeg(args[0])
	v, err := ctypes.OpenValue[int32](seg, "n")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	if err := v.Lock(); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	fmt.Println("locked")
	io.ReadAll(os.Stdin)
	return 0
}

// helperOpenArray opens array args[1] of segment args[0] with OpenArray and
// says how that went: "ok", "no lock", or the error.
func helperOpenArray(args []string) int {
	_, err := ctypes.OpenArray[int32](openSeg(args[0]), args[1])
	switch {
	case err == nil:
		fmt.Println("ok")
	case errors.Is(err, ctypes.ErrNoLock):
		fmt.Println("no lock")
	default:
		fmt.Println(err)
	}
	return 0
}
