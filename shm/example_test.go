package shm_test

import (
	"fmt"
	"os"

	"github.com/shmkit/shmkit/shm"
)

func Example() {
	name := fmt.Sprintf("shmkit-example-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16) // /dev/shm/<name>, mode 0600
	if err != nil {
		panic(err)
	}
	defer shm.Unlink(name)
	defer seg.Close()
	_, err = seg.Alloc(shm.Request{Name: "greeting", Kind: shm.KindBytes, Length: 5},
		func(mem []byte) error { copy(mem, "hello"); return nil })
	if err != nil {
		panic(err)
	}

	// Another process: attach by name, look the object up by name.
	other, err := shm.Open(name)
	if err != nil {
		panic(err)
	}
	defer other.Close()
	obj, err := other.Lookup("greeting")
	if err != nil {
		panic(err)
	}
	fmt.Println(obj.Kind, string(obj.Bytes()[:5]))
	// Output: bytes hello
}
