// peers.cpp - Boost.Interprocess and Boost.Lockfree doing the benchmark's
// workloads, for shmkit bench to run beside its own rows, written the way
// Boost's documentation and examples use them. It speaks the workers'
// protocol: print "ready", wait for "go" on standard input, work, print
// "done <checksum>". Setup roles make the shared objects and exit. Every
// role maps its queue's pages in before "ready", as shmkit's channels do
// when they are opened, so that no row pays page faults in the timed run.
//
//   setup-mq NAME SLOTS BYTES        a message_queue of SLOTS messages
//   mq-send NAME COUNT ELEMS         W1, W2: message k carries k first and last
//   mq-recv NAME COUNT ELEMS         ... and the receiver sums them
//   mq-ping NAME COUNT / mq-pong     W3 over queues NAME-ping and NAME-pong
//   setup-spsc NAME ELEMS SLOTS      an spsc_queue of SLOTS messages of ELEMS
//                                    doubles, placed in shm NAME
//   spsc-send NAME COUNT ELEMS       push(const T&) / pop(T&), one message
//   spsc-recv NAME COUNT ELEMS       at a time
//   setup-spsc-array NAME ELEMS SLOTS  an spsc_queue<double> of ELEMS*SLOTS
//   spsc-array-send / spsc-array-recv  push(const T*, n) / pop(T*, n)
//   setup-spsc-batch NAME 1 SLOTS    W2's spsc_queue<double>, for
//   spsc-batch-send / spsc-batch-recv  push(const T*, n) of 64 doubles /
//                                      pop(T*, n) of up to 256
//   setup-mutex NAME                 a counter and an interprocess_mutex
//   mutex-count NAME K               W5: K additions under the mutex
#include <algorithm>
#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace bip = boost::interprocess;

