//go:build !cgo

package cbind

import (
	"unsafe"

	"github.com/shmkit/shmkit/internal/layout"
)

// Available reports whether this build has the C primitives.
const Available = false

// Without cgo every primitive fails with ErrNoCgo.

func NamedTryWait(NamedSem) error                              { return ErrNoCgo }
func NamedTimedWait(NamedSem, int64) error                     { return ErrNoCgo }
func NamedPost(NamedSem) error                                 { return ErrNoCgo }
func NamedValue(NamedSem) (int, error)                         { return 0, ErrNoCgo }
func NamedClose(NamedSem) error                                { return ErrNoCgo }
func NamedUnlink(string) error                                 { return ErrNoCgo }
func MutexInit(*layout.Mutex, bool) error                      { return ErrNoCgo }
func MutexLock(*layout.Mutex) error                            { return ErrNoCgo }
func MutexTryLock(*layout.Mutex) error                         { return ErrNoCgo }
func MutexTimedLock(*layout.Mutex, int64) error                { return ErrNoCgo }
func MutexUnlock(*layout.Mutex) error                          { return ErrNoCgo }
func MutexConsistent(*layout.Mutex) error                      { return ErrNoCgo }
func BarrierInit(*layout.Barrier, uint32) error                { return ErrNoCgo }
func BarrierArrive(*layout.Barrier) (uint32, uint32, error)    { return 0, 0, ErrNoCgo }
func BarrierOutcome(*layout.Barrier, uint32) error             { return ErrNoCgo }
func BarrierTimeout(*layout.Barrier, uint32) error             { return ErrNoCgo }
func BarrierAbort(*layout.Barrier) error                       { return ErrNoCgo }
func BarrierReset(*layout.Barrier) error                       { return ErrNoCgo }
func NamedOpen(string, bool, uint32, uint32) (NamedSem, error) { return NamedSem{}, ErrNoCgo }

// Copy is Go's copy.
func Copy(dst, src []byte) { copy(dst, src) }

func RobustThreads() unsafe.Pointer         { return nil }
func MutexLevels(*layout.Mutex) int         { return 0 }
func RobustRegister(uintptr) error          { return ErrNoCgo }
func RobustLayout() [9]uint64               { return [9]uint64{} }
func RobustSelfTest() (int32, int32, error) { return 0, 0, ErrNoCgo }
