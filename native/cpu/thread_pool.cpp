#include "thread_pool.h"

#ifdef __linux__
#include <sched.h>
#endif

#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "infonce.h"

namespace infonce::cpu {
namespace {

class ThreadPool {
 public:
  void run(int threads, const std::function<void(const ParallelContext&)>& body) {
    std::lock_guard<std::mutex> serialise(runMutex_);
    if (threads <= 1) {
      Barrier alone(1);
      body(ParallelContext(0, 1, alone));
      return;
    }
    growTo(threads - 1);
    Barrier barrier(threads);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      barrier_ = &barrier;
      threads_ = threads;
      pending_ = threads - 1;
      failure_ = Failure{};
      ++generation_;
    }
    wake_.notify_all();
    runBody(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    body_ = nullptr;
    if (failure_.failed) throw Error(failure_.code, failure_.message);
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

  // The first failure of a run, kept as an infonce::Error's code and message (not an
  // std::exception_ptr, whose copies need GCC 11's libstdc++ (CXXABI_1.3.13) in a binary built with
  // GCC 12). What reaches the caller is an Error either way: the bindings map std::bad_alloc to
  // OutOfMemory, and so does this.
  struct Failure {
    bool failed = false;
    ErrorCode code = ErrorCode::Internal;
    std::string message;
  };

  void fail(ErrorCode code, const char* message) {
    std::lock_guard<std::mutex> lock(failureMutex_);
    if (!failure_.failed) failure_ = Failure{true, code, message};
  }

  void runBody(int index) {
    try {
      (*body_)(ParallelContext(index, threads_, *barrier_));
    } catch (const Error& e) {
      fail(e.code(), e.what());
    } catch (const std::bad_alloc&) {
      fail(ErrorCode::OutOfMemory, "out of host memory");
    } catch (const std::exception& e) {
      fail(ErrorCode::Internal, e.what());
    } catch (...) {
      fail(ErrorCode::Internal, "a worker thread failed");
    }
  }

  std::mutex runMutex_;
  std::mutex mutex_;
  std::mutex failureMutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<int> workers_;
  const std::function<void(const ParallelContext&)>* body_ = nullptr;
  Barrier* barrier_ = nullptr;
  int threads_ = 0;
  int pending_ = 0;
  unsigned long long generation_ = 0;
  Failure failure_;
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
