// oneTBB batching over fixed blocks addressed by call index: block b is [b * grain, (b + 1) * grain).
// Blocks start at multiples of 64, so each owns whole mask words; as every decision is a function of
// the global index alone, neither the grain nor the thread count nor TBB's partition changes a result.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <simdrop/runtime.hpp>

#if defined(__SANITIZE_THREAD__)
#define SIMDROP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIMDROP_TSAN 1
#endif
#endif
#ifdef SIMDROP_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

namespace simdrop::detail {

// The happens-before edges of one fork-join, told to ThreadSanitizer. oneTBB makes them inside libtbb.so,
// which Debian builds without instrumentation, so TSan would otherwise see none: everything the caller did
// before the call happens before every task (fork/enter), and every task happens before the call returns
// (leave/join). Tasks stay unordered with respect to each other (two separate tokens), so a race between
// two tasks of one call is still reported. Outside a TSan build every member is empty.
//
// join() also pairs oneTBB's own last step: the task that finishes a call releases (atomically decrements)
// the wait node and reads the context that parallel_for keeps on the calling thread's stack, below the
// caller's frame; the acquire that pairs with it is inside libtbb.so. Without it, the caller's next use of
// that stack would look like a race with the worker. join() acquires every 4-byte word of the 8 KiB below
// the frame that called parallel_for (`frame`), where those objects lived; that adds only the edges
// oneTBB's wait makes, as TSan keeps a release only at the address it was made on.
class ForkJoinEdges {
 public:
#ifdef SIMDROP_TSAN
  void fork() { __tsan_release(&start_); }
  void enter() { __tsan_acquire(&start_); }
  void leave() { __tsan_release(&end_); }
  void join(const void* frame) {
    __tsan_acquire(&end_);
    const auto top = reinterpret_cast<std::uintptr_t>(frame) & ~std::uintptr_t{3};
    for (std::uintptr_t a = top - 8192; a < top; a += 4) __tsan_acquire(reinterpret_cast<void*>(a));
  }

 private:
  char start_ = 0, end_ = 0;
#else
  void fork() {}
  void enter() {}
  void leave() {}
  void join(const void*) {}
#endif
};

// Reads made while one exists are not checked by TSan (empty outside a TSan build). Used for what oneTBB
// copied into a task for its body when it split the range (the body's one captured pointer and the range):
// the copy is written by the splitting thread and read by the thief, and the edge between them is inside
// libtbb.so. Everything the body reads after ForkJoinEdges::enter() is checked.
struct UncheckedReads {
#ifdef SIMDROP_TSAN
  UncheckedReads() { AnnotateIgnoreReadsBegin(__FILE__, __LINE__); }
  ~UncheckedReads() { AnnotateIgnoreReadsEnd(__FILE__, __LINE__); }
#else
  UncheckedReads() = default;
#endif
  UncheckedReads(const UncheckedReads&) = delete;
  UncheckedReads& operator=(const UncheckedReads&) = delete;
};

// Calls body(b) for every b in [0, blocks), in parallel over oneTBB's workers (blocks in any order).
template <class Body>
void parallel_blocks(std::size_t blocks, const Body& body) {
  struct Call {
    ForkJoinEdges edges;
    const Body& body;
  } call{{}, body};
  call.edges.fork();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1), [c = &call](const tbb::blocked_range<std::size_t>& r) {
    Call* self;
    std::size_t begin, end;
    {
      [[maybe_unused]] UncheckedReads copied_by_tbb;
      self = c;
      begin = r.begin();
      end = r.end();
    }
    self->edges.enter();
    for (std::size_t b = begin; b != end; ++b) self->body(b);
    self->edges.leave();
  });
  call.edges.join(__builtin_frame_address(0));
}

// Calls body(begin, end) over [0, n) in blocks of grain_size(), in parallel where there are two or more.
// The grain is read once per call.
template <class Body>
void for_each_block(std::size_t n, const Body& body) {
  const std::size_t grain = grain_size();
  const std::size_t blocks = (n + grain - 1) / grain;
  if (blocks < 2) {
    if (n > 0) body(std::size_t{0}, n);
    return;
  }
  parallel_blocks(blocks, [&](std::size_t b) { body(b * grain, std::min(n, (b + 1) * grain)); });
}

}  // namespace simdrop::detail
