//go:build cgo

package cbind_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/layout"
)

// goFields lists a Go mirror struct's fields by their C names.
func goFields(v any) map[string][2]uintptr {
	rt := reflect.TypeOf(v)
	m := map[string][2]uintptr{"sizeof": {0, rt.Size()}}
	for i := range rt.NumField() {
		f := rt.Field(i)
		m[snake(f.Name)] = [2]uintptr{f.Offset, f.Type.Size()}
	}
	return m
}

// snake turns a Go field name into its C name: DirCount -> dir_count,
// CreatorPID -> creator_pid, CreatedNs -> created_ns.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
			b.WriteByte('_')
		}
		b.WriteRune(r | 0x20)
	}
	return b.String()
}

func TestGoMirrorsShmkitH(t *testing.T) {
	mirrors := map[string]map[string][2]uintptr{
		"shmkit_header":      goFields(layout.Header{}),
		"shmkit_entry":       goFields(layout.Entry{}),
		"shmkit_semaphore":   goFields(layout.Semaphore{}),
		"shmkit_mutex":       goFields(layout.Mutex{}),
		"shmkit_cond":        goFields(layout.Cond{}),
		"shmkit_event":       goFields(layout.Event{}),
		"shmkit_barrier":     goFields(layout.Barrier{}),
		"shmkit_channel":     goFields(layout.Channel{}),
		"shmkit_slot":        goFields(layout.Slot{}),
		"shmkit_struct_desc": goFields(layout.StructDesc{}),
		"shmkit_field":       goFields(layout.Field{}),
		"shmkit_dict_ref":    goFields(layout.DictRef{}),
		"shmkit_dict_heap":   goFields(layout.DictHeap{}),
		"shmkit_dict_block":  goFields(layout.DictBlock{}),
		"shmkit_dict_slot":   goFields(layout.DictSlot{}),
		"shmkit_pool":        goFields(layout.Pool{}),
		"shmkit_pool_worker": goFields(layout.PoolWorker{}),
	}
	seen := map[string]int{}
	for _, f := range cbind.CLayout() {
		goF, ok := mirrors[f.Struct][f.Name]
		require.True(t, ok, "%s.%s has no Go mirror", f.Struct, f.Name)
		assert.Equal(t, [2]uintptr{f.Offset, f.Size}, goF, "%s.%s: C (offset, size) vs Go", f.Struct, f.Name)
		seen[f.Struct]++
	}
	for s, fields := range mirrors {
		assert.Equal(t, len(fields), seen[s], "%s: every Go field is checked against C", s)
	}
	assert.Equal(t, 128, layout.HeaderSize)
	assert.Equal(t, 128, layout.EntrySize)
}

func TestConstantsMirrorShmkitH(t *testing.T) {
	c := cbind.CConstants()
	want := map[string]uint64{
		"SHMKIT_MAGIC": layout.Magic, "SHMKIT_VERSION": uint64(layout.Version),
		"SHMKIT_ALIGN": layout.Align, "SHMKIT_NAME_MAX": layout.NameMax,
		"SHMKIT_ENTRY_EMPTY": uint64(layout.EntryEmpty), "SHMKIT_ENTRY_READY": uint64(layout.EntryReady),
		"SHMKIT_KIND_BYTES": uint64(layout.KindBytes), "SHMKIT_KIND_VALUE": uint64(layout.KindValue),
		"SHMKIT_KIND_ARRAY": uint64(layout.KindArray), "SHMKIT_KIND_SEMAPHORE": uint64(layout.KindSemaphore),
		"SHMKIT_KIND_BOUNDED": uint64(layout.KindBounded), "SHMKIT_KIND_MUTEX": uint64(layout.KindMutex),
		"SHMKIT_KIND_RMUTEX": uint64(layout.KindRMutex), "SHMKIT_KIND_COND": uint64(layout.KindCond),
		"SHMKIT_KIND_EVENT": uint64(layout.KindEvent), "SHMKIT_KIND_BARRIER": uint64(layout.KindBarrier),
		"SHMKIT_KIND_CHANNEL": uint64(layout.KindChannel), "SHMKIT_FLAG_LOCKED": uint64(layout.FlagLocked),
		"SHMKIT_FLAG_SPSC": uint64(layout.FlagSPSC), "SHMKIT_FLAG_JOINABLE": uint64(layout.FlagJoinable),
		"SHMKIT_LEN_SKIP": uint64(layout.LenSkip), "SHMKIT_LEN_PAD": uint64(layout.LenPad), "SHMKIT_SLOT_BUSY": layout.SlotBusy,
		"SHMKIT_SLOT_SEQ_SHIFT": layout.SlotSeqShift, "SHMKIT_PEERS": layout.Peers,
		"SHMKIT_SEM_VALUE_MAX":   layout.SemValueMax,
		"SHMKIT_WAITER_REGISTER": uint64(layout.WaiterRegister), "SHMKIT_WAITER_COUNT_MASK": uint64(layout.WaiterCountMask),
		"SHMKIT_TYPECODE_STRUCT": layout.TypecodeStruct, "SHMKIT_FIELD_NAME_MAX": layout.FieldNameMax,
		"SHMKIT_FIELDS_MAX": layout.FieldsMax, "SHMKIT_POPULATE_MAX": layout.PopulateMax,
		"SHMKIT_KIND_DICT": uint64(layout.KindDict), "SHMKIT_KIND_LIST": uint64(layout.KindList),
		"SHMKIT_DICT_MAGIC": layout.DictMagic, "SHMKIT_DICT_VERSION": layout.DictVersion,
		"SHMKIT_DICT_HEAP_START": layout.DictHeapStart, "SHMKIT_DICT_HEAP_MAX": layout.DictHeapMax,
		"SHMKIT_DICT_CLASSES": layout.DictClasses, "SHMKIT_DICT_KEY_MAX": layout.DictKeyMax,
		"SHMKIT_DICT_VALUE_MAX": layout.DictValueMax, "SHMKIT_DICT_NAME_MAX": layout.DictNameMax,
		"SHMKIT_TAG_NONE": layout.TagNone, "SHMKIT_TAG_BOOL": layout.TagBool, "SHMKIT_TAG_INT": layout.TagInt,
		"SHMKIT_TAG_FLOAT": layout.TagFloat, "SHMKIT_TAG_STR": layout.TagStr, "SHMKIT_TAG_BYTES": layout.TagBytes,
		"SHMKIT_TAG_PICKLE": layout.TagPickle, "SHMKIT_TAG_RECORD": layout.TagRecord, "SHMKIT_TAG_ABSENT": layout.TagAbsent,
		"SHMKIT_BLOCK_FREE": layout.BlockFree, "SHMKIT_BLOCK_ITEM": layout.BlockItem,
		"SHMKIT_BLOCK_TABLE": layout.BlockTable, "SHMKIT_BLOCK_ARRAY": layout.BlockArray,
		"SHMKIT_SLOT_EMPTY": layout.SlotEmpty, "SHMKIT_SLOT_TOMB": layout.SlotTomb,
		"SHMKIT_POOL_MAGIC": layout.PoolMagic, "SHMKIT_POOL_STARTING": uint64(layout.PoolStarting),
		"SHMKIT_POOL_IDLE": uint64(layout.PoolIdle), "SHMKIT_POOL_BUSY": uint64(layout.PoolBusy),
		"SHMKIT_POOL_EXITED": uint64(layout.PoolExited), "SHMKIT_POOL_OK": uint64(layout.PoolOK),
		"SHMKIT_POOL_ERROR": uint64(layout.PoolError), "SHMKIT_POOL_PANIC": uint64(layout.PoolPanic),
		"SHMKIT_POOL_TOOLARGE": uint64(layout.PoolTooLarge), "SHMKIT_POOL_VERSION": uint64(layout.PoolVersion),
	}
	assert.Equal(t, want, c)
	var magic [8]byte
	binary.LittleEndian.PutUint64(magic[:], layout.Magic)
	assert.Equal(t, "SHMKIT\x00\x00", string(magic[:]))
}

