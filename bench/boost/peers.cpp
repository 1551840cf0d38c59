// peers.cpp - Boost.Interprocess and Boost.Lockfree doing the benchmark's
// workloads, for shmkit bench to run beside its own rows. It speaks the
// workers' protocol: print "ready", wait for "go" on standard input, work,
// print "done <checksum>". Setup roles make the shared objects and exit.
//
//   setup-mq NAME SLOTS BYTES        a message_queue of SLOTS messages
//   mq-send NAME COUNT ELEMS         W1, W2: message k carries k first and last
//   mq-recv NAME COUNT ELEMS         ... and the receiver sums them
//   mq-ping NAME COUNT / mq-pong     W3 over queues NAME-ping and NAME-pong
//   setup-spsc NAME ELEMS            an spsc_queue<double> placed in shm NAME
//   spsc-send NAME COUNT ELEMS / spsc-recv
//   setup-mutex NAME                 a counter and an interprocess_mutex
//   mutex-count NAME K               W5: K additions under the mutex
#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>
#include <string>
#include <vector>

namespace bip = boost::interprocess;

namespace {

// Two queue sizes, fixed at compile time so that the queue's storage is
// inside the object and the object can live in shared memory: as many
// one-float64 messages as shmkit's W2 ring holds, and 4 MiB of float64
// for W1's large messages.
using SmallQueue = boost::lockfree::spsc_queue<double, boost::lockfree::capacity<1024>>;
using LargeQueue = boost::lockfree::spsc_queue<double, boost::lockfree::capacity<(4 << 20) / 8>>;

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

void done(double sum) {
	std::printf("done %.0f\n", sum);
	std::fflush(stdout);
}

long arg(char **argv, int i) { return std::strtol(argv[i], nullptr, 10); }

void mq_send(const char *name, long count, long elems) {
	bip::message_queue q(bip::open_only, name);
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
	std::vector<double> buf(elems);
	double sum = 0;
	ready();
	for (long k = 0; k < count; k++) {
		bip::message_queue::size_type got;
		unsigned prio;
		q.receive(buf.data(), buf.size() * sizeof(double), got, prio);
		std::size_t n = got / sizeof(double);
		sum += buf[0] + buf[n - 1];
	}
	done(sum);
}

void mq_pingpong(const std::string &name, long count, bool pinger) {
	bip::message_queue ping(bip::open_only, (name + "-ping").c_str());
	bip::message_queue pong(bip::open_only, (name + "-pong").c_str());
	double v = 0, sum = 0;
	bip::message_queue::size_type got;
	unsigned prio;
	ready();
	for (long k = 0; k < count; k++) {
		if (pinger) {
			v = double(k);
			ping.send(&v, sizeof v, 0);
			pong.receive(&v, sizeof v, got, prio);
			sum += v;
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
	return static_cast<Queue *>(region.get_address());
}

template <class Queue>
void spsc_setup(const char *name) {
	bip::shared_memory_object shm(bip::create_only, name, bip::read_write);
	shm.truncate(sizeof(Queue));
	bip::mapped_region region(shm, bip::read_write);
	new (region.get_address()) Queue();
}

template <class Queue>
void spsc_send(const char *name, long count, long elems) {
	bip::mapped_region region;
	Queue *q = spsc_map<Queue>(name, region);
	std::vector<double> msg(elems);
	ready();
	for (long k = 0; k < count; k++) {
		msg[0] = msg[elems - 1] = double(k);
		for (std::size_t sent = 0; sent < msg.size();) {
			sent += q->push(msg.data() + sent, msg.size() - sent);
		}
	}
	done(0);
}

template <class Queue>
void spsc_recv(const char *name, long count, long elems) {
	bip::mapped_region region;
	Queue *q = spsc_map<Queue>(name, region);
	std::vector<double> buf(elems);
	double sum = 0;
	ready();
	for (long k = 0; k < count; k++) {
		for (std::size_t got = 0; got < buf.size();) {
			got += q->pop(buf.data() + got, buf.size() - got);
		}
		sum += buf[0] + buf[elems - 1];
	}
	done(sum);
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
		} else if (role == "setup-spsc" && argc == 4) {
			arg(argv, 3) == 1 ? spsc_setup<SmallQueue>(name) : spsc_setup<LargeQueue>(name);
		} else if (role == "spsc-send" && argc == 5) {
			arg(argv, 4) == 1 ? spsc_send<SmallQueue>(name, arg(argv, 3), 1)
			                  : spsc_send<LargeQueue>(name, arg(argv, 3), arg(argv, 4));
		} else if (role == "spsc-recv" && argc == 5) {
			arg(argv, 4) == 1 ? spsc_recv<SmallQueue>(name, arg(argv, 3), 1)
			                  : spsc_recv<LargeQueue>(name, arg(argv, 3), arg(argv, 4));
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
			done(double(c->n));
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
