//go:build !cgo

package cbind

import (
	"syscall"
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

// DictHandle is absent without cgo.
type DictHandle struct{}

// DictCursor is absent without cgo.
type DictCursor struct{}

// DictStats is absent without cgo.
type DictStats struct{ Count, Slots, HeapSize, Used, Recoveries uint64 }

// ShortBuf is the errno of an operation whose value did not fit the buffer.
const ShortBuf = syscall.ENOBUFS

func DictInit([]byte, string, string, bool, uint32) error          { return ErrNoCgo }
func DictAttach([]byte, bool) (DictHandle, error)                  { return DictHandle{}, ErrNoCgo }
func DictUnlink([]byte) error                                      { return ErrNoCgo }
func (DictHandle) Close()                                          {}
func (DictHandle) Mapping() (unsafe.Pointer, *uint64)              { return nil, nil }
func (DictHandle) Kind() uint16                                    { return 0 }
func DictHash(int, []byte) uint64                                  { return 0 }
func (DictHandle) Get(int, []byte, []byte) (int, int, error)       { return 0, 0, ErrNoCgo }
func (DictHandle) Set(int, []byte, int, []byte) error              { return ErrNoCgo }
func (DictHandle) Delete(int, []byte) error                        { return ErrNoCgo }
func (DictHandle) Add(int, []byte, int64) (int64, error)           { return 0, ErrNoCgo }
func (DictHandle) Len() (int, error)                               { return 0, ErrNoCgo }
func (DictHandle) Clear() error                                    { return ErrNoCgo }
func (DictHandle) Stats() DictStats                                { return DictStats{} }
func (DictHandle) ListGet(int, []byte) (int, int, error)           { return 0, 0, ErrNoCgo }
func (DictHandle) ListSet(int, int, []byte) error                  { return ErrNoCgo }
func (DictHandle) ListInsert(int, int, []byte) error               { return ErrNoCgo }
func (DictHandle) ListPop(int, []byte) (int, int, error)           { return 0, 0, ErrNoCgo }
func (DictHandle) ListReverse() error                              { return ErrNoCgo }
func (DictHandle) DictTestLock() error                             { return ErrNoCgo }
func (DictHandle) DictTestOverwrite(int, []byte, int64, int) error { return ErrNoCgo }
func (DictHandle) LoadOrStore(int, []byte, int, []byte, []byte) (bool, int, int, error) {
	return false, 0, 0, ErrNoCgo
}
func (DictHandle) CompareAndSwap(int, []byte, int, []byte, int, []byte) (bool, error) {
	return false, ErrNoCgo
}
func (DictHandle) Next(*DictCursor, []byte, []byte) (int, int, int, int, bool, error) {
	return 0, 0, 0, 0, false, ErrNoCgo
}
