// A small pool of persistent worker threads for the CPU kernels.
//
// Why not one std::thread per call: a training loop calls the loss thousands of times, and the
// kernels use a static schedule (thread t always owns the same rows) so that results are
// bit-identical run to run; persistent workers keep that cheap.
#pragma once

#include <barrier>
#include <cstdint>
#include <functional>

namespace infonce::cpu {

// What a thread of one parallel run knows: who it is, how many there are, and a barrier among them.
class ParallelContext {
 public:
  ParallelContext(int thread, int threads, std::barrier<>& barrier)
      : thread_(thread), threads_(threads), barrier_(barrier) {}
  int thread() const { return thread_; }
  int threads() const { return threads_; }
  // This thread's contiguous share [begin, end) of n items, the same for every run of T threads.
  struct Share {
    int64_t begin, end;
  };
  Share share(int64_t n) const { return {n * thread_ / threads_, n * (thread_ + 1) / threads_}; }
  void sync() const { barrier_.arrive_and_wait(); }

 private:
  int thread_;
  int threads_;
  std::barrier<>& barrier_;
};

// Runs body on `threads` threads (the calling thread is thread 0) and returns when all are done.
// Runs from different callers are serialised: the kernels are compute-bound, so two at once would
// only slow both. body must not throw past a sync() (the others would wait forever); it may throw
// after its last sync, and the first such exception is rethrown here.
void parallelRun(int threads, const std::function<void(const ParallelContext&)>& body);

// The default thread count: the hardware threads this process may use (its CPU affinity mask).
int defaultThreadCount();

}  // namespace infonce::cpu
