// Named queues: the seeds' BaseManager program, a server that registers
// two queues (one per person) and two clients that connect to it, each
// leaving a message in its own queue and reading the other's. Python's
// manager serves the queues over a socket, to other machines too, behind
// an authkey. shmkit is one machine only: the "server" creates a segment
// with the two queues and its name is the address; a client is any process
// of the same user (the segment's file mode is the key) that opens the
// segment by that name. Nothing runs in the server while clients talk.
//
//	go run ./examples/namedqueues                    server and both clients
//	namedqueues -serve -name NAME                    a server, until Ctrl-C
//	namedqueues -client zhang|ming -name NAME        a client, in another terminal
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/queue"
	"github.com/shmkit/shmkit/shm"
)

// wait is how long a client waits for the other's message.
const wait = time.Minute

func main() {
	process.Main(map[string]process.Func{"client": func(args []string) error { return client(args[0], args[1]) }})
	serve := flag.Bool("serve", false, "only create the queues, and remove them on SIGINT or SIGTERM")
	who := flag.String("client", "", "run one client, zhang or ming, against a server's segment")
	name := flag.String("name", fmt.Sprintf("example-namedqueues-%d", os.Getpid()), "the segment's name: the server's address")
	flag.Parse()

	if *who != "" {
		check(client(*name, *who))
		return
	}
	seg, err := shm.Create(*name, 1<<16) // BaseManager(address=...); only this user may open it
	check(err)
	defer shm.Unlink(*name)
	defer seg.Close()
	for _, q := range []string{"zhang", "ming"} { // register("get_zhang_queue"), register("get_ming_queue")
		_, err := queue.New(seg, q, 8, 256, 1024)
		check(err)
	}
	if *serve {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		fmt.Println("serving", *name)
		<-ctx.Done() // serve_forever
		fmt.Println("server done")
		return
	}
	// Two client processes, given nothing but the name.
	var ps []*process.Process
	for _, who := range []string{"zhang", "ming"} {
		p, err := process.Start("client", *name, who)
		check(err)
		ps = append(ps, p)
	}
	check(process.WaitAll(ps))
}

// client is the seeds' client 1 (zhang) or client 2 (ming): it connects to
// the segment by name, puts a message in its own queue and reads the
// other's.
func client(name, who string) error {
	var mine, theirs, msg string
	switch who {
	case "zhang":
		mine, theirs, msg = "zhang", "ming", "[Zhang] Xiaoming, is the boss away tomorrow?"
	case "ming":
		mine, theirs, msg = "ming", "zhang", "[Ming] Yes, and no overtime for days (>_<)"
	default:
		return fmt.Errorf("client %q: want zhang or ming", who)
	}
	seg, err := shm.Open(name) // m.connect()
	if err != nil {
		return err
	}
	defer seg.Close()
	out, err := queue.Open(seg, mine)
	if err != nil {
		return err
	}
	in, err := queue.Open(seg, theirs)
	if err != nil {
		return err
	}
	if err := out.Send([]byte(msg)); err != nil {
		return err
	}
	got, ok, err := in.RecvTimeout(wait)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: no message from %s in %v", who, theirs, wait)
	}
	fmt.Printf("%s got: %s\n", who, got)
	return nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
