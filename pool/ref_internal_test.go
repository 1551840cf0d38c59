package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
)

// TestRefDecodeRefuses: bytes that are not a whole reference, or one to
// another element type, are refused before any segment is looked for.
func TestRefDecodeRefuses(t *testing.T) {
	enc := ArrayRef[float64]{segment: "shmkit-test-none", array: "xs", created: 1, off: 2, n: 3}.appendRef(nil)
	require.Len(t, enc, refHeader+len("shmkit-test-none")+2)
	floats, err := codecFor[ArrayRef[float64]]()
	require.NoError(t, err)
	for _, b := range [][]byte{nil, enc[:refHeader-1], enc[:len(enc)-1], append(enc, 0)} {
		_, err := floats.dec(b)
		assert.ErrorIs(t, err, ErrProtocol, "%d bytes", len(b))
	}
	ints, err := codecFor[ArrayRef[int32]]()
	require.NoError(t, err)
	_, err = ints.dec(enc)
	assert.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	back, err := floats.enc(nil, ArrayRef[float64]{segment: "shmkit-test-none", array: "xs", created: 1, off: 2, n: 3})
	require.NoError(t, err)
	assert.Equal(t, enc, back)
}
