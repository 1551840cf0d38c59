package layout

// Shared dicts and lists (shmkit.h's last section): the reference in the
// segment and the structs of the heap file. The C library reads and
// writes them; Go mirrors them so that the layout test checks both agree.

// Dict constants (SHMKIT_DICT_*, SHMKIT_TAG_*).
const (
	DictMagic     = 0x544349444B4D4853 // "SHMKDICT"
	DictVersion   = 4
	DictHeapStart = 2048
	DictHeapMax   = 1 << 36
	DictClasses   = 224
	DictKeyMax    = 1 << 20
	DictValueMax  = 1 << 30
	DictNameMax   = 191

	TagNone   = 0
	TagBool   = 1
	TagInt    = 2
	TagFloat  = 3
	TagStr    = 4
	TagBytes  = 5
	TagPickle = 6
	TagRecord = 7
	TagAbsent = 255

	// Block types (SHMKIT_BLOCK_*).
	BlockFree  = 0
	BlockItem  = 1
	BlockTable = 2
	BlockArray = 3

	// Slot refs below DictHeapStart (SHMKIT_SLOT_EMPTY, SHMKIT_SLOT_TOMB).
	SlotEmpty = 0
	SlotTomb  = 1
)

// DictRef is struct shmkit_dict_ref, the object in the segment.
type DictRef struct {
	HeapName  [192]byte
	HeapID    uint64
	Kind      uint32
	Reserved0 uint32
	Reserved  [6]uint64
}

// DictHeap is struct shmkit_dict_heap, the start of the heap file.
type DictHeap struct {
	Magic      uint64
	Version    uint32
	Kind       uint32
	ID         uint64
	Size       uint64
	Cursor     uint64
	Table      uint64
	Count      uint64
	Gen        uint64
	Lock       [48]byte // a pthread_mutex_t, then the undo note in its cache line
	UndoNote   uint64
	UndoVal    uint64
	Used       uint64
	Tombstones uint64
	Recoveries uint64
	Freed      uint64
	Nonempty   [3]uint64
	PidNs      uint32
	MixedNs    uint32
	Reserved   [8]uint64
	FreeHeads  [DictClasses]uint64
}

// DictBlock is struct shmkit_dict_block, the start of every block.
type DictBlock struct {
	Size     uint32
	Type     uint8
	KeyTag   uint8
	ValTag   uint8
	Reserved uint8
	KeyLen   uint32
	ValLen   uint32
}

// DictSlot is struct shmkit_dict_slot, one entry of a dict's table.
type DictSlot struct {
	Seq  uint32
	Hash uint32
	Ref  uint64
}
