// simdrop_bench: every op x implementation x dtype x size x p x threads, named
// <op>/<impl>/<dtype>/n:<elements>/p:<percent>/threads:<T> (mask has no dtype part).
//
// Own flags (the rest go to Google Benchmark, and override the profile's defaults):
//   --profile=quick|full   which grid and which default repetitions (default quick)
//   --include_broken       also register a deliberately wrong kernel (for the validation test)
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>
#include <tbb/version.h>

#include <simdrop/simdrop.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "baselines/composed.hpp"
#include "baselines/copy.hpp"
#include "baselines/eigen.hpp"
#include "baselines/naive.hpp"
#include "harness.hpp"
#include "impls/family_impls.hpp"
#include "impls/simdrop_impls.hpp"
#include "progress.hpp"
#if SIMDROP_BENCH_WITH_TORCH
#include "baselines/torch.hpp"
#endif

namespace simdrop::bench {
namespace {

struct Impl {
  std::string name;
  Factory<float> f32;
  Factory<double> f64;
  bool parallel;  // runs on oneTBB (or PyTorch's pool): swept over threads
};

// simdrop: the core ops and the family's.
template <class T>
std::optional<Prepared> make_simdrop_all(Op op, Workload<T>& w) {
  for (Op family : kFamilyOps)
    if (op == family) return make_simdrop_family(op, w);
  return make_simdrop(op, w);
}

std::vector<Impl> implementations(bool include_broken) {
  std::vector<Impl> impls = {
      {"simdrop", make_simdrop_all<float>, make_simdrop_all<double>, true},
      {"simdrop_philox7", make_simdrop<float, Generator::philox4x32_7>, make_simdrop<double, Generator::philox4x32_7>,
       true},
      {"simdrop_ars5", make_simdrop<float, Generator::ars5>, make_simdrop<double, Generator::ars5>, true},
      {"simdrop_unfused", make_simdrop_unfused<float>, make_simdrop_unfused<double>, true},
      {"naive", make_naive<float>, make_naive<double>, false},
      {"eigen", make_eigen<float>, make_eigen<double>, false},
      {"copy", make_copy<float>, make_copy<double>, true},
      {"composed", make_composed<float>, make_composed<double>, true},
  };
#if SIMDROP_BENCH_WITH_TORCH
  impls.push_back({"torch", make_torch<float>, make_torch<double>, true});
#endif
  if (include_broken) impls.push_back({"broken_keep_all", make_broken_keep_all<float>, make_broken_keep_all<double>, false});
  return impls;
}

// Whether impl has op (probed on an empty workload; factories do no work for n = 0).
bool has_op(const Impl& impl, Op op) {
  Workload<float> w(0, 0.5, 1);
  return impl.f32(op, w).has_value();
}

template <class T>
void run_case(benchmark::State& state, const Case c, const Factory<T> factory) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(c.threads));
  Workload<T> w(c.n, c.p_percent / 100.0, c.threads);
  std::optional<Prepared> prepared = factory(c.op, w);
  if (!prepared) {
    state.SkipWithError("no such op for this implementation");
    return;
  }
  // Validate before timing: a broken kernel never posts a number.
  prepared->run();
  const Check check = prepared->check();
  if (!check.error.empty()) {
    state.SkipWithError(("validation failed: " + check.error).c_str());
    return;
  }
  for (auto _ : state) {
    prepared->run();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * prepared->bytes_per_iteration));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * c.n));
  state.counters["mask_bytes_per_element"] = prepared->mask_bytes_per_element;
  if (check.has_stats) {
    state.counters["keep_fraction"] = check.keep_fraction;
    state.counters["keep_z"] = check.keep_z;
    if (c.op != Op::mask) {
      state.counters["mean_z"] = check.mean_z;
      state.counters["var_ratio"] = check.var_ratio;
      state.counters["var_z"] = check.var_z;
    }
  }
  state.SetLabel(prepared->label);
}

