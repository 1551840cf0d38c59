// Go and Python: a Go program and a Python script share an array and a
// channel by name. Go fills the array; Python (worker.py, standard library
// only) reads it, writes its running sum back into it in place, and sends
// one message per row on the channel, then closes it; Go reads until EOF.
//
//	go run ./examples/gopython        (needs python3; the Python package is in python/)
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	name := fmt.Sprintf("example-gopython-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	data := make([]float64, 12)
	for i := range data {
		data[i] = float64(i + 1)
	}
	arr, err := ctypes.NewArrayFrom(seg, "data", data)
	check(err)
	rows, err := channel.New[float64](seg, "rows", 4, 4)
	check(err)
	rows.RegisterReceiver()

	_, src, _, _ := runtime.Caller(0) // this file: worker.py and the package are beside it
	dir := filepath.Dir(src)
	py := exec.Command("python3", filepath.Join(dir, "worker.py"), name)
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "..", "..", "python"))
	py.Stdout, py.Stderr = os.Stdout, os.Stderr
	check(py.Start())

	for {
		row, err := rows.RecvNew()
		if errors.Is(err, io.EOF) {
			break // Python closed the channel
		}
		check(err)
		fmt.Println("Go received:", row)
	}
	check(py.Wait())
	fmt.Println("Go sees the array Python rewrote:", arr.Raw().Slice())
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
