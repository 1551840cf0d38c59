package futex_test

import (
	"testing"

	"github.com/shmkit/shmkit/internal/proctest"
)

// Like every package's, these tests fail if they leave a segment in
// /dev/shm, a mapping, a descriptor or a goroutine.
func TestMain(m *testing.M) { proctest.Main(m, nil) }
