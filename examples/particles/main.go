// Particles: a Go producer streams records — a Go struct per particle —
// over a channel; a Python consumer receives them as numpy structured
// arrays and reduces them with numpy. The record's layout travels in the
// segment, so the Python side declares nothing. Without numpy, a Go
// consumer process does the same work.
//
//	go run ./examples/particles [-n 20000] [-consumer auto|numpy|go]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/shm"
)

// Particle is one record, laid out as C would lay out the same struct.
type Particle struct {
	ID     int64
	Pos    [3]float64
	Vel    [3]float32
	Charge int32
	Mass   float64
}

// batch is how many particles go in one message.
const batch = 64

func main() {
	n := flag.Int("n", 20000, "particles to send")
	consumer := flag.String("consumer", "auto", "numpy, go, or auto (numpy if a python3 has it)")
	flag.Parse()
	if flag.Arg(0) == "consume" { // the Go consumer process
		consume(flag.Arg(1))
		return
	}

	name := fmt.Sprintf("example-particles-%d", os.Getpid())
	seg, err := shm.Create(name, 4<<20)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()
	ch, err := channel.New[Particle](seg, "particles", 16, batch)
	check(err)
	ch.RegisterSender()

	cmd := consumerCommand(*consumer, name)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	check(cmd.Start())
	// If the consumer dies, even before it opens the channel (numpy
	// missing, a bad import), Send returns ErrPeerDead instead of waiting.
	check(ch.ExpectReceiver(cmd.Process.Pid))

	var s summary
	msg := make([]Particle, 0, batch)
	for i := range *n {
		p := particle(i)
		s.add(p)
		if msg = append(msg, p); len(msg) == batch || i == *n-1 {
			check(ch.Send(msg))
			msg = msg[:0]
		}
	}
	check(ch.End())
	fmt.Println("producer:", s)
	check(cmd.Wait())
}

// particle makes particle i, deterministically.
func particle(i int) Particle {
	f := float64(i)
	return Particle{
		ID: int64(i), Pos: [3]float64{math.Sin(f), math.Cos(f), f / 1000},
		Vel:    [3]float32{float32(i%7) - 3, float32(i%5) - 2, float32(i%3) - 1},
		Charge: int32(i%3) - 1, Mass: 1 + float64(i%10)/10,
	}
}

// summary is what both consumers report: the count, the total kinetic
// energy, and the net charge.
type summary struct {
	count  int
	energy float64
	charge int64
}

func (s *summary) add(p Particle) {
	v2 := 0.0
	for _, v := range p.Vel {
		v2 += float64(v) * float64(v)
	}
	s.count++
	s.energy += p.Mass * v2 / 2
	s.charge += int64(p.Charge)
}

func (s summary) String() string {
	return fmt.Sprintf("%d particles, kinetic energy %.6g, net charge %d", s.count, s.energy, s.charge)
}

// consumerCommand is the Python+numpy consumer if a python3 with numpy is
// found (or asked for), else this program as the Go consumer.
func consumerCommand(choice, seg string) *exec.Cmd {
	_, src, _, _ := runtime.Caller(0)
	dir := filepath.Dir(src)
	if choice != "go" {
		for _, py := range []string{"python3", "/usr/bin/python3"} {
			if exec.Command(py, "-c", "import numpy").Run() == nil {
				cmd := exec.Command(py, filepath.Join(dir, "consumer.py"), seg)
				cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "..", "..", "python"))
				return cmd
			}
		}
		if choice == "numpy" {
			log.Fatal("no python3 with numpy found")
		}
	}
	self, err := os.Executable()
	check(err)
	return exec.Command(self, "consume", seg)
}

// consume is the Go consumer: the same reduction as consumer.py.
func consume(segName string) {
	seg, err := shm.Open(segName)
	check(err)
	defer seg.Close()
	ch, err := channel.Open[Particle](seg, "particles")
	check(err)
	var s summary
	for msg, err := range ch.Messages() {
		if errors.Is(err, io.EOF) {
			break
		}
		check(err)
		for _, p := range msg {
			s.add(p)
		}
	}
	fmt.Println("consumer (go):", s)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
