// FloatChannel: the seed's performance program. A producer sends 1000
// messages of 100,000 float64 through a one-slot channel to a consumer
// process, and the program prints messages and megabytes per second.
//
// The seed's send() assigned self.buffer_len = nitems, replacing the shared
// length by a local int, so its consumer never saw a length; here the
// length travels with each message.
//
//	go run ./examples/floatchannel [-count 1000] [-size 100000]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	process.Main(map[string]process.Func{"consume": consume})
	count := flag.Int("count", 1000, "messages")
	size := flag.Int("size", 100000, "float64 per message")
	flag.Parse()

	name := fmt.Sprintf("example-floatchannel-%d", os.Getpid())
	seg, err := shm.Create(name, 8*(*size)+1<<20)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	ch, err := channel.NewFloatChannel(seg, "ch", *size) // FloatChannel(100000)
	check(err)
	p, err := process.Start("consume", name, strconv.Itoa(*count))
	check(err)
	check(ch.ExpectReceiver(p.Pid())) // a consumer that dies, even before it opens the channel: ErrPeerDead

	values := make([]float64, *size) // [float(x) for x in range(100000)]
	for i := range values {
		values[i] = float64(i)
	}
	start := time.Now()
	for range *count { // produce_test
		check(ch.Send(values))
	}
	check(p.Wait()) // the consumer has copied out the last message
	d := time.Since(start)
	fmt.Printf("Done: %d messages of %d float64 in %v\n", *count, *size, d.Round(time.Millisecond))
	fmt.Printf("%.0f msgs/s, %.0f MB/s\n", float64(*count)/d.Seconds(), float64(*count*8*(*size))/d.Seconds()/1e6)
}

// consume is the seed's consume_test: receive count messages, copying
// each out, and check the last element of each.
func consume(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	ch, err := channel.OpenFloatChannel(seg, "ch")
	if err != nil {
		return err
	}
	count, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	values := make([]float64, ch.MaxLen())
	for range count {
		n, err := ch.Recv(values)
		if err != nil {
			return err
		}
		if values[n-1] != float64(n-1) {
			return fmt.Errorf("message ends with %g, not %d", values[n-1], n-1)
		}
	}
	return nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
