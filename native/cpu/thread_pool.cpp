#include "thread_pool.h"

#ifdef __linux__
#include <sched.h>
#endif

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace infonce::cpu {
namespace {

class ThreadPool {
 public:
  void run(int threads, const std::function<void(const ParallelContext&)>& body) {
    std::lock_guard<std::mutex> serialise(runMutex_);
    if (threads <= 1) {
      std::barrier<> alone(1);
      body(ParallelContext(0, 1, alone));
      return;
    }
    growTo(threads - 1);
    std::barrier<> barrier(threads);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      barrier_ = &barrier;
      threads_ = threads;
      pending_ = threads - 1;
      failure_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    runBody(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    body_ = nullptr;
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  void growTo(int workers) {
    while (static_cast<int>(workers_.size()) < workers) {
      int index = static_cast<int>(workers_.size()) + 1;
      // Detached: the pool lives for the whole process, and joining at exit could wait on a run
      // that Node abandoned.
      std::thread([this, index] { workerLoop(index); }).detach();
      workers_.push_back(index);
    }
  }

  void workerLoop(int index) {
    unsigned long long seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= threads_) continue;  // this run needs fewer threads than the pool has
      }
      runBody(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  void runBody(int index) {
    try {
      (*body_)(ParallelContext(index, threads_, *barrier_));
    } catch (...) {
      std::lock_guard<std::mutex> lock(failureMutex_);
      if (!failure_) failure_ = std::current_exception();
    }
  }

  std::mutex runMutex_;
  std::mutex mutex_;
  std::mutex failureMutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<int> workers_;
  const std::function<void(const ParallelContext&)>* body_ = nullptr;
  std::barrier<>* barrier_ = nullptr;
  int threads_ = 0;
  int pending_ = 0;
  unsigned long long generation_ = 0;
  std::exception_ptr failure_;
};

ThreadPool& sharedPool() {
  static ThreadPool* pool = new ThreadPool();  // never destroyed: see growTo
  return *pool;
}

}  // namespace

void parallelRun(int threads, const std::function<void(const ParallelContext&)>& body) {
  sharedPool().run(threads, body);
}

int defaultThreadCount() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
#endif
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;
}

}  // namespace infonce::cpu
