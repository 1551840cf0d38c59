package shmkit_test

import (
	"testing"

	"github.com/shmkit/shmkit/internal/proctest"
)

// Like every package's, these tests fail if they leave a segment (or a
// dict's heap file) in /dev/shm, a mapping, a descriptor or a goroutine.
func TestMain(m *testing.M) { proctest.Main(m, nil) }
