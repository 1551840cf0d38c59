// Adder server: the seed's Pipe example. A server process answers each
// request [a, b] with a+b, over a pair of channels (one each way), until
// the client closes the request channel.
//
//	go run ./examples/adder
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	process.Main(map[string]process.Func{"server": server})

	name := fmt.Sprintf("example-adder-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	requests, err := channel.New[float64](seg, "requests", 1, 2)
	check(err)
	replies, err := channel.New[float64](seg, "replies", 1, 1)
	check(err)
	p, err := process.Start("server", name)
	check(err)
	// If the server dies, even before it opens the channels, Send and Recv
	// return ErrPeerDead instead of waiting for it.
	check(requests.ExpectReceiver(p.Pid()))
	check(replies.ExpectSender(p.Pid()))

	sum := make([]float64, 1)
	for _, req := range [][]float64{{1, 2}, {3.5, 4}, {-10, 10}, {1e6, 1}} {
		check(requests.Send(req))
		_, err := replies.Recv(sum)
		check(err)
		fmt.Printf("%g + %g = %g\n", req[0], req[1], sum[0])
	}
	check(requests.End()) // the server's Recv returns io.EOF: it stops
	check(p.Wait())
}

func server(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	requests, err := channel.Open[float64](seg, "requests")
	if err != nil {
		return err
	}
	replies, err := channel.Open[float64](seg, "replies")
	if err != nil {
		return err
	}
	req := make([]float64, 2)
	for {
		if _, err := requests.Recv(req); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := replies.Send([]float64{req[0] + req[1]}); err != nil {
			return err
		}
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
