// The seed's other Pipe programs, on one shmkit pipe each:
//
//   - producer and consumer: the producer sends 1..4 and closes its end;
//     the consumer prints each item until Recv returns io.EOF;
//
//   - sender and receiver: "Hello", "World", "From", "Pipe" cross a
//     one-way pipe (Python's Pipe(duplex=False)), then "Done";
//
//   - one writer, two readers taking turns under a Lock, each reading two
//     of the five letters the writer sends.
//
//     go run ./examples/pipe
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	process.Main(map[string]process.Func{"consumer": consumer, "receiver": receiver, "reader": reader})

	name := fmt.Sprintf("example-pipe-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	// Producer and consumer.
	input, err := channel.NewPipe[byte](seg, "items", 4, 64)
	check(err)
	cons, err := process.Start("consumer", name)
	check(err)
	for _, item := range []int{1, 2, 3, 4} {
		check(input.Send([]byte(strconv.Itoa(item))))
	}
	check(input.Close()) // signal completion: the consumer sees EOF
	check(cons.Wait())

	// Sender and receiver over a one-way pipe: end 0 reads, end 1 writes.
	r, err := channel.NewPipe[byte](seg, "words", 4, 64, channel.WithOneWay())
	check(err)
	check(r.Close()) // the receiver process opens end 0 itself
	recv, err := process.Start("receiver", name)
	check(err)
	send, err := channel.OpenPipe[byte](seg, "words", 1)
	check(err)
	for _, m := range []string{"Hello", "World", "From", "Pipe"} {
		fmt.Println("Sender: Sending", m)
		check(send.Send([]byte(m)))
	}
	check(send.Close())
	check(recv.Wait())
	fmt.Println("Done")

	// One writer, two readers under a lock.
	_, err = semaphore.NewMutex(seg, "read-lock")
	check(err)
	letters, err := channel.NewPipe[byte](seg, "letters", 8, 8)
	check(err)
	readers, err := process.StartAll(2, "reader", name)
	check(err)
	for _, v := range []string{"A", "B", "C", "D", "E"} {
		fmt.Printf("Put %s to queue ...\n", v)
		check(letters.Send([]byte(v)))
	}
	for _, r := range readers {
		check(r.Wait())
	}
	check(letters.Close())
}

func consumer(args []string) error {
	seg, conn, err := open(args[0], "items", 1)
	if err != nil {
		return err
	}
	defer seg.Close()
	defer conn.Close()
	for {
		item, err := conn.Recv()
		if errors.Is(err, io.EOF) {
			fmt.Println("Consumer done")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Println(string(item))
	}
}

func receiver(args []string) error {
	seg, conn, err := open(args[0], "words", 0)
	if err != nil {
		return err
	}
	defer seg.Close()
	defer conn.Close()
	for {
		m, err := conn.Recv()
		if errors.Is(err, io.EOF) {
			return nil // the sender closed its end
		}
		if err != nil {
			return err
		}
		fmt.Println("Receiver: Received", string(m))
	}
}

func reader(args []string) error {
	seg, conn, err := open(args[0], "letters", 1)
	if err != nil {
		return err
	}
	defer seg.Close()
	mu, err := semaphore.OpenMutex(seg, "read-lock")
	if err != nil {
		return err
	}
	for range 2 {
		if err := mu.Lock(); err != nil {
			return err
		}
		v, err := conn.Recv()
		mu.Unlock()
		if err != nil {
			return err
		}
		fmt.Println("read q and q status:", string(v))
	}
	return nil
}

// open attaches to segment name and opens an end of its pipe.
func open(name, pipe string, end int) (*shm.Segment, *channel.Conn[byte], error) {
	seg, err := shm.Open(name)
	if err != nil {
		return nil, nil, err
	}
	conn, err := channel.OpenPipe[byte](seg, pipe, end)
	if err != nil {
		seg.Close()
		return nil, nil, err
	}
	return seg, conn, nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
