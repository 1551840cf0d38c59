//go:build cgo

package cgo

/*
#include <stddef.h>
#include "shmkit.h"
*/
import "C"

import "unsafe"

// Field is one struct field as the C compiler lays it out.
type Field struct {
	Struct string
	Name   string
	Offset uintptr
	Size   uintptr
}

// CLayout reports every field of shmkit.h's structs as compiled by C, and the
// struct sizes under the field name "sizeof". Tests compare it with package
// internal/layout.
func CLayout() []Field {
	var h C.struct_shmkit_header
	var e C.struct_shmkit_entry
	return []Field{
		{"shmkit_header", "sizeof", 0, C.sizeof_struct_shmkit_header},
		{"shmkit_header", "magic", unsafe.Offsetof(h.magic), unsafe.Sizeof(h.magic)},
		{"shmkit_header", "version", unsafe.Offsetof(h.version), unsafe.Sizeof(h.version)},
		{"shmkit_header", "header_size", unsafe.Offsetof(h.header_size), unsafe.Sizeof(h.header_size)},
		{"shmkit_header", "segment_size", unsafe.Offsetof(h.segment_size), unsafe.Sizeof(h.segment_size)},
		{"shmkit_header", "dir_capacity", unsafe.Offsetof(h.dir_capacity), unsafe.Sizeof(h.dir_capacity)},
		{"shmkit_header", "dir_count", unsafe.Offsetof(h.dir_count), unsafe.Sizeof(h.dir_count)},
		{"shmkit_header", "alloc_cursor", unsafe.Offsetof(h.alloc_cursor), unsafe.Sizeof(h.alloc_cursor)},
		{"shmkit_header", "creator_pid", unsafe.Offsetof(h.creator_pid), unsafe.Sizeof(h.creator_pid)},
		{"shmkit_header", "flags", unsafe.Offsetof(h.flags), unsafe.Sizeof(h.flags)},
		{"shmkit_header", "created_ns", unsafe.Offsetof(h.created_ns), unsafe.Sizeof(h.created_ns)},
		{"shmkit_header", "reserved", unsafe.Offsetof(h.reserved), unsafe.Sizeof(h.reserved)},
		{"shmkit_entry", "sizeof", 0, C.sizeof_struct_shmkit_entry},
		{"shmkit_entry", "name", unsafe.Offsetof(e.name), unsafe.Sizeof(e.name)},
		{"shmkit_entry", "state", unsafe.Offsetof(e.state), unsafe.Sizeof(e.state)},
		{"shmkit_entry", "kind", unsafe.Offsetof(e.kind), unsafe.Sizeof(e.kind)},
		{"shmkit_entry", "typecode", unsafe.Offsetof(e.typecode), unsafe.Sizeof(e.typecode)},
		{"shmkit_entry", "flags", unsafe.Offsetof(e.flags), unsafe.Sizeof(e.flags)},
		{"shmkit_entry", "count", unsafe.Offsetof(e.count), unsafe.Sizeof(e.count)},
		{"shmkit_entry", "offset", unsafe.Offsetof(e.offset), unsafe.Sizeof(e.offset)},
		{"shmkit_entry", "length", unsafe.Offsetof(e.length), unsafe.Sizeof(e.length)},
		{"shmkit_entry", "param0", unsafe.Offsetof(e.param0), unsafe.Sizeof(e.param0)},
		{"shmkit_entry", "param1", unsafe.Offsetof(e.param1), unsafe.Sizeof(e.param1)},
		{"shmkit_entry", "reserved", unsafe.Offsetof(e.reserved), unsafe.Sizeof(e.reserved)},
	}
}

// CConstants reports shmkit.h's numeric constants as C sees them.
func CConstants() map[string]uint64 {
	return map[string]uint64{
		"SHMKIT_MAGIC":          C.SHMKIT_MAGIC,
		"SHMKIT_VERSION":        C.SHMKIT_VERSION,
		"SHMKIT_ALIGN":          C.SHMKIT_ALIGN,
		"SHMKIT_NAME_MAX":       C.SHMKIT_NAME_MAX,
		"SHMKIT_ENTRY_EMPTY":    C.SHMKIT_ENTRY_EMPTY,
		"SHMKIT_ENTRY_READY":    C.SHMKIT_ENTRY_READY,
		"SHMKIT_KIND_BYTES":     C.SHMKIT_KIND_BYTES,
		"SHMKIT_KIND_VALUE":     C.SHMKIT_KIND_VALUE,
		"SHMKIT_KIND_ARRAY":     C.SHMKIT_KIND_ARRAY,
		"SHMKIT_KIND_SEMAPHORE": C.SHMKIT_KIND_SEMAPHORE,
		"SHMKIT_KIND_BOUNDED":   C.SHMKIT_KIND_BOUNDED,
		"SHMKIT_KIND_MUTEX":     C.SHMKIT_KIND_MUTEX,
		"SHMKIT_KIND_RMUTEX":    C.SHMKIT_KIND_RMUTEX,
		"SHMKIT_KIND_COND":      C.SHMKIT_KIND_COND,
		"SHMKIT_KIND_EVENT":     C.SHMKIT_KIND_EVENT,
		"SHMKIT_KIND_BARRIER":   C.SHMKIT_KIND_BARRIER,
		"SHMKIT_KIND_CHANNEL":   C.SHMKIT_KIND_CHANNEL,
		"SHMKIT_FLAG_LOCKED":    C.SHMKIT_FLAG_LOCKED,
	}
}
