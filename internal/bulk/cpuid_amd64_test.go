package bulk_test

import (
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/shmkit/shmkit/internal/bulk"
)

// TestCPUIDAgreesWithKernel: the vendor and the PREFETCHW flag read by
// CPUID are the ones the kernel reports for this machine. On AMD the
// kernel sets its flag for every 64-bit CPU, whose early models have the
// instruction without CPUID's bit: there CPUID's yes must be the kernel's.
func TestCPUIDAgreesWithKernel(t *testing.T) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo:", err)
	}
	info := string(b)
	if got, want := bulk.Intel(), strings.Contains(info, "GenuineIntel"); got != want {
		t.Errorf("intel() = %v, /proc/cpuinfo says %v", got, want)
	}
	var flags []string
	for _, line := range strings.Split(info, "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			flags = strings.Fields(value)
			break
		}
	}
	want := false
	for _, f := range flags {
		want = want || f == "3dnowprefetch"
	}
	if got := bulk.OwnsAhead(); got != want && (got || bulk.Intel()) {
		t.Errorf("PREFETCHW by CPUID = %v, the kernel's 3dnowprefetch flag = %v", got, want)
	}
}

// TestPrefetchForWrite: asking for lines, or for none, returns and
// changes nothing in them (a prefetch never faults, so this cannot see one
// that strays; aheadOf's tests keep the channel's within its ring).
func TestPrefetchForWrite(t *testing.T) {
	buf := make([]byte, 64*64)
	for i := range buf {
		buf[i] = byte(i)
	}
	bulk.PrefetchForWrite(unsafe.Pointer(&buf[0]), 64)
	bulk.PrefetchForWrite(unsafe.Pointer(&buf[64]), 1)
	bulk.PrefetchForWrite(unsafe.Pointer(&buf[0]), 0)
	for i := range buf {
		if buf[i] != byte(i) {
			t.Fatalf("byte %d is %d after the prefetches, was %d", i, buf[i], byte(i))
		}
	}
}