// Cache sizes as the CPU reports them (bytes; 0 where unknown).
struct Caches {
  std::size_t l1d = 0, l2 = 0, l3 = 0;
};
Caches caches() {
  Caches c;
  for (const auto& info : benchmark::CPUInfo::Get().caches) {
    const auto size = static_cast<std::size_t>(info.size);
    if (info.level == 1 && info.type != "Instruction") c.l1d = size;
    if (info.level == 2) c.l2 = size;
    if (info.level == 3) c.l3 = size;
  }
  return c;
}

std::vector<int> thread_counts() {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> t;
  for (int k = 1; k < hw; k *= 2) t.push_back(k);
  t.push_back(hw);
  return t;
}

struct Grid {
  std::vector<std::size_t> bytes_per_array;  // sizes, as bytes of one fp32 array
  std::vector<int> p_percent;
  std::vector<int> threads;
};

// quick: one in-cache and one DRAM size, p = 30% for every op x impl, p = 10/50/90% for simdrop and
// copy, threads 1 and all; the scaling sweep adds every thread count at the DRAM size; the family at
// p = 30%.
// full: sizes 4 KiB .. 256 MiB (x4), p = 10/30/50/90%, every thread count.
std::vector<std::string> register_all(const std::string& profile, bool include_broken) {
  const Caches cache = caches();
  const std::size_t l2 = cache.l2 ? cache.l2 : (512u << 10), l3 = cache.l3 ? cache.l3 : (32u << 20);
  std::vector<std::size_t> all_sizes;
  for (std::size_t b = 4u << 10; b <= (256u << 20); b *= 4) all_sizes.push_back(b);
  // In cache: the largest size whose input and output both fit in L2. DRAM: the smallest whose input and
  // output together are at least 4 x L3, and at least 64 MiB.
  std::size_t in_cache = all_sizes.front(), dram = all_sizes.back();
  for (std::size_t b : all_sizes)
    if (2 * b <= l2) in_cache = b;
  for (auto it = all_sizes.rbegin(); it != all_sizes.rend(); ++it)
    if (2 * *it >= 4 * l3 && *it >= (64u << 20)) dram = *it;
  const auto threads = thread_counts();
  const std::vector<int> single = {1};
  const std::vector<int> ends = threads.size() > 1 ? std::vector<int>{1, threads.back()} : single;

  std::set<std::string> registered;
  auto add = [&](const Impl& impl, Op op, Dtype dt, std::size_t bytes, int p, int t) {
    if (!has_op(impl, op)) return;
    if (op == Op::mask && dt == Dtype::f64) return;  // mask has no dtype
    if (impl.name == "copy" && p != 30) return;       // the floor does not depend on p: one per size
    const std::size_t n = bytes / (dt == Dtype::f32 ? 4 : 8);
    Case c{op, impl.name, dt, n, p, t};
    const std::string name = c.name();
    if (!registered.insert(name).second) return;
    benchmark::internal::Benchmark* b =
        dt == Dtype::f32 ? benchmark::RegisterBenchmark(name.c_str(), run_case<float>, c, impl.f32)
                         : benchmark::RegisterBenchmark(name.c_str(), run_case<double>, c, impl.f64);
    b->UseRealTime()->Unit(benchmark::kMicrosecond);
  };
  const auto& ops = kCoreOps;
  const Dtype dtypes[] = {Dtype::f32, Dtype::f64};
  const auto impls = implementations(include_broken);
  for (const Impl& impl : impls) {
    const bool fast = impl.name == "simdrop" || impl.name == "copy";
    if (profile == "quick") {
      for (Op op : ops)
        for (Dtype dt : dtypes)
          for (std::size_t bytes : {in_cache, dram})
            for (int p : fast ? std::vector<int>{10, 30, 50, 90} : std::vector<int>{30})
              for (int t : impl.parallel ? ends : single) add(impl, op, dt, bytes, p, t);
    } else {
      for (Op op : ops)
        for (Dtype dt : dtypes)
          for (std::size_t bytes : all_sizes)
            for (int p : {10, 30, 50, 90})
              for (int t : impl.parallel ? threads : single) add(impl, op, dt, bytes, p, t);
    }
  }
  // The dropout family: simdrop against its composition, PyTorch and copy; fp64 for simdrop and copy only.
  // quick: p = 30%, the two sizes, threads 1 and all; full: every size, p and thread count.
  for (const Impl& impl : impls) {
    if (impl.name != "simdrop" && impl.name != "composed" && impl.name != "copy" && impl.name != "torch") continue;
    const bool own = impl.name == "simdrop" || impl.name == "copy";
    for (Op op : kFamilyOps)
      for (Dtype dt : dtypes) {
        if (dt == Dtype::f64 && !own) continue;
        if (profile == "quick") {
          for (std::size_t bytes : {in_cache, dram})
            for (int t : ends) add(impl, op, dt, bytes, 30, t);
        } else {
          for (std::size_t bytes : all_sizes)
            for (int p : {10, 30, 50, 90})
              for (int t : threads) add(impl, op, dt, bytes, p, t);
        }
      }
  }
  // The scaling sweep: forward of simdrop, copy and torch at the DRAM size over every thread count.
  for (const Impl& impl : impls)
    if (impl.name == "simdrop" || impl.name == "copy" || impl.name == "torch")
      for (int t : threads) add(impl, Op::forward, Dtype::f32, dram, 30, t);
  return {registered.begin(), registered.end()};
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

void add_context(const std::string& profile) {
  const Caches c = caches();
  benchmark::AddCustomContext("simdrop_version", std::string(version()));
  benchmark::AddCustomContext("simdrop_isa", std::string(isa_name(active_isa())));
  std::string isas;
  for (Isa isa : supported_isas()) isas += (isas.empty() ? "" : ",") + std::string(isa_name(isa));
  benchmark::AddCustomContext("simdrop_supported_isas", isas);
  benchmark::AddCustomContext("tbb_max_threads", std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("tbb_version", TBB_VERSION_STRING);
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
#if SIMDROP_BENCH_WITH_TORCH
  benchmark::AddCustomContext("torch_version", torch_version());
#else
  benchmark::AddCustomContext("torch_version", "not built");
#endif
  benchmark::AddCustomContext("benchmark_version", SIMDROP_BENCH_BENCHMARK_VERSION);
  benchmark::AddCustomContext("compiler", SIMDROP_BENCH_COMPILER);
  benchmark::AddCustomContext("cxx_flags", SIMDROP_BENCH_CXX_FLAGS);
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("l1d_bytes", std::to_string(c.l1d));
  benchmark::AddCustomContext("l2_bytes", std::to_string(c.l2));
  benchmark::AddCustomContext("l3_bytes", std::to_string(c.l3));
  benchmark::AddCustomContext("profile", profile);
  benchmark::AddCustomContext("grain_size", std::to_string(grain_size()));
}

}  // namespace
}  // namespace simdrop::bench

