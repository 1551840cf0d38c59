package shm_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// Printing an Object with %+v dumped its whole memory: a megabyte object
// printed four megabytes of numbers. Every verb now prints what it is.
func TestObjectPrintsWhatItIs(t *testing.T) {
	seg, _ := proctest.Segment(t, 4<<20)
	o, err := seg.Alloc(shm.Request{Name: "big", Kind: shm.KindArray, Typecode: 'd', Count: 1 << 17, Length: 1 << 20}, nil)
	require.NoError(t, err)
	want := fmt.Sprintf(`array "big" ('d' × 131072): 1048576 bytes at offset %d`, o.Offset)
	for _, verb := range []string{"%v", "%+v", "%s"} {
		for _, v := range []any{o, &o} {
			got := fmt.Sprintf(verb, v)
			if assert.Less(t, len(got), 200, "%s of %T: %.200s…", verb, v, got) {
				assert.Equal(t, want, got, verb)
			}
		}
	}
	goSyntax := fmt.Sprintf("%#v", o)
	assert.Less(t, len(goSyntax), 300, "%%#v: %.300s", goSyntax)
	assert.Contains(t, goSyntax, `Name:"big"`)
	assert.Contains(t, goSyntax, `Length:0x100000`)

	b, err := seg.Alloc(shm.Request{Name: "raw", Kind: shm.KindBytes, Length: 100}, nil)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf(`bytes "raw": %d bytes at offset %d`, b.Length, b.Offset), fmt.Sprint(b))
}
