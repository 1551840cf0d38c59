// boost_map.cpp - the W8 peer over Boost.Interprocess: a boost::unordered_map
// in a managed_shared_memory segment (TARGET), keys as strings allocated in
// the segment, every operation under an interprocess_mutex kept beside it,
// as Boost's documentation puts containers in shared memory. Lookups hash
// the caller's bytes with the map's own hash (Boost.Unordered's find with
// a compatible key), so that a get allocates nothing in the segment.
//
//   boost-map setup NAME        make the segment, the map and the mutex
//   (and the roles of w8.h)
#include <boost/container_hash/hash.hpp>
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/string.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/unordered_map.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <string_view>

#include "w8.h"

namespace bip = boost::interprocess;

namespace {

using SegmentManager = bip::managed_shared_memory::segment_manager;
using CharAllocator = bip::allocator<char, SegmentManager>;
using ShmString = bip::basic_string<char, std::char_traits<char>, CharAllocator>;
using Entry = std::pair<const ShmString, std::int64_t>;
using EntryAllocator = bip::allocator<Entry, SegmentManager>;
using ShmMap = boost::unordered_map<ShmString, std::int64_t, boost::hash<ShmString>, std::equal_to<ShmString>, EntryAllocator>;
using Lock = bip::scoped_lock<bip::interprocess_mutex>;

// The segment is sparse: pages are taken as the map grows into it.
constexpr std::size_t kSegmentBytes = std::size_t(256) << 20;

// KeyHash hashes a key's bytes as boost::hash<ShmString> does.
struct KeyHash {
	std::size_t operator()(std::string_view k) const { return boost::hash_range(k.begin(), k.end()); }
};

struct KeyEqual {
	bool operator()(std::string_view a, const ShmString &b) const { return a == std::string_view(b.data(), b.size()); }
	bool operator()(const ShmString &a, std::string_view b) const { return b == std::string_view(a.data(), a.size()); }
};

struct Shared {
	bip::managed_shared_memory segment;
	ShmMap *map;
	bip::interprocess_mutex *mu;

	explicit Shared(const char *name) : segment(bip::open_only, name) {
		map = segment.find<ShmMap>("map").first;
		mu = segment.find<bip::interprocess_mutex>("mutex").first;
		if (map == nullptr || mu == nullptr) {
			w8_fail("boost-map: %s has no map", name);
		}
	}

	long long held() { return (long long)(segment.get_size() - segment.get_free_memory()); }

	void set(std::string_view k, std::int64_t v) {
		Lock lock(*mu);
		auto it = map->find(k, KeyHash(), KeyEqual());
		if (it != map->end()) {
			it->second = v;
		} else {
			map->emplace(ShmString(k.data(), k.size(), segment.get_segment_manager()), v);
		}
	}

	bool get(std::string_view k, std::int64_t &v) {
		Lock lock(*mu);
		auto it = map->find(k, KeyHash(), KeyEqual());
		if (it == map->end()) {
			return false;
		}
		v = it->second;
		return true;
	}

	std::int64_t add(std::string_view k, std::int64_t delta) {
		Lock lock(*mu);
		auto it = map->find(k, KeyHash(), KeyEqual());
		if (it == map->end()) {
			it = map->emplace(ShmString(k.data(), k.size(), segment.get_segment_manager()), 0).first;
		}
		return it->second += delta;
	}
};

std::string_view key(const char *keys, const size_t *lens, long i) { return {keys + i * W8_KEY_MAX, lens[i]}; }

void set_keys(Shared &s, const char *keys, const size_t *lens, long n) {
	for (long i = 0; i < n; i++) {
		s.set(key(keys, lens, i), i);
	}
}

long long get_keys(Shared &s, const char *keys, const size_t *lens, long n, long nkeys) {
	long long sum = 0;
	for (long j = 0; j < n; j++) {
		long i = j % nkeys;
		std::int64_t v;
		if (!s.get(key(keys, lens, i), v) || v != i) {
			w8_fail("boost-map: key %ld missing or wrong", i);
		}
		sum += v;
	}
	return sum;
}

}  // namespace

int main(int argc, char **argv) {
	if (argc < 3) {
		w8_fail("usage: %s setup|set|get|add|read NAME ...", argv[0]);
	}
	std::string_view op = argv[1];
	const char *name = argv[2];
	try {
		if (op == "setup") {
			bip::managed_shared_memory segment(bip::create_only, name, kSegmentBytes);
			segment.construct<ShmMap>("map")(0, boost::hash<ShmString>(), std::equal_to<ShmString>(),
			                                 segment.get_allocator<Entry>());
			segment.construct<bip::interprocess_mutex>("mutex")();
			return 0;
		}
		Shared s(name);
		if (op == "set") {
			long n = w8_arg(argc, argv, 3);
			size_t *lens;
			char *keys = w8_keys(n, &lens);
			long long before = s.held();
			w8_ready();
			long long t0 = w8_now();
			set_keys(s, keys, lens, n);
			long long t1 = w8_now();
			long long grown = s.held() - before;
			w8_done(t1 - t0, get_keys(s, keys, lens, n, n), grown);
		} else if (op == "get") {
			long n = w8_arg(argc, argv, 3), nkeys = w8_arg(argc, argv, 4);
			size_t *lens;
			char *keys = w8_keys(nkeys, &lens);
			set_keys(s, keys, lens, nkeys);
			w8_ready();
			long long t0 = w8_now();
			long long sum = get_keys(s, keys, lens, n, nkeys);
			w8_done(w8_now() - t0, sum, 0);
		} else if (op == "add") {
			long n = w8_arg(argc, argv, 3);
			std::int64_t v = 0;
			w8_ready();
			for (long i = 0; i < n; i++) {
				v = s.add("counter", 1);
			}
			w8_done_value(v);
		} else if (op == "read") {
			std::int64_t v = 0;
			w8_ready();
			w8_done_value(s.get("counter", v) ? v : -1);
		} else {
			w8_fail("boost-map: unknown role %s", argv[1]);
		}
	} catch (const std::exception &e) {
		w8_fail("boost-map %s: %s", argv[1], e.what());
	}
	return 0;
}
