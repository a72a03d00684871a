// The ops' outputs (a cache of large buffers, so that an output is not page-faulted anew on every call) and
// their threads (a oneTBB arena of torch.get_num_threads() slots).
#pragma once

#include <ATen/EmptyTensor.h>
#include <ATen/Parallel.h>
#include <c10/core/CPUAllocator.h>
#include <tbb/task_arena.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <simdrop/runtime.hpp>

#include "common.hpp"

namespace simdrop_torch {
// ---- Outputs ----------------------------------------------------------------------------------------------

// The ops' large outputs come from a small cache of buffers that the binding keeps, as PyTorch's CUDA caching
// allocator does on GPUs. Why: PyTorch's CPU allocator hands every large tensor fresh pages from the kernel
// (glibc unmaps a freed 64 MiB block at once; so does jemalloc with its default decay), and first touching them
// costs a page fault and the kernel's zeroing per page. For a 64 MiB fp32 forward + backward that was ~10 ms of
// a ~40 ms step on a 2-core VM (the C++ library's own passes: ~29 ms), and with 2 threads the faults serialise.
// Buffers of at least kCachedMin bytes are 2 MiB-aligned, asked for transparent huge pages once (a hint: where
// THP is off nothing changes) and, when their tensor dies, kept for the next output of the same rounded size,
// up to $SIMDROP_TORCH_CACHE_MIB idle MiB (default 256; 0 turns the cache off); empty_cache() returns them all.
// The tensors are ordinary resizable CPU tensors (their storage names this allocator); smaller outputs and
// everything else use PyTorch's CPU allocator.
class OutputCache final : public c10::Allocator {
 public:
  static constexpr std::size_t kAlign = std::size_t{2} << 20;
  static constexpr std::size_t kCachedMin = std::size_t{2} << 20;

  static OutputCache& instance() {
    static OutputCache* cache = new OutputCache;  // never destroyed: tensors may outlive static destruction
    return *cache;
  }

  c10::DataPtr allocate(std::size_t n) const override {
    if (n < kCachedMin || limit_ == 0) return c10::GetCPUAllocator()->allocate(n);
    const std::size_t bytes = (n + kAlign - 1) / kAlign * kAlign;
    void* ptr = take(bytes);
    if (!ptr) {
      ptr = std::aligned_alloc(kAlign, bytes);
      TORCH_CHECK(ptr != nullptr, "simdrop: out of memory allocating ", bytes, " bytes");
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      (void)madvise(ptr, bytes, MADV_HUGEPAGE);
#endif
    }
    report(ptr, static_cast<int64_t>(bytes));
    return {ptr, new Block{ptr, bytes}, &release, c10::Device(c10::DeviceType::CPU)};
  }

  // Frees every idle buffer; returns the bytes freed.
  std::size_t empty() const {
    std::lock_guard<std::mutex> guard(lock_);
    std::size_t freed = 0;
    for (auto& [bytes, ptr] : idle_) {
      std::free(ptr);
      freed += bytes;
    }
    idle_.clear();
    idle_bytes_ = 0;
    return freed;
  }

 private:
  struct Block {
    void* ptr;
    std::size_t bytes;
  };

  OutputCache() {
    const char* env = std::getenv("SIMDROP_TORCH_CACHE_MIB");
    limit_ = env ? std::strtoull(env, nullptr, 10) << 20 : std::size_t{256} << 20;
  }

  // torch.profiler's memory view (profile_memory=True) sees these buffers as it sees its own allocator's.
  void report(void* ptr, int64_t delta) const {
    int64_t in_use = 0, reserved = 0;
    {
      std::lock_guard<std::mutex> guard(lock_);
      in_use_bytes_ += delta;
      in_use = static_cast<int64_t>(in_use_bytes_);
      reserved = static_cast<int64_t>(in_use_bytes_ + idle_bytes_);
    }
    c10::reportMemoryUsageToProfiler(ptr, delta, in_use, reserved, c10::Device(c10::DeviceType::CPU));
  }

  void* take(std::size_t bytes) const {
    std::lock_guard<std::mutex> guard(lock_);
    const auto it = idle_.find(bytes);
    if (it == idle_.end()) return nullptr;
    void* ptr = it->second;
    idle_.erase(it);
    idle_bytes_ -= bytes;
    return ptr;
  }

  static void release(void* ctx) {
    const std::unique_ptr<Block> block(static_cast<Block*>(ctx));
    OutputCache& cache = instance();
    cache.report(block->ptr, -static_cast<int64_t>(block->bytes));
    {
      std::lock_guard<std::mutex> guard(cache.lock_);
      if (cache.idle_bytes_ + block->bytes <= cache.limit_) {
        cache.idle_.emplace(block->bytes, block->ptr);
        cache.idle_bytes_ += block->bytes;
        return;
      }
    }
    std::free(block->ptr);
  }

  std::size_t limit_ = 0;
  mutable std::mutex lock_;
  mutable std::multimap<std::size_t, void*> idle_;
  mutable std::size_t idle_bytes_ = 0;
  mutable std::size_t in_use_bytes_ = 0;
};

// A new tensor for an op's output (uninitialised), from the cache above.
at::Tensor new_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
  return at::detail::empty_generic(sizes, &OutputCache::instance(), c10::DispatchKeySet(c10::DispatchKey::CPU),
                                   options.dtype().toScalarType(), options.memory_format_opt());
}

int64_t empty_cache() { return static_cast<int64_t>(OutputCache::instance().empty()); }

// ---- Threads: as many as torch.get_num_threads() says ---------------------------------------------------

// A oneTBB arena of `threads` slots, one per thread count, kept for the process's life.
tbb::task_arena& arena_of(int threads) {
  static std::mutex lock;
  static std::map<int, std::unique_ptr<tbb::task_arena>> arenas;
  std::lock_guard<std::mutex> guard(lock);
  auto& arena = arenas[threads];
  if (!arena) arena = std::make_unique<tbb::task_arena>(threads);
  return *arena;
}

// Runs f on at most at::get_num_threads() threads: always inside an arena of that many slots (1 means the
// calling thread alone; outside an arena oneTBB would use every core, and some of the library's loops, the
// column sums of bias_dropout_add's backward among them, go parallel at any size). The result never depends
// on the thread count. A std::invalid_argument from the library (which throws before writing anything)
// becomes a ValueError naming the op.
template <class F>
void run_simdrop(const char* op, F&& f) {
  try {
    arena_of(std::max(1, at::get_num_threads())).execute(f);
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK_VALUE(false, "simdrop.", op, ": ", e.what());
  }
}

}  // namespace simdrop_torch
