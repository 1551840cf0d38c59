package pool

import (
	"bytes"
	"testing"
)

// encodedOf lays items end to end, as enqueue does.
func encodedOf(items [][]byte) encoded {
	e := encoded{offs: []int{0}}
	for _, it := range items {
		e.data = append(e.data, it...)
		e.offs = append(e.offs, len(e.data))
	}
	return e
}

// readTask takes a task message apart with viewTask and item.
func readTask(msg []byte) (id uint64, fn string, items [][]byte, err error) {
	v, err := viewTask(msg)
	if err != nil {
		return 0, "", nil, err
	}
	for i := range v.count {
		it, err := v.item(i)
		if err != nil {
			return 0, "", nil, err
		}
		items = append(items, it)
	}
	return v.id, string(v.fn), items, nil
}

type answer struct {
	status uint8
	data   []byte
}

// appendResult encodes a result message as a worker does.
func appendResult(b []byte, id uint64, answers []answer) []byte {
	b = appendResultHeader(b, id, len(answers))
	for _, a := range answers {
		at := len(b)
		b = append(append(b, make([]byte, answerHeader)...), a.data...)
		setAnswer(b[at:], a.status, len(a.data))
	}
	return b
}

// readResult takes a result message apart with checkResult and nextAnswer.
func readResult(msg []byte) (uint64, []answer, error) {
	id, count, _, err := checkResult(msg)
	if err != nil {
		return 0, nil, err
	}
	var answers []answer
	rest := msg[resultHeader:]
	for range count {
		var a answer
		a.status, a.data, rest = nextAnswer(rest)
		answers = append(answers, a)
	}
	return id, answers, nil
}

// A task message round-trips, and no bytes make viewTask read outside
// the message or panic.
func FuzzParseTask(f *testing.F) {
	f.Add(appendTask(nil, 7, "double", encodedOf([][]byte{{1, 2}, {}, []byte("abc")})))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, fn, items, err := readTask(msg)
		if err != nil {
			return
		}
		again := appendTask(nil, id, fn, encodedOf(items))
		id2, fn2, items2, err := readTask(again)
		if err != nil || id2 != id || fn2 != fn || len(items2) != len(items) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range items {
			if !bytes.Equal(items[i], items2[i]) {
				t.Fatalf("item %d differs", i)
			}
		}
	})
}

// A result message round-trips, checkResult refuses whatever would make
// nextAnswer read outside the message, and skipAnswers lands where as
// many nextAnswer calls do (the parent splits a message that answers
// several chunks there).
func FuzzParseResult(f *testing.F) {
	f.Add(appendResult(nil, 9, []answer{{0, []byte{1}}, {1, []byte("boom")}, {2, nil}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, answers, err := readResult(msg)
		if err != nil {
			return
		}
		rest := msg[resultHeader:]
		for k := range len(answers) + 1 {
			if skipped := skipAnswers(msg[resultHeader:], k); len(skipped) != len(rest) {
				t.Fatalf("skipAnswers(%d) leaves %d bytes, nextAnswer %d", k, len(skipped), len(rest))
			}
			if k < len(answers) {
				_, _, rest = nextAnswer(rest)
			}
		}
		id2, answers2, err := readResult(appendResult(nil, id, answers))
		if err != nil || id2 != id || len(answers2) != len(answers) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range answers {
			if answers[i].status != answers2[i].status || !bytes.Equal(answers[i].data, answers2[i].data) {
				t.Fatalf("answer %d differs", i)
			}
		}
	})
}

// Inputs of one size, laid end to end without offsets, read as the same
// inputs with them.
func TestEncodedStride(t *testing.T) {
	var items [][]byte
	var data []byte
	for i := range 10 {
		it := []byte{byte(i), byte(i), byte(i)}
		items, data = append(items, it), append(data, it...)
	}
	withOffs, fixed := encodedOf(items), fixedSize(data, 3)
	for _, r := range [][2]int{{0, 10}, {0, 0}, {3, 7}, {9, 10}} {
		a, b := withOffs.slice(r[0], r[1]), fixed.slice(r[0], r[1])
		if a.len() != b.len() {
			t.Fatalf("slice %v: %d items, expected %d", r, b.len(), a.len())
		}
		for i := range a.len() {
			if a.size(i) != b.size(i) || !bytes.Equal(a.at(i), b.at(i)) {
				t.Fatalf("slice %v item %d: %v, expected %v", r, i, b.at(i), a.at(i))
			}
		}
	}
}
