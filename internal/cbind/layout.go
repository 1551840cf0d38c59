//go:build cgo

package cbind

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
	var (
		h   C.struct_shmkit_header
		e   C.struct_shmkit_entry
		sem C.struct_shmkit_semaphore
		mu  C.struct_shmkit_mutex
		cv  C.struct_shmkit_cond
		ev  C.struct_shmkit_event
		br  C.struct_shmkit_barrier
		ch  C.struct_shmkit_channel
		sl  C.struct_shmkit_slot
		pl  C.struct_shmkit_pool
		pw  C.struct_shmkit_pool_worker
		sd  C.struct_shmkit_struct_desc
		fd  C.struct_shmkit_field
		dr  C.struct_shmkit_dict_ref
		dh  C.struct_shmkit_dict_heap
		db  C.struct_shmkit_dict_block
		ds  C.struct_shmkit_dict_slot
	)
	f := func(st, name string, off, size uintptr) Field { return Field{st, name, off, size} }
	return []Field{
		f("shmkit_header", "sizeof", 0, unsafe.Sizeof(h)),
		f("shmkit_header", "magic", unsafe.Offsetof(h.magic), unsafe.Sizeof(h.magic)),
		f("shmkit_header", "version", unsafe.Offsetof(h.version), unsafe.Sizeof(h.version)),
		f("shmkit_header", "header_size", unsafe.Offsetof(h.header_size), unsafe.Sizeof(h.header_size)),
		f("shmkit_header", "segment_size", unsafe.Offsetof(h.segment_size), unsafe.Sizeof(h.segment_size)),
		f("shmkit_header", "dir_capacity", unsafe.Offsetof(h.dir_capacity), unsafe.Sizeof(h.dir_capacity)),
		f("shmkit_header", "dir_count", unsafe.Offsetof(h.dir_count), unsafe.Sizeof(h.dir_count)),
		f("shmkit_header", "alloc_cursor", unsafe.Offsetof(h.alloc_cursor), unsafe.Sizeof(h.alloc_cursor)),
		f("shmkit_header", "creator_pid", unsafe.Offsetof(h.creator_pid), unsafe.Sizeof(h.creator_pid)),
		f("shmkit_header", "flags", unsafe.Offsetof(h.flags), unsafe.Sizeof(h.flags)),
		f("shmkit_header", "created_ns", unsafe.Offsetof(h.created_ns), unsafe.Sizeof(h.created_ns)),
		f("shmkit_header", "alloc_lock", unsafe.Offsetof(h.alloc_lock), unsafe.Sizeof(h.alloc_lock)),
		f("shmkit_header", "alloc_seq", unsafe.Offsetof(h.alloc_seq), unsafe.Sizeof(h.alloc_seq)),
		f("shmkit_header", "alloc_waiters", unsafe.Offsetof(h.alloc_waiters), unsafe.Sizeof(h.alloc_waiters)),
		f("shmkit_header", "reserved", unsafe.Offsetof(h.reserved), unsafe.Sizeof(h.reserved)),
		f("shmkit_entry", "sizeof", 0, unsafe.Sizeof(e)),
		f("shmkit_entry", "name", unsafe.Offsetof(e.name), unsafe.Sizeof(e.name)),
		f("shmkit_entry", "state", unsafe.Offsetof(e.state), unsafe.Sizeof(e.state)),
		f("shmkit_entry", "kind", unsafe.Offsetof(e.kind), unsafe.Sizeof(e.kind)),
		f("shmkit_entry", "typecode", unsafe.Offsetof(e.typecode), unsafe.Sizeof(e.typecode)),
		f("shmkit_entry", "flags", unsafe.Offsetof(e.flags), unsafe.Sizeof(e.flags)),
		f("shmkit_entry", "count", unsafe.Offsetof(e.count), unsafe.Sizeof(e.count)),
		f("shmkit_entry", "offset", unsafe.Offsetof(e.offset), unsafe.Sizeof(e.offset)),
		f("shmkit_entry", "length", unsafe.Offsetof(e.length), unsafe.Sizeof(e.length)),
		f("shmkit_entry", "param0", unsafe.Offsetof(e.param0), unsafe.Sizeof(e.param0)),
		f("shmkit_entry", "param1", unsafe.Offsetof(e.param1), unsafe.Sizeof(e.param1)),
		f("shmkit_entry", "desc", unsafe.Offsetof(e.desc), unsafe.Sizeof(e.desc)),
		f("shmkit_entry", "reserved", unsafe.Offsetof(e.reserved), unsafe.Sizeof(e.reserved)),
		f("shmkit_struct_desc", "sizeof", 0, unsafe.Sizeof(sd)),
		f("shmkit_struct_desc", "type_name", unsafe.Offsetof(sd.type_name), unsafe.Sizeof(sd.type_name)),
		f("shmkit_struct_desc", "size", unsafe.Offsetof(sd.size), unsafe.Sizeof(sd.size)),
		f("shmkit_struct_desc", "align", unsafe.Offsetof(sd.align), unsafe.Sizeof(sd.align)),
		f("shmkit_struct_desc", "fields", unsafe.Offsetof(sd.fields), unsafe.Sizeof(sd.fields)),
		f("shmkit_struct_desc", "reserved", unsafe.Offsetof(sd.reserved), unsafe.Sizeof(sd.reserved)),
		f("shmkit_field", "sizeof", 0, unsafe.Sizeof(fd)),
		f("shmkit_field", "name", unsafe.Offsetof(fd.name), unsafe.Sizeof(fd.name)),
		f("shmkit_field", "offset", unsafe.Offsetof(fd.offset), unsafe.Sizeof(fd.offset)),
		f("shmkit_field", "count", unsafe.Offsetof(fd.count), unsafe.Sizeof(fd.count)),
		f("shmkit_field", "typecode", unsafe.Offsetof(fd.typecode), unsafe.Sizeof(fd.typecode)),
		f("shmkit_field", "reserved", unsafe.Offsetof(fd.reserved), unsafe.Sizeof(fd.reserved)),
		f("shmkit_semaphore", "sizeof", 0, unsafe.Sizeof(sem)),
		f("shmkit_semaphore", "value", unsafe.Offsetof(sem.value), unsafe.Sizeof(sem.value)),
		f("shmkit_semaphore", "waiters", unsafe.Offsetof(sem.waiters), unsafe.Sizeof(sem.waiters)),
		f("shmkit_semaphore", "bound", unsafe.Offsetof(sem.bound), unsafe.Sizeof(sem.bound)),
		f("shmkit_semaphore", "reserved", unsafe.Offsetof(sem.reserved), unsafe.Sizeof(sem.reserved)),
		f("shmkit_mutex", "sizeof", 0, unsafe.Sizeof(mu)),
		f("shmkit_mutex", "mutex", unsafe.Offsetof(mu.mutex), unsafe.Sizeof(mu.mutex)),
		f("shmkit_cond", "sizeof", 0, unsafe.Sizeof(cv)),
		f("shmkit_cond", "seq", unsafe.Offsetof(cv.seq), unsafe.Sizeof(cv.seq)),
		f("shmkit_cond", "waiters", unsafe.Offsetof(cv.waiters), unsafe.Sizeof(cv.waiters)),
		f("shmkit_cond", "reserved", unsafe.Offsetof(cv.reserved), unsafe.Sizeof(cv.reserved)),
		f("shmkit_event", "sizeof", 0, unsafe.Sizeof(ev)),
		f("shmkit_event", "flag", unsafe.Offsetof(ev.flag), unsafe.Sizeof(ev.flag)),
		f("shmkit_event", "waiters", unsafe.Offsetof(ev.waiters), unsafe.Sizeof(ev.waiters)),
		f("shmkit_event", "reserved", unsafe.Offsetof(ev.reserved), unsafe.Sizeof(ev.reserved)),
		f("shmkit_barrier", "sizeof", 0, unsafe.Sizeof(br)),
		f("shmkit_barrier", "lock", unsafe.Offsetof(br.lock), unsafe.Sizeof(br.lock)),
		f("shmkit_barrier", "gen", unsafe.Offsetof(br.gen), unsafe.Sizeof(br.gen)),
		f("shmkit_barrier", "parties", unsafe.Offsetof(br.parties), unsafe.Sizeof(br.parties)),
		f("shmkit_barrier", "count", unsafe.Offsetof(br.count), unsafe.Sizeof(br.count)),
		f("shmkit_barrier", "broken", unsafe.Offsetof(br.broken), unsafe.Sizeof(br.broken)),
		f("shmkit_barrier", "broken_gen", unsafe.Offsetof(br.broken_gen), unsafe.Sizeof(br.broken_gen)),
		f("shmkit_barrier", "reserved", unsafe.Offsetof(br.reserved), unsafe.Sizeof(br.reserved)),
		f("shmkit_channel", "sizeof", 0, unsafe.Sizeof(ch)),
		f("shmkit_channel", "slots", unsafe.Offsetof(ch.slots), unsafe.Sizeof(ch.slots)),
		f("shmkit_channel", "max_len", unsafe.Offsetof(ch.max_len), unsafe.Sizeof(ch.max_len)),
		f("shmkit_channel", "elem_size", unsafe.Offsetof(ch.elem_size), unsafe.Sizeof(ch.elem_size)),
		f("shmkit_channel", "slot_stride", unsafe.Offsetof(ch.slot_stride), unsafe.Sizeof(ch.slot_stride)),
		f("shmkit_channel", "closed", unsafe.Offsetof(ch.closed), unsafe.Sizeof(ch.closed)),
		f("shmkit_channel", "peers_overflow", unsafe.Offsetof(ch.peers_overflow), unsafe.Sizeof(ch.peers_overflow)),
		f("shmkit_channel", "recovered", unsafe.Offsetof(ch.recovered), unsafe.Sizeof(ch.recovered)),
		f("shmkit_channel", "spsc", unsafe.Offsetof(ch.spsc), unsafe.Sizeof(ch.spsc)),
		f("shmkit_channel", "pid_namespace", unsafe.Offsetof(ch.pid_namespace), unsafe.Sizeof(ch.pid_namespace)),
		f("shmkit_channel", "mixed_ns", unsafe.Offsetof(ch.mixed_ns), unsafe.Sizeof(ch.mixed_ns)),
		f("shmkit_channel", "unfinished", unsafe.Offsetof(ch.unfinished), unsafe.Sizeof(ch.unfinished)),
		f("shmkit_channel", "join_waiters", unsafe.Offsetof(ch.join_waiters), unsafe.Sizeof(ch.join_waiters)),
		f("shmkit_channel", "reserved0", unsafe.Offsetof(ch.reserved0), unsafe.Sizeof(ch.reserved0)),
		f("shmkit_channel", "tail", unsafe.Offsetof(ch.tail), unsafe.Sizeof(ch.tail)),
		f("shmkit_channel", "producer", unsafe.Offsetof(ch.producer), unsafe.Sizeof(ch.producer)),
		f("shmkit_channel", "pad1", unsafe.Offsetof(ch.pad1), unsafe.Sizeof(ch.pad1)),
		f("shmkit_channel", "head", unsafe.Offsetof(ch.head), unsafe.Sizeof(ch.head)),
		f("shmkit_channel", "consumer", unsafe.Offsetof(ch.consumer), unsafe.Sizeof(ch.consumer)),
		f("shmkit_channel", "pad2", unsafe.Offsetof(ch.pad2), unsafe.Sizeof(ch.pad2)),
		f("shmkit_channel", "data_seq", unsafe.Offsetof(ch.data_seq), unsafe.Sizeof(ch.data_seq)),
		f("shmkit_channel", "recv_waiters", unsafe.Offsetof(ch.recv_waiters), unsafe.Sizeof(ch.recv_waiters)),
		f("shmkit_channel", "pad3", unsafe.Offsetof(ch.pad3), unsafe.Sizeof(ch.pad3)),
		f("shmkit_channel", "space_seq", unsafe.Offsetof(ch.space_seq), unsafe.Sizeof(ch.space_seq)),
		f("shmkit_channel", "send_waiters", unsafe.Offsetof(ch.send_waiters), unsafe.Sizeof(ch.send_waiters)),
		f("shmkit_channel", "pad4", unsafe.Offsetof(ch.pad4), unsafe.Sizeof(ch.pad4)),
		f("shmkit_channel", "producers", unsafe.Offsetof(ch.producers), unsafe.Sizeof(ch.producers)),
		f("shmkit_channel", "consumers", unsafe.Offsetof(ch.consumers), unsafe.Sizeof(ch.consumers)),
		f("shmkit_pool", "sizeof", 0, unsafe.Sizeof(pl)),
		f("shmkit_pool", "magic", unsafe.Offsetof(pl.magic), unsafe.Sizeof(pl.magic)),
		f("shmkit_pool", "workers", unsafe.Offsetof(pl.workers), unsafe.Sizeof(pl.workers)),
		f("shmkit_pool", "parent_pid", unsafe.Offsetof(pl.parent_pid), unsafe.Sizeof(pl.parent_pid)),
		f("shmkit_pool", "closed", unsafe.Offsetof(pl.closed), unsafe.Sizeof(pl.closed)),
		f("shmkit_pool", "version", unsafe.Offsetof(pl.version), unsafe.Sizeof(pl.version)),
		f("shmkit_pool", "queued", unsafe.Offsetof(pl.queued), unsafe.Sizeof(pl.queued)),
		f("shmkit_pool", "in_flight", unsafe.Offsetof(pl.in_flight), unsafe.Sizeof(pl.in_flight)),
		f("shmkit_pool", "done", unsafe.Offsetof(pl.done), unsafe.Sizeof(pl.done)),
		f("shmkit_pool", "failed", unsafe.Offsetof(pl.failed), unsafe.Sizeof(pl.failed)),
		f("shmkit_pool", "retried", unsafe.Offsetof(pl.retried), unsafe.Sizeof(pl.retried)),
		f("shmkit_pool", "starts", unsafe.Offsetof(pl.starts), unsafe.Sizeof(pl.starts)),
		f("shmkit_pool", "reserved", unsafe.Offsetof(pl.reserved), unsafe.Sizeof(pl.reserved)),
		f("shmkit_pool_worker", "sizeof", 0, unsafe.Sizeof(pw)),
		f("shmkit_pool_worker", "pid", unsafe.Offsetof(pw.pid), unsafe.Sizeof(pw.pid)),
		f("shmkit_pool_worker", "state", unsafe.Offsetof(pw.state), unsafe.Sizeof(pw.state)),
		f("shmkit_pool_worker", "generation", unsafe.Offsetof(pw.generation), unsafe.Sizeof(pw.generation)),
		f("shmkit_pool_worker", "task", unsafe.Offsetof(pw.task), unsafe.Sizeof(pw.task)),
		f("shmkit_pool_worker", "done", unsafe.Offsetof(pw.done), unsafe.Sizeof(pw.done)),
		f("shmkit_pool_worker", "exit_code", unsafe.Offsetof(pw.exit_code), unsafe.Sizeof(pw.exit_code)),
		f("shmkit_pool_worker", "item", unsafe.Offsetof(pw.item), unsafe.Sizeof(pw.item)),
		f("shmkit_pool_worker", "reserved", unsafe.Offsetof(pw.reserved), unsafe.Sizeof(pw.reserved)),
		f("shmkit_slot", "sizeof", 0, unsafe.Sizeof(sl)),
		f("shmkit_slot", "state", unsafe.Offsetof(sl.state), unsafe.Sizeof(sl.state)),
		f("shmkit_slot", "len", unsafe.Offsetof(sl.len), unsafe.Sizeof(sl.len)),
		f("shmkit_slot", "reserved", unsafe.Offsetof(sl.reserved), unsafe.Sizeof(sl.reserved)),
		f("shmkit_dict_ref", "sizeof", 0, unsafe.Sizeof(dr)),
		f("shmkit_dict_ref", "heap_name", unsafe.Offsetof(dr.heap_name), unsafe.Sizeof(dr.heap_name)),
		f("shmkit_dict_ref", "heap_id", unsafe.Offsetof(dr.heap_id), unsafe.Sizeof(dr.heap_id)),
		f("shmkit_dict_ref", "kind", unsafe.Offsetof(dr.kind), unsafe.Sizeof(dr.kind)),
		f("shmkit_dict_ref", "reserved0", unsafe.Offsetof(dr.reserved0), unsafe.Sizeof(dr.reserved0)),
		f("shmkit_dict_ref", "reserved", unsafe.Offsetof(dr.reserved), unsafe.Sizeof(dr.reserved)),
		f("shmkit_dict_heap", "sizeof", 0, unsafe.Sizeof(dh)),
		f("shmkit_dict_heap", "magic", unsafe.Offsetof(dh.magic), unsafe.Sizeof(dh.magic)),
		f("shmkit_dict_heap", "version", unsafe.Offsetof(dh.version), unsafe.Sizeof(dh.version)),
		f("shmkit_dict_heap", "kind", unsafe.Offsetof(dh.kind), unsafe.Sizeof(dh.kind)),
		f("shmkit_dict_heap", "id", unsafe.Offsetof(dh.id), unsafe.Sizeof(dh.id)),
		f("shmkit_dict_heap", "size", unsafe.Offsetof(dh.size), unsafe.Sizeof(dh.size)),
		f("shmkit_dict_heap", "cursor", unsafe.Offsetof(dh.cursor), unsafe.Sizeof(dh.cursor)),
		f("shmkit_dict_heap", "table", unsafe.Offsetof(dh.table), unsafe.Sizeof(dh.table)),
		f("shmkit_dict_heap", "count", unsafe.Offsetof(dh.count), unsafe.Sizeof(dh.count)),
		f("shmkit_dict_heap", "gen", unsafe.Offsetof(dh.gen), unsafe.Sizeof(dh.gen)),
		f("shmkit_dict_heap", "lock", unsafe.Offsetof(dh.lock), unsafe.Sizeof(dh.lock)),
		f("shmkit_dict_heap", "undo_note", unsafe.Offsetof(dh.undo_note), unsafe.Sizeof(dh.undo_note)),
		f("shmkit_dict_heap", "undo_val", unsafe.Offsetof(dh.undo_val), unsafe.Sizeof(dh.undo_val)),
		f("shmkit_dict_heap", "used", unsafe.Offsetof(dh.used), unsafe.Sizeof(dh.used)),
		f("shmkit_dict_heap", "tombstones", unsafe.Offsetof(dh.tombstones), unsafe.Sizeof(dh.tombstones)),
		f("shmkit_dict_heap", "recoveries", unsafe.Offsetof(dh.recoveries), unsafe.Sizeof(dh.recoveries)),
		f("shmkit_dict_heap", "freed", unsafe.Offsetof(dh.freed), unsafe.Sizeof(dh.freed)),
		f("shmkit_dict_heap", "nonempty", unsafe.Offsetof(dh.nonempty), unsafe.Sizeof(dh.nonempty)),
		f("shmkit_dict_heap", "pid_ns", unsafe.Offsetof(dh.pid_ns), unsafe.Sizeof(dh.pid_ns)),
		f("shmkit_dict_heap", "mixed_ns", unsafe.Offsetof(dh.mixed_ns), unsafe.Sizeof(dh.mixed_ns)),
		f("shmkit_dict_heap", "reserved", unsafe.Offsetof(dh.reserved), unsafe.Sizeof(dh.reserved)),
		f("shmkit_dict_heap", "free_heads", unsafe.Offsetof(dh.free_heads), unsafe.Sizeof(dh.free_heads)),
		f("shmkit_dict_block", "sizeof", 0, unsafe.Sizeof(db)),
		f("shmkit_dict_block", "size", unsafe.Offsetof(db.size), unsafe.Sizeof(db.size)),
		f("shmkit_dict_block", "type", unsafe.Offsetof(db._type), unsafe.Sizeof(db._type)),
		f("shmkit_dict_block", "key_tag", unsafe.Offsetof(db.key_tag), unsafe.Sizeof(db.key_tag)),
		f("shmkit_dict_block", "val_tag", unsafe.Offsetof(db.val_tag), unsafe.Sizeof(db.val_tag)),
		f("shmkit_dict_block", "reserved", unsafe.Offsetof(db.reserved), unsafe.Sizeof(db.reserved)),
		f("shmkit_dict_block", "key_len", unsafe.Offsetof(db.key_len), unsafe.Sizeof(db.key_len)),
		f("shmkit_dict_block", "val_len", unsafe.Offsetof(db.val_len), unsafe.Sizeof(db.val_len)),
		f("shmkit_dict_slot", "sizeof", 0, unsafe.Sizeof(ds)),
		f("shmkit_dict_slot", "seq", unsafe.Offsetof(ds.seq), unsafe.Sizeof(ds.seq)),
		f("shmkit_dict_slot", "hash", unsafe.Offsetof(ds.hash), unsafe.Sizeof(ds.hash)),
		f("shmkit_dict_slot", "ref", unsafe.Offsetof(ds.ref), unsafe.Sizeof(ds.ref)),
	}
}

