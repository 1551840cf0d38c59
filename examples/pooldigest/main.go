// SHA-512 digests of every file under a directory, computed by a pool of
// 2 workers: the seed's build_digest_map, which builds a dict from
// pool.imap_unordered(compute_digest, allfiles, 20). The file names are
// read lazily, as the seed's generator is.
//
//	go run ./examples/pooldigest -dir .
package main

import (
	"context"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
)

const (
	bufSize  = 8192 // read buffer size
	poolSize = 2    // number of workers
)

// A fileDigest is what a worker sends back: the file's name and digest.
// It crosses as its MarshalBinary bytes.
type fileDigest struct {
	Name string
	Sum  [sha512.Size]byte
}

func (d fileDigest) MarshalBinary() ([]byte, error) {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(d.Name)))
	b = append(b, d.Name...)
	return append(b, d.Sum[:]...), nil
}

func (d *fileDigest) UnmarshalBinary(b []byte) error {
	if len(b) < 4 {
		return errors.New("digest: short")
	}
	n := int(binary.LittleEndian.Uint32(b))
	if len(b) != 4+n+sha512.Size {
		return errors.New("digest: bad length")
	}
	d.Name = string(b[4 : 4+n])
	copy(d.Sum[:], b[4+n:])
	return nil
}

var computeDigest = pool.Register("compute_digest", func(filename string) (fileDigest, error) {
	f, err := os.Open(filename)
	if err != nil {
		return fileDigest{}, err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, bufSize)); err != nil {
		return fileDigest{}, err
	}
	d := fileDigest{Name: filename}
	h.Sum(d.Sum[:0])
	return d, nil
})

func buildDigestMap(p *pool.Pool, topdir string) (map[string][sha512.Size]byte, error) {
	allFiles := func(yield func(string) bool) { // os.walk, lazily
		filepath.WalkDir(topdir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !yield(path) {
				return filepath.SkipAll
			}
			return nil
		})
	}
	digests := map[string][sha512.Size]byte{}
	for r := range pool.ImapUnordered(context.Background(), p, computeDigest, allFiles) {
		if r.Err != nil {
			return nil, r.Err
		}
		digests[r.Value.Name] = r.Value.Sum
	}
	return digests, nil
}

func main() {
	process.Dispatch()
	dir := flag.String("dir", ".", "the directory to digest")
	flag.Parse()

	p, err := pool.New(pool.WithWorkers(poolSize), pool.WithChunkSize(20),
		pool.WithName(fmt.Sprintf("example-pooldigest-%d", os.Getpid())))
	if err != nil {
		log.Fatal(err)
	}
	digests, err := buildDigestMap(p, *dir)
	p.Close()
	if jerr := p.Join(); err == nil {
		err = jerr
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(digests))
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range digests {
			if !yield(name) {
				return
			}
		}
	})
	agree := true
	for _, name := range names {
		sum := digests[name]
		fmt.Printf("%s: %s\n", name, hex.EncodeToString(sum[:8]))
		b, err := os.ReadFile(name) // check the worker's digest here
		if err != nil || sha512.Sum512(b) != sum {
			agree = false
		}
	}
	fmt.Printf("%d files, digests agree with this process's: %v\n", len(digests), agree)
}