// ctypes' table of element sizes is a copy of shmkit_typecode_size's.
func TestTypecodeSizesMirrorC(t *testing.T) {
	for c := range 256 {
		tc := ctypes.Typecode(c)
		assert.Equal(t, cbind.TypecodeSize(byte(c)), tc.Size(), "typecode %q", rune(c))
	}
}

// docs/layout.md's field tables are copies of shmkit.h: each row's offset
// and size must be C's.
func TestLayoutDocMirrorsShmkitH(t *testing.T) {
	doc, err := os.ReadFile("../../docs/layout.md")
	require.NoError(t, err)
	c := map[string]map[string]cbind.Field{}
	for _, f := range cbind.CLayout() {
		if c[f.Struct] == nil {
			c[f.Struct] = map[string]cbind.Field{}
		}
		c[f.Struct][f.Name] = f
	}
	// Sections headed "## ... (`struct shmkit_X`, N bytes)", then rows
	// "| offset | size | `field` | meaning |".
	heading := regexp.MustCompile("^## .*\\(`struct (shmkit_[a-z]+)`, ([0-9]+) bytes\\)")
	row := regexp.MustCompile("^\\| *([0-9]+) *\\| *([0-9]+) *\\| *`([a-z_]+)`")
	var current string
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			current = m[1]
			require.Contains(t, c, current, "docs/layout.md names %s", current)
			assert.Equal(t, m[2], fmt.Sprint(c[current]["sizeof"].Size), "%s's size in docs/layout.md", current)
			continue
		}
		if strings.HasPrefix(line, "## ") {
			current = ""
		}
		m := row.FindStringSubmatch(line)
		if current == "" || m == nil {
			continue
		}
		f, ok := c[current][m[3]]
		require.True(t, ok, "docs/layout.md: %s has no field %s", current, m[3])
		assert.Equal(t, []string{fmt.Sprint(f.Offset), fmt.Sprint(f.Size)}, []string{m[1], m[2]}, "docs/layout.md: %s.%s", current, m[3])
		rows++
	}
	assert.GreaterOrEqual(t, rows, 20, "the header and entry tables were read")

	// The synchronisation objects' table: "| kind (n) | `shmkit_X` | bytes | ...".
	sized := regexp.MustCompile("^\\|[^|]*\\| *`(shmkit_[a-z]+)` *\\| *([0-9]+) *\\|")
	objects := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if m := sized.FindStringSubmatch(line); m != nil {
			require.Contains(t, c, m[1], "docs/layout.md names %s", m[1])
			assert.Equal(t, m[2], fmt.Sprint(c[m[1]]["sizeof"].Size), "%s's size in docs/layout.md", m[1])
			objects++
		}
	}
	assert.GreaterOrEqual(t, objects, 5, "the synchronisation objects' table was read")
}