namespace {

// The queues' sizes are fixed at compile time, so that the storage is inside
// the queue object and the object can live in shared memory. Each holds as
// many messages as shmkit's ring for the workload (bench/stream.go,
// depthFor): 4,100 one-double messages for W2, six of W1's 100,000
// doubles. A W1 message is a struct of 100,000 doubles, so that push and
// pop copy one whole message, as they copy one double for W2.
constexpr long kLargeElems = 100000;
constexpr std::size_t kSmallSlots = 4100, kLargeSlots = 6;

struct LargeMsg {
	double v[kLargeElems];
};

using SmallQueue = boost::lockfree::spsc_queue<double, boost::lockfree::capacity<kSmallSlots>>;
using LargeQueue = boost::lockfree::spsc_queue<LargeMsg, boost::lockfree::capacity<kLargeSlots>>;
// The same bytes as LargeQueue, as a queue of doubles for the array overloads.
using ArrayQueue = boost::lockfree::spsc_queue<double, boost::lockfree::capacity<kLargeSlots * kLargeElems>>;

void stamp(double &m, double k) { m = k; }
void stamp(LargeMsg &m, double k) { m.v[0] = m.v[kLargeElems - 1] = k; }
long long first_and_last(const double &m) { return 2 * (long long)m; }
long long first_and_last(const LargeMsg &m) { return (long long)m.v[0] + (long long)m.v[kLargeElems - 1]; }

// idle is what a side does each time the queue is full or empty: a pause,
// and after 64 of them sched_yield, so that a side whose peer shares its
// CPU lets the peer run.
void idle(int &looks) {
	if (looks < 64) {
		looks++;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	} else {
		sched_yield();
	}
}

// prefault maps [addr, addr+len) in now, as shmkit's channels do when
// opened: the advice, then a read of each page, the first access, which
// still traps to a hypervisor that keeps page tables of its own.
void prefault(void *addr, std::size_t len) {
	if (madvise(addr, len, MADV_POPULATE_WRITE) != 0) {
		return;
	}
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	for (std::size_t off = 0; off < len; off += page) {
		(void)*(static_cast<const volatile unsigned *>(addr) + off / sizeof(unsigned));
	}
}

// prefault_shm maps in this process's mappings of /dev/shm/NAME, for
// objects such as message_queue that do not show their mapping.
void prefault_shm(const std::string &name) {
	std::ifstream maps("/proc/self/maps");
	std::string line, suffix = "/dev/shm/" + name;
	while (std::getline(maps, line)) {
		if (line.size() > suffix.size() && line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0) {
			unsigned long from = 0, to = 0;
			if (std::sscanf(line.c_str(), "%lx-%lx", &from, &to) == 2 && to > from) {
				prefault(reinterpret_cast<void *>(from), to - from);
			}
		}
	}
}

struct Counter {
	alignas(64) std::int64_t n;
	alignas(64) bip::interprocess_mutex mu;
};

void ready() {
	std::printf("ready\n");
	std::fflush(stdout);
	std::string line;
	if (!std::getline(std::cin, line) || line != "go") {
		std::exit(3);
	}
}

// done reports a checksum: whole numbers added up in a long long, exact
// where a double's sum of a long W2 stream is not.
void done(long long sum) {
	std::printf("done %lld\n", sum);
	std::fflush(stdout);
}

long arg(char **argv, int i) { return std::strtol(argv[i], nullptr, 10); }

void mq_send(const char *name, long count, long elems) {
	bip::message_queue q(bip::open_only, name);
	prefault_shm(name);
	std::vector<double> msg(elems);
	ready();
	for (long k = 0; k < count; k++) {
		msg[0] = msg[elems - 1] = double(k);
		q.send(msg.data(), msg.size() * sizeof(double), 0);
	}
	done(0);
}

void mq_recv(const char *name, long count, long elems) {
	bip::message_queue q(bip::open_only, name);
	prefault_shm(name);
	std::vector<double> buf(elems);
	long long sum = 0;
	ready();
	for (long k = 0; k < count; k++) {
		bip::message_queue::size_type got;
		unsigned prio;
		q.receive(buf.data(), buf.size() * sizeof(double), got, prio);
		std::size_t n = got / sizeof(double);
		sum += (long long)buf[0] + (long long)buf[n - 1];
	}
	done(sum);
}

void mq_pingpong(const std::string &name, long count, bool pinger) {
	bip::message_queue ping(bip::open_only, (name + "-ping").c_str());
	bip::message_queue pong(bip::open_only, (name + "-pong").c_str());
	prefault_shm(name + "-ping");
	prefault_shm(name + "-pong");
	double v = 0;
	long long sum = 0;
	bip::message_queue::size_type got;
	unsigned prio;
	ready();
	for (long k = 0; k < count; k++) {
		if (pinger) {
			v = double(k);
			ping.send(&v, sizeof v, 0);
			pong.receive(&v, sizeof v, got, prio);
			sum += (long long)v;
		} else {
			ping.receive(&v, sizeof v, got, prio);
			v += 1;
			pong.send(&v, sizeof v, 0);
		}
	}
	done(sum);
}

// The spsc_queue lives at the start of the shared memory object NAME.
template <class Queue>
Queue *spsc_map(const char *name, bip::mapped_region &region) {
	bip::shared_memory_object shm(bip::open_only, name, bip::read_write);
	region = bip::mapped_region(shm, bip::read_write);
	prefault(region.get_address(), region.get_size());
	return static_cast<Queue *>(region.get_address());
}

template <class Queue>
void spsc_setup(const char *name) {
	bip::shared_memory_object shm(bip::create_only, name, bip::read_write);
	shm.truncate(sizeof(Queue));
	bip::mapped_region region(shm, bip::read_write);
	new (region.get_address()) Queue();
}

template <class Queue, class Msg>
void spsc_send(const char *name, long count) {
	bip::mapped_region region;
	Queue *q = spsc_map<Queue>(name, region);
	std::unique_ptr<Msg> msg(new Msg());
	ready();
	for (long k = 0; k < count; k++) {
		stamp(*msg, double(k));
		for (int looks = 0; !q->push(*msg);) {
			idle(looks);
		}
	}
	done(0);
}

template <class Queue, class Msg>
void spsc_recv(const char *name, long count) {
	bip::mapped_region region;
	Queue *q = spsc_map<Queue>(name, region);
	std::unique_ptr<Msg> msg(new Msg());
	long long sum = 0;
	ready();
	for (long k = 0; k < count; k++) {
		for (int looks = 0; !q->pop(*msg);) {
			idle(looks);
		}
		sum += first_and_last(*msg);
	}
	done(sum);
}

// The array overloads: a message's doubles go in as many pushes as there
// is room for, and come out likewise.
void spsc_array_send(const char *name, long count) {
	bip::mapped_region region;
	ArrayQueue *q = spsc_map<ArrayQueue>(name, region);
	std::vector<double> msg(kLargeElems);
	ready();
	for (long k = 0; k < count; k++) {
		msg[0] = msg[kLargeElems - 1] = double(k);
		int looks = 0;
		for (std::size_t sent = 0; sent < msg.size();) {
			std::size_t n = q->push(msg.data() + sent, msg.size() - sent);
			sent += n;
			if (n == 0) {
				idle(looks);
			}
		}
	}
	done(0);
}

void spsc_array_recv(const char *name, long count) {
	bip::mapped_region region;
	ArrayQueue *q = spsc_map<ArrayQueue>(name, region);
	std::vector<double> buf(kLargeElems);
	long long sum = 0;
	ready();
	for (long k = 0; k < count; k++) {
		int looks = 0;
		for (std::size_t got = 0; got < buf.size();) {
			std::size_t n = q->pop(buf.data() + got, buf.size() - got);
			got += n;
			if (n == 0) {
				idle(looks);
			}
		}
		sum += (long long)buf[0] + (long long)buf[kLargeElems - 1];
	}
	done(sum);
}

// W2 in batches: the producer pushes its doubles 64 at a time through
// push(const T*, n), as many as there is room for, and the consumer pops
// up to 256 at once through pop(T*, n), as shmkit's batched row does.
constexpr std::size_t kSendBatch = 64, kRecvBatch = 256;

void spsc_batch_send(const char *name, long count) {
	bip::mapped_region region;
	SmallQueue *q = spsc_map<SmallQueue>(name, region);
	double batch[kSendBatch];
	ready();
	for (long k = 0; k < count;) {
		std::size_t n = std::min<std::size_t>(kSendBatch, std::size_t(count - k));
		for (std::size_t i = 0; i < n; i++) {
			batch[i] = double(k + long(i));
		}
		int looks = 0;
		for (std::size_t sent = 0; sent < n;) {
			std::size_t m = q->push(batch + sent, n - sent);
			sent += m;
			if (m == 0) {
				idle(looks);
			} else {
				looks = 0;
			}
		}
		k += long(n);
	}
	done(0);
}

void spsc_batch_recv(const char *name, long count) {
	bip::mapped_region region;
	SmallQueue *q = spsc_map<SmallQueue>(name, region);
	double buf[kRecvBatch];
	long long sum = 0;
	ready();
	int looks = 0;
	for (long got = 0; got < count;) {
		std::size_t n = q->pop(buf, std::min<std::size_t>(kRecvBatch, std::size_t(count - got)));
		if (n == 0) {
			idle(looks);
			continue;
		}
		looks = 0;
		for (std::size_t i = 0; i < n; i++) {
			sum += first_and_last(buf[i]);
		}
		got += long(n);
	}
	done(sum);
}

// sized reports whether ELEMS and SLOTS are what a queue was compiled for:
// the queue must hold what shmkit's ring holds.
bool sized(long elems, long slots, long want_elems, std::size_t want_slots) {
	return elems == want_elems && slots == long(want_slots);
}

int unsized(long elems, long slots) {
	std::fprintf(stderr, "peers: no queue compiled for %ld messages of %ld doubles\n", slots, elems);
	return 2;
}

Counter *counter_map(const char *name, bip::mapped_region &region) {
	bip::shared_memory_object shm(bip::open_only, name, bip::read_write);
	region = bip::mapped_region(shm, bip::read_write);
	return static_cast<Counter *>(region.get_address());
}

}  // namespace