int main(int argc, char** argv) {
  using namespace simdrop::bench;
  std::string profile = "quick";
  bool include_broken = false;
  std::vector<char*> args = {argv[0]};
  std::vector<std::string> defaults;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--profile=", 0) == 0) {
      profile = a.substr(10);
      if (profile != "quick" && profile != "full") {
        std::cerr << "simdrop_bench: --profile: expected quick or full, got '" << profile << "'\n";
        return 2;
      }
    } else if (a == "--include_broken") {
      include_broken = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  // The profile's defaults come first, so that the user's own flags (later) override them.
  defaults = profile == "quick" ? std::vector<std::string>{"--benchmark_repetitions=3", "--benchmark_min_time=0.05",
                                                             "--benchmark_display_aggregates_only=true"}
                                : std::vector<std::string>{"--benchmark_repetitions=9", "--benchmark_min_time=0.1",
                                                             "--benchmark_display_aggregates_only=true"};
  for (auto it = defaults.rbegin(); it != defaults.rend(); ++it) args.insert(args.begin() + 1, it->data());
  int count = static_cast<int>(args.size());
  args.push_back(nullptr);

  const std::vector<std::string> names = register_all(profile, include_broken);
  std::string filter;
  for (int i = 1; i < count; ++i)
    if (std::strncmp(args[i], "--benchmark_filter=", 19) == 0) filter = args[i] + 19;
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;
  add_context(profile);
  ProgressReporter progress(count_selected(names, filter));
  benchmark::RunSpecifiedBenchmarks(&progress);
  benchmark::Shutdown();
  return 0;
}
