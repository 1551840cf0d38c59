package shmkit_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/queue"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// namesItsLayer: text begins with a package's name, as "shm: …" or, for
// an *fs.PathError, "shm open …".
func namesItsLayer(text string) bool {
	for _, l := range []string{"shm", "ctypes", "semaphore", "channel", "queue", "dict", "pool", "process"} {
		if strings.HasPrefix(text, l+": ") || strings.HasPrefix(text, l+" ") {
			return true
		}
	}
	return false
}

type unsupported struct{ N int }

// TestErrorsNameEachLayerOnce makes representative errors of every package
// and fails on one whose text names a package twice.
func TestErrorsNameEachLayerOnce(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	t.Cleanup(func() { dict.UnlinkAll(seg) }) // the dict's and the list's heap files, before the segment goes
	foreign := proctest.Name(t)
	if err := os.WriteFile("/dev/shm/"+foreign, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	ch, err := channel.New[int32](seg, "ch", 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	ended, err := channel.New[int32](seg, "ended", 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	ended.End()
	closed, err := channel.New[int32](seg, "closed", 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()

	cases := map[string]func() error{
		"shm.Open not shmkit": func() error { _, err := shm.Open(foreign); return err },
		"shm.Open missing":    func() error { _, err := shm.Open(name + "-missing"); return err },
		"shm.Create exists":   func() error { _, err := shm.Create(name, 1<<16); return err },
		"shm.Create bad name": func() error { _, err := shm.Create("a/b", 1<<16); return err },
		"shm.Create too small": func() error {
			_, err := shm.Create(proctest.Name(t), 16)
			return err
		},
		"shm.Lookup missing": func() error { _, err := seg.Lookup("nothing"); return err },
		"shm.Alloc exists": func() error {
			_, err := seg.Alloc(shm.Request{Name: "ch", Kind: shm.KindBytes, Length: 8}, nil)
			return err
		},

		"channel.Send too long":   func() error { return ch.Send(make([]int32, 3)) },
		"channel.Send ended":      func() error { return ended.Send([]int32{1}) },
		"channel.End twice":       func() error { return ended.End() },
		"channel.Send closed":     func() error { return closed.Send([]int32{1}) },
		"channel.Close twice":     func() error { return closed.Close() },
		"channel.Open missing":    func() error { _, err := channel.Open[int32](seg, "nothing"); return err },
		"channel.Open wrong type": func() error { _, err := channel.Open[float64](seg, "ch"); return err },
		"channel.Open wrong kind": func() error {
			_, err := channel.Open[int32](seg, "bytes")
			return err
		},
		"channel.New exists":    func() error { _, err := channel.New[int32](seg, "ch", 4, 2); return err },
		"channel.New bad slots": func() error { _, err := channel.New[int32](seg, "c0", 0, 2); return err },
		"channel.New record":    func() error { _, err := channel.New[unsupported](seg, "c1", 4, 2); return err },

		"ctypes.LayoutOf":        func() error { _, err := ctypes.LayoutOf[unsupported](); return err },
		"ctypes.NewStructValue":  func() error { _, err := ctypes.NewStructValue(seg, "s", unsupported{}); return err },
		"ctypes.NewRawArray neg": func() error { _, err := ctypes.NewRawArray[int32](seg, "a", -1); return err },
		"ctypes.OpenRawValue type": func() error {
			_, err := ctypes.OpenRawValue[float64](seg, "rv")
			return err
		},
		"ctypes.OpenRawValue kind": func() error { _, err := ctypes.OpenRawValue[int32](seg, "ch"); return err },
		"ctypes.OpenValue missing": func() error { _, err := ctypes.OpenValue[int32](seg, "nothing"); return err },
		"ctypes.CharArray too long": func() error {
			a, err := ctypes.NewCharArray(seg, "chars", 2)
			if err != nil {
				return err
			}
			return a.SetValue([]byte("long"))
		},

		"semaphore.New invalid":  func() error { _, err := semaphore.New(seg, "sem", -1); return err },
		"semaphore.Open missing": func() error { _, err := semaphore.Open(seg, "nothing"); return err },
		"semaphore.Open kind":    func() error { _, err := semaphore.Open(seg, "ch"); return err },
		"semaphore.NewBarrier":   func() error { _, err := semaphore.NewBarrier(seg, "b", 0); return err },
		"semaphore.Mutex unlock": func() error {
			m, err := semaphore.NewMutex(seg, "m")
			if err != nil {
				return err
			}
			return m.Unlock()
		},

		"queue.Send too long": func() error {
			q, err := queue.New(seg, "q", 4, 64, 100)
			if err != nil {
				return err
			}
			return q.Send(make([]byte, 101))
		},
		"queue.Open missing": func() error { _, err := queue.Open(seg, "nothing"); return err },
		"queue.Open kind":    func() error { _, err := queue.Open(seg, "bytes"); return err },

		"dict.Set type": func() error {
			d, err := dict.New(seg, "d")
			if err != nil {
				return err
			}
			defer d.Close()
			return d.Set("k", unsupported{})
		},
		"dict.Open missing": func() error { _, err := dict.Open(seg, "nothing"); return err },
		"dict.List index": func() error {
			l, err := dict.NewList(seg, "l")
			if err != nil {
				return err
			}
			defer l.Close()
			_, err = l.Get(3)
			return err
		},

		"pool.Inspect missing":  func() error { _, err := pool.Inspect(seg); return err },
		"process.Start unknown": func() error { _, err := process.Start("no-such-role"); return err },
	}
	if _, err := ctypes.NewRawValue[int32](seg, "rv", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := seg.Alloc(shm.Request{Name: "bytes", Kind: shm.KindBytes, Length: 64}, nil); err != nil {
		t.Fatal(err)
	}
	for what, make := range cases {
		err := make()
		switch {
		case err == nil:
			t.Errorf("%s: no error", what)
		case errors.Is(err, semaphore.ErrNoCgo):
			t.Logf("%s: needs cgo", what)
		default:
			t.Logf("%s: %v", what, err)
			if l := errtext.Repeated(err.Error()); l != "" {
				t.Errorf("%s names %s twice: %v", what, l, err)
			}
			if !namesItsLayer(err.Error()) {
				t.Errorf("%s does not begin with its package: %v", what, err)
			}
		}
	}
}