int main(int argc, char **argv) {
	if (argc < 3) {
		std::fprintf(stderr, "usage: peers ROLE NAME ...\n");
		return 2;
	}
	std::string role = argv[1];
	const char *name = argv[2];
	try {
		if (role == "setup-mq" && argc == 5) {
			bip::message_queue(bip::create_only, name, arg(argv, 3), arg(argv, 4));
		} else if (role == "mq-send" && argc == 5) {
			mq_send(name, arg(argv, 3), arg(argv, 4));
		} else if (role == "mq-recv" && argc == 5) {
			mq_recv(name, arg(argv, 3), arg(argv, 4));
		} else if ((role == "mq-ping" || role == "mq-pong") && argc == 4) {
			mq_pingpong(name, arg(argv, 3), role == "mq-ping");
		} else if (role == "setup-spsc" && argc == 5) {
			long elems = arg(argv, 3), slots = arg(argv, 4);
			if (sized(elems, slots, 1, kSmallSlots)) {
				spsc_setup<SmallQueue>(name);
			} else if (sized(elems, slots, kLargeElems, kLargeSlots)) {
				spsc_setup<LargeQueue>(name);
			} else {
				return unsized(elems, slots);
			}
		} else if (role == "spsc-send" && argc == 5) {
			arg(argv, 4) == 1 ? spsc_send<SmallQueue, double>(name, arg(argv, 3))
			                  : spsc_send<LargeQueue, LargeMsg>(name, arg(argv, 3));
		} else if (role == "spsc-recv" && argc == 5) {
			arg(argv, 4) == 1 ? spsc_recv<SmallQueue, double>(name, arg(argv, 3))
			                  : spsc_recv<LargeQueue, LargeMsg>(name, arg(argv, 3));
		} else if (role == "setup-spsc-batch" && argc == 5) {
			if (!sized(arg(argv, 3), arg(argv, 4), 1, kSmallSlots)) {
				return unsized(arg(argv, 3), arg(argv, 4));
			}
			spsc_setup<SmallQueue>(name);
		} else if (role == "spsc-batch-send" && argc == 5 && arg(argv, 4) == 1) {
			spsc_batch_send(name, arg(argv, 3));
		} else if (role == "spsc-batch-recv" && argc == 5 && arg(argv, 4) == 1) {
			spsc_batch_recv(name, arg(argv, 3));
		} else if (role == "setup-spsc-array" && argc == 5) {
			if (!sized(arg(argv, 3), arg(argv, 4), kLargeElems, kLargeSlots)) {
				return unsized(arg(argv, 3), arg(argv, 4));
			}
			spsc_setup<ArrayQueue>(name);
		} else if (role == "spsc-array-send" && argc == 5 && arg(argv, 4) == kLargeElems) {
			spsc_array_send(name, arg(argv, 3));
		} else if (role == "spsc-array-recv" && argc == 5 && arg(argv, 4) == kLargeElems) {
			spsc_array_recv(name, arg(argv, 3));
		} else if (role == "setup-mutex" && argc == 3) {
			bip::shared_memory_object shm(bip::create_only, name, bip::read_write);
			shm.truncate(sizeof(Counter));
			bip::mapped_region region(shm, bip::read_write);
			new (region.get_address()) Counter();
		} else if (role == "mutex-count" && argc == 4) {
			bip::mapped_region region;
			Counter *c = counter_map(name, region);
			long k = arg(argv, 3);
			ready();
			for (long i = 0; i < k; i++) {
				bip::scoped_lock<bip::interprocess_mutex> lock(c->mu);
				c->n++;
			}
			done((long long)c->n);
		} else {
			std::fprintf(stderr, "peers: unknown role or arguments: %s\n", role.c_str());
			return 2;
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "peers %s: %s\n", role.c_str(), e.what());
		return 1;
	}
	return 0;
}
