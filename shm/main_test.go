package shm_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{
		"readwrite":       helperReadWrite,
		"alloc":           helperAlloc,
		"openfifo":        helperOpenFIFO,
		"fullshm":         helperFullShm,
		"lowercursor":     helperLowerCursor,
		"spoilname":       helperSpoilName,
		"openloop":        helperOpenLoop,
		"flockro":         helperFlockReadOnly,
		"stopinalloc":     helperStopInAlloc,
		"allochandles":    helperAllocHandles,
		"closewhilealloc": helperCloseWhileAllocWaits,
		"newnames":        helperNewNames,
		"underaslimit":    helperUnderASLimit,
	}, removeCBuild)
}

// helperReadWrite opens segment args[0], prints object "msg", and overwrites
// it with args[1].
func helperReadWrite(args []string) int {
	seg, err := shm.Open(args[0])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer seg.Close()
	obj, err := seg.Lookup("msg")
	if err != nil {
		return proctest.Fail("lookup: %v", err)
	}
	fmt.Println(string(obj.Bytes()[:obj.Param0]))
	n := copy(obj.Bytes(), args[1])
	clear(obj.Bytes()[n:])
	return 0
}

// helperAlloc waits for a line on stdin, then allocates args[2] objects
// named args[1]-N in segment args[0], each filled with its own name.
func helperAlloc(args []string) int {
	seg, err := shm.Open(args[0])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer seg.Close()
	n, _ := strconv.Atoi(args[2])
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return proctest.Fail("start gate: %v", err)
	}
	for i := range n {
		name := fmt.Sprintf("%s-%d", args[1], i)
		_, err := seg.Alloc(shm.Request{Name: name, Kind: shm.KindBytes, Length: uint64(1 + i%200)},
			func(mem []byte) error { copy(mem, name); return nil })
		if err != nil {
			return proctest.Fail("alloc %s: %v", name, err)
		}
	}
	return 0
}