// CConstants reports shmkit.h's numeric constants as C sees them.
func CConstants() map[string]uint64 {
	return map[string]uint64{
		"SHMKIT_MAGIC":             C.SHMKIT_MAGIC,
		"SHMKIT_POOL_MAGIC":        C.SHMKIT_POOL_MAGIC,
		"SHMKIT_POOL_VERSION":      C.SHMKIT_POOL_VERSION,
		"SHMKIT_POOL_STARTING":     C.SHMKIT_POOL_STARTING,
		"SHMKIT_POOL_IDLE":         C.SHMKIT_POOL_IDLE,
		"SHMKIT_POOL_BUSY":         C.SHMKIT_POOL_BUSY,
		"SHMKIT_POOL_EXITED":       C.SHMKIT_POOL_EXITED,
		"SHMKIT_POOL_OK":           C.SHMKIT_POOL_OK,
		"SHMKIT_POOL_ERROR":        C.SHMKIT_POOL_ERROR,
		"SHMKIT_POOL_PANIC":        C.SHMKIT_POOL_PANIC,
		"SHMKIT_POOL_TOOLARGE":     C.SHMKIT_POOL_TOOLARGE,
		"SHMKIT_VERSION":           C.SHMKIT_VERSION,
		"SHMKIT_ALIGN":             C.SHMKIT_ALIGN,
		"SHMKIT_NAME_MAX":          C.SHMKIT_NAME_MAX,
		"SHMKIT_ENTRY_EMPTY":       C.SHMKIT_ENTRY_EMPTY,
		"SHMKIT_ENTRY_READY":       C.SHMKIT_ENTRY_READY,
		"SHMKIT_KIND_BYTES":        C.SHMKIT_KIND_BYTES,
		"SHMKIT_KIND_VALUE":        C.SHMKIT_KIND_VALUE,
		"SHMKIT_KIND_ARRAY":        C.SHMKIT_KIND_ARRAY,
		"SHMKIT_KIND_SEMAPHORE":    C.SHMKIT_KIND_SEMAPHORE,
		"SHMKIT_KIND_BOUNDED":      C.SHMKIT_KIND_BOUNDED,
		"SHMKIT_KIND_MUTEX":        C.SHMKIT_KIND_MUTEX,
		"SHMKIT_KIND_RMUTEX":       C.SHMKIT_KIND_RMUTEX,
		"SHMKIT_KIND_COND":         C.SHMKIT_KIND_COND,
		"SHMKIT_KIND_EVENT":        C.SHMKIT_KIND_EVENT,
		"SHMKIT_KIND_BARRIER":      C.SHMKIT_KIND_BARRIER,
		"SHMKIT_KIND_CHANNEL":      C.SHMKIT_KIND_CHANNEL,
		"SHMKIT_FLAG_LOCKED":       C.SHMKIT_FLAG_LOCKED,
		"SHMKIT_FLAG_SPSC":         C.SHMKIT_FLAG_SPSC,
		"SHMKIT_FLAG_JOINABLE":     C.SHMKIT_FLAG_JOINABLE,
		"SHMKIT_LEN_SKIP":          C.SHMKIT_LEN_SKIP,
		"SHMKIT_LEN_PAD":           C.SHMKIT_LEN_PAD,
		"SHMKIT_SLOT_BUSY":         C.SHMKIT_SLOT_BUSY,
		"SHMKIT_SLOT_SEQ_SHIFT":    C.SHMKIT_SLOT_SEQ_SHIFT,
		"SHMKIT_PEERS":             C.SHMKIT_PEERS,
		"SHMKIT_SEM_VALUE_MAX":     C.SHMKIT_SEM_VALUE_MAX,
		"SHMKIT_WAITER_REGISTER":   C.SHMKIT_WAITER_REGISTER,
		"SHMKIT_WAITER_COUNT_MASK": C.SHMKIT_WAITER_COUNT_MASK,
		"SHMKIT_TYPECODE_STRUCT":   C.SHMKIT_TYPECODE_STRUCT,
		"SHMKIT_FIELD_NAME_MAX":    C.SHMKIT_FIELD_NAME_MAX,
		"SHMKIT_FIELDS_MAX":        C.SHMKIT_FIELDS_MAX,
		"SHMKIT_POPULATE_MAX":      C.SHMKIT_POPULATE_MAX,
		"SHMKIT_KIND_DICT":         C.SHMKIT_KIND_DICT,
		"SHMKIT_KIND_LIST":         C.SHMKIT_KIND_LIST,
		"SHMKIT_DICT_MAGIC":        C.SHMKIT_DICT_MAGIC,
		"SHMKIT_DICT_VERSION":      C.SHMKIT_DICT_VERSION,
		"SHMKIT_DICT_HEAP_START":   C.SHMKIT_DICT_HEAP_START,
		"SHMKIT_DICT_HEAP_MAX":     C.SHMKIT_DICT_HEAP_MAX,
		"SHMKIT_DICT_CLASSES":      C.SHMKIT_DICT_CLASSES,
		"SHMKIT_DICT_KEY_MAX":      C.SHMKIT_DICT_KEY_MAX,
		"SHMKIT_DICT_VALUE_MAX":    C.SHMKIT_DICT_VALUE_MAX,
		"SHMKIT_DICT_NAME_MAX":     C.SHMKIT_DICT_NAME_MAX,
		"SHMKIT_TAG_NONE":          C.SHMKIT_TAG_NONE,
		"SHMKIT_TAG_BOOL":          C.SHMKIT_TAG_BOOL,
		"SHMKIT_TAG_INT":           C.SHMKIT_TAG_INT,
		"SHMKIT_TAG_FLOAT":         C.SHMKIT_TAG_FLOAT,
		"SHMKIT_TAG_STR":           C.SHMKIT_TAG_STR,
		"SHMKIT_TAG_BYTES":         C.SHMKIT_TAG_BYTES,
		"SHMKIT_TAG_PICKLE":        C.SHMKIT_TAG_PICKLE,
		"SHMKIT_TAG_RECORD":        C.SHMKIT_TAG_RECORD,
		"SHMKIT_TAG_ABSENT":        C.SHMKIT_TAG_ABSENT,
		"SHMKIT_BLOCK_FREE":        C.SHMKIT_BLOCK_FREE,
		"SHMKIT_BLOCK_ITEM":        C.SHMKIT_BLOCK_ITEM,
		"SHMKIT_BLOCK_TABLE":       C.SHMKIT_BLOCK_TABLE,
		"SHMKIT_BLOCK_ARRAY":       C.SHMKIT_BLOCK_ARRAY,
		"SHMKIT_SLOT_EMPTY":        C.SHMKIT_SLOT_EMPTY,
		"SHMKIT_SLOT_TOMB":         C.SHMKIT_SLOT_TOMB,
	}
}

// TypecodeSize is shmkit_typecode_size: the element size of a typecode, 0
// if it is not one. Tests compare it with package ctypes.
func TypecodeSize(tc byte) int { return int(C.shmkit_typecode_size(C.int(tc))) }
