// Adder server: the seed's Pipe example. A server process answers each
// request [a, b] with a+b over one duplex pipe, until the client closes
// its end; the server's Recv then returns io.EOF and it prints that it is
// done.
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

	client, err := channel.NewPipe[float64](seg, "adder", 1, 2) // Pipe(): the client holds end 0
	check(err)
	p, err := process.Start("server", name) // the server opens end 1
	check(err)
	// If the server dies, even before it opens its end, Send and Recv
	// return ErrPeerDead instead of waiting for it.
	check(client.ExpectPeer(p.Pid()))

	for _, req := range [][]float64{{1, 2}, {3.5, 4}, {-10, 10}, {1e6, 1}} {
		check(client.Send(req))
		sum, err := client.Recv()
		check(err)
		fmt.Printf("%g + %g = %g\n", req[0], req[1], sum[0])
	}
	check(client.Close()) // the server's Recv returns io.EOF: it stops
	check(p.Wait())
}

func server(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	conn, err := channel.OpenPipe[float64](seg, "adder", 1)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		req, err := conn.Recv()
		if errors.Is(err, io.EOF) {
			fmt.Println("Server done")
			return nil
		}
		if err != nil {
			return err
		}
		if err := conn.Send([]float64{req[0] + req[1]}); err != nil {
			return err
		}
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
