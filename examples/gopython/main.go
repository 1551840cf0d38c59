// Go and Python: a Go program and a Python script share an array and a
// channel by name. Go fills the array; Python (worker.py, standard library
// only) reads it, writes its running sum back into it in place, and sends
// one message per row on the channel, then closes it; Go reads until EOF.
// If Python dies, even before it opens the channel, Go's receive returns
// ErrPeerDead rather than waiting for it.
//
//	go run ./examples/gopython        (needs python3; the Python package is in python/)
package main

import (
	"errors"
	"flag"
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
	python := flag.String("python", "python3", "the Python interpreter to run worker.py with")
	flag.Parse()
	if err := run(*python); err != nil {
		log.Fatal(err)
	}
}

func run(python string) error {
	name := fmt.Sprintf("example-gopython-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	if err != nil {
		return err
	}
	defer shm.Unlink(name)
	defer seg.Close()

	data := make([]float64, 12)
	for i := range data {
		data[i] = float64(i + 1)
	}
	arr, err := ctypes.NewArrayFrom(seg, "data", data)
	if err != nil {
		return err
	}
	rows, err := channel.New[float64](seg, "rows", 4, 4)
	if err != nil {
		return err
	}
	rows.RegisterReceiver()

	_, src, _, _ := runtime.Caller(0) // this file: worker.py and the package are beside it
	dir := filepath.Dir(src)
	py := exec.Command(python, filepath.Join(dir, "worker.py"), name)
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "..", "..", "python"))
	py.Stdout, py.Stderr = os.Stdout, os.Stderr
	if err := py.Start(); err != nil {
		return err
	}
	// Python is the sender: named now, before it runs far enough to
	// register itself, so that its death at any point ends the loop below.
	if err := rows.ExpectSender(py.Process.Pid); err != nil {
		py.Process.Kill()
		py.Wait()
		return err
	}

	for {
		row, err := rows.RecvNew()
		if errors.Is(err, io.EOF) {
			break // Python closed the channel
		}
		if err != nil {
			return fmt.Errorf("%w (python: %v)", err, py.Wait())
		}
		fmt.Println("Go received:", row)
	}
	if err := py.Wait(); err != nil {
		return err
	}
	fmt.Println("Go sees the array Python rewrote:", arr.Raw().Slice())
	return nil
}
