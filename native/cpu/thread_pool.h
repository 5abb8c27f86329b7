// A small pool of persistent worker threads for the CPU kernels.
//
// Why not one std::thread per call: a training loop calls the loss thousands of times, and the
// kernels use a static schedule (thread t always owns the same rows) so that results are
// bit-identical run to run; persistent workers keep that cheap.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace infonce::cpu {

// A reusable barrier for `count` threads. Not std::barrier: its over-aligned state needs the aligned
// operator new of GCC 7's libstdc++ (CXXABI_1.3.11), above the prebuilt addon's GCC 6 floor; the
// kernels meet at it a few times a call, so a mutex and a condition variable cost nothing measurable.
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void arriveAndWait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const unsigned long long generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      all_.notify_all();
      return;
    }
    all_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_;
  const int count_;
  int arrived_ = 0;
  unsigned long long generation_ = 0;
};

// What a thread of one parallel run knows: who it is, how many there are, and a barrier among them.
class ParallelContext {
 public:
  ParallelContext(int thread, int threads, Barrier& barrier)
      : thread_(thread), threads_(threads), barrier_(barrier) {}
  int thread() const { return thread_; }
  int threads() const { return threads_; }
  // This thread's contiguous share [begin, end) of n items, the same for every run of T threads.
  struct Share {
    int64_t begin, end;
  };
  Share share(int64_t n) const { return {n * thread_ / threads_, n * (thread_ + 1) / threads_}; }
  void sync() const { barrier_.arriveAndWait(); }

 private:
  int thread_;
  int threads_;
  Barrier& barrier_;
};

// Runs body on `threads` threads (the calling thread is thread 0) and returns when all are done.
// Runs from different callers are serialised: the kernels are compute-bound, so two at once would
// only slow both. body must not throw past a sync() (the others would wait forever); it may throw
// after its last sync, and the first such exception is rethrown here.
void parallelRun(int threads, const std::function<void(const ParallelContext&)>& body);

// The default thread count: the hardware threads this process may use (its CPU affinity mask).
int defaultThreadCount();

}  // namespace infonce::cpu
