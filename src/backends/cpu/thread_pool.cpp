// A small fork/join pool: workers spin briefly for low latency between back-to-back kernels, then sleep on
// a condition variable so they never compete with BLAS threads.
//
// Note [Thread pool]: with OpenMP for elementwise kernels and the pthreads OpenBLAS for GEMMs, BERT-base on
// 2 cores ran 1.6x slower than with OMP_WAIT_POLICY=passive: OpenMP's idle workers spun through the GEMMs.
// A pool of our own with a bounded spin (kSpinIterations) removes the contention without env variables.
#include "backends/cpu/thread_pool.h"

#include <immintrin.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::backends::cpu {

namespace {
constexpr int kSpinIterations = 2000;  // ~10-20 us of pause: covers the gap between consecutive small kernels

class Pool {
 public:
  static Pool& get() {
    static Pool p;
    return p;
  }

  void run(int64_t n, int threads, const std::function<void(int64_t)>& task) {
    std::lock_guard<std::mutex> serial(run_mutex_);  // one parallel region at a time (nested calls run inline)
    ensure_workers(threads - 1);
    task_ = &task;
    n_ = n;
    next_.store(1);
    done_.store(0);
    int64_t helpers = std::min<int64_t>((int64_t)workers_.size(), n - 1);
    active_ = helpers;
    {
      std::lock_guard<std::mutex> lk(m_);
      gen_atomic_.store(++generation_, std::memory_order_release);
    }
    cv_.notify_all();
    task(0);
    drain();
    while (done_.load(std::memory_order_acquire) < helpers) _mm_pause();
    task_ = nullptr;
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
      gen_atomic_.store(++generation_, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void drain() {
    for (int64_t i; (i = next_.fetch_add(1)) < n_;) (*task_)(i);
  }

  void ensure_workers(int count) {
    while ((int)workers_.size() < count) {
      int index = (int)workers_.size();
      workers_.emplace_back([this, index] { loop(index); });
    }
  }

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      // Spin briefly, then sleep until the next generation.
      bool woke = false;
      for (int s = 0; s < kSpinIterations; ++s) {
        if (gen_atomic_.load(std::memory_order_acquire) != seen) {
          woke = true;
          break;
        }
        _mm_pause();
      }
      {
        std::unique_lock<std::mutex> lk(m_);
        if (!woke) cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
      }
      if (index < active_) {
        drain();
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  std::mutex run_mutex_, m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> gen_atomic_{0};
  bool stop_ = false;
  const std::function<void(int64_t)>* task_ = nullptr;
  int64_t n_ = 0;
  int64_t active_ = 0;
  std::atomic<int64_t> next_{0}, done_{0};
  friend void run_parallel(int64_t, int, const std::function<void(int64_t)>&);
};

thread_local bool tl_in_parallel = false;
}  // namespace

void run_parallel(int64_t n, int threads, const std::function<void(int64_t)>& task) {
  if (n <= 0) return;
  if (n == 1 || threads <= 1 || tl_in_parallel) {
    for (int64_t i = 0; i < n; ++i) task(i);
    return;
  }
  Pool& p = Pool::get();
  auto wrapped = [&](int64_t i) {
    bool prev = tl_in_parallel;
    tl_in_parallel = true;
    task(i);
    tl_in_parallel = prev;
  };
  p.run(n, threads, wrapped);
}

}  // namespace tessera::backends::cpu
