// simdrop_bench: every op x implementation x dtype x size x p x threads, named
// <op>/<impl>/<dtype>/n:<elements>/p:<percent>/threads:<T> (mask has no dtype part).
//
// At start it runs simdrop's path calibration once and records it, the resulting choices, the caches and
// the sizes in the JSON context (add_context).
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
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
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

// One Factory<T> per element type of ElementTypes (src/element.hpp): std::get<Factory<T>>.
template <class... T>
std::tuple<Factory<T>...> factory_tuple(detail::TypeList<T...>);
using Factories = decltype(factory_tuple(ElementTypes{}));

// The factories of a generic maker, callable as maker(op, workload) for a Workload<T> of every element type.
template <class Maker>
Factories factories(const Maker& maker) {
  Factories f;
  for_each_element_type([&]<class T>(std::type_identity<T>) { std::get<Factory<T>>(f) = Factory<T>(maker); });
  return f;
}

struct Impl {
  std::string name;
  Factories make;
  bool parallel;  // runs on oneTBB (or PyTorch's pool): swept over threads
  std::optional<Isa> path = {};  // simdrop_<isa>: the ISA path forced, registered only for the paths table
};

// simdrop: the core ops and the family's.
template <class T>
std::optional<Prepared> make_simdrop_all(Op op, Workload<T>& w) {
  for (Op family : kFamilyOps)
    if (op == family) return make_simdrop_family(op, w);
  return make_simdrop(op, w);
}

// A generic maker calling the function template f for the workload's element type.
#define SIMDROP_BENCH_MAKER(...) [](Op op, auto& w) { return __VA_ARGS__(op, w); }
#define SIMDROP_BENCH_GENERATOR(G) \
  []<class T>(Op op, Workload<T>& w) { return make_simdrop<T, Generator::G>(op, w); }

std::vector<Impl> implementations(bool include_broken) {
  std::vector<Impl> impls = {
      {"simdrop", factories(SIMDROP_BENCH_MAKER(make_simdrop_all)), true},
      {"simdrop_philox7", factories(SIMDROP_BENCH_GENERATOR(philox4x32_7)), true},
      {"simdrop_ars5", factories(SIMDROP_BENCH_GENERATOR(ars5)), true},
      {"simdrop_unfused", factories(SIMDROP_BENCH_MAKER(make_simdrop_unfused)), true},
      {"naive", factories(SIMDROP_BENCH_MAKER(make_naive)), false},
      {"eigen", factories(SIMDROP_BENCH_MAKER(make_eigen)), false},
      {"copy", factories(SIMDROP_BENCH_MAKER(make_copy)), true},
      {"composed", factories(SIMDROP_BENCH_MAKER(make_composed)), true},
  };
#if SIMDROP_BENCH_WITH_TORCH
  impls.push_back({"torch", factories(SIMDROP_BENCH_MAKER(make_torch)), true});
#endif
  for (Isa isa : supported_isas())
    if (isa != Isa::scalar)
      impls.push_back({"simdrop_" + std::string(isa_name(isa)), factories(SIMDROP_BENCH_GENERATOR(philox4x32_10)),
                       true, isa});
  if (include_broken) impls.push_back({"broken_keep_all", factories(SIMDROP_BENCH_MAKER(make_broken_keep_all)), false});
  return impls;
}

// Whether impl has op (probed on an empty fp32 workload; factories do no work for n = 0, and an op is there for
// every dtype or none).
bool has_op(const Impl& impl, Op op) {
  Workload<float> w(0, 0.5, 1);
  return std::get<Factory<float>>(impl.make)(op, w).has_value();
}

// A case prepared and validated: its buffers, the implementation's run and the validation's result (error
// empty when the output was right).
template <class T>
struct Ready {
  explicit Ready(const Case& c) : w(c.n, c.p_percent / 100.0, c.threads) {}
  Workload<T> w;
  std::optional<Prepared> prepared;
  Check check;
  std::string error;
};

// The case Google Benchmark runs now. It calls run_case again for each trial iteration count and each
// repetition of a case: the buffers, the preparation (copy's choice of way, for one) and the validation are
// done on the first call and kept for the case's later calls; the previous case's buffers are freed first.
// The input is made and the output checked on every thread; the preparation and the run before the check on the
// case's threads.
template <class T>
Ready<T>& ready(const Case& c, const Factory<T>& factory) {
  static std::string last_name;
  static std::shared_ptr<void> last;  // a Ready<T>; the name says which T
  const std::string name = c.name();
  if (last && last_name == name) return *std::static_pointer_cast<Ready<T>>(last);
  last.reset();
  auto r = std::make_shared<Ready<T>>(c);
  {
    tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(c.threads));
    r->prepared = factory(c.op, r->w);
    if (!r->prepared) {
      r->error = "no such op for this implementation";
    } else if (!r->prepared->skipped.empty()) {
      r->error = "skipped: " + r->prepared->skipped;  // the implementation refuses the case (and says why)
    } else {
      // A forced path (simdrop_<isa>) holds for this run as for the timing; the label says which ran.
      const ScopedIsa forced(c.path);
      if (c.path) r->prepared->label += "; path " + std::string(isa_name(forced_isa().value_or(Isa::scalar)));
      if (!r->prepared->ran) r->prepared->run();
    }
  }
  // Validate the run's output before timing (on every thread): a broken kernel never posts a number.
  if (r->prepared && r->prepared->skipped.empty()) {
    r->check = r->prepared->check();
    if (!r->check.error.empty()) r->error = "validation failed: " + r->check.error;
  }
  last_name = name;
  last = r;
  return *r;
}

template <class T>
void run_case(benchmark::State& state, const Case c, const Factory<T> factory) {
  Ready<T>& r = ready(c, factory);
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(c.threads));
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  const Prepared& prepared = *r.prepared;
  const Check& check = r.check;
  const ScopedIsa forced(c.path);
  for (auto _ : state) {
    prepared.run();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * prepared.bytes_per_iteration));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * c.n));
  state.counters["mask_bytes_per_element"] = prepared.mask_bytes_per_element;
  if (check.has_stats) {
    state.counters["keep_fraction"] = check.keep_fraction;
    state.counters["keep_z"] = check.keep_z;
    if (c.op != Op::mask) {
      state.counters["mean_z"] = check.mean_z;
      state.counters["var_ratio"] = check.var_ratio;
      state.counters["var_z"] = check.var_z;
    }
  }
  state.SetLabel(prepared.label);
}

std::vector<int> thread_counts() {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> t;
  for (int k = 1; k < hw; k *= 2) t.push_back(k);
  t.push_back(hw);
  return t;
}

// The sizes of the grid, as bytes of one fp32 array, from the caches simdrop detects (cache_sizes(); where
// a size is unknown: L1d 32 KiB, L2 512 KiB, L3 32 MiB).
struct Sizes {
  std::size_t in_cache = 0;        // the largest 4 KiB x 4^k whose input and output both fit in L2
  std::size_t dram = 0;            // the smallest power of two of at least 4 x L3, at most 256 MiB
  std::vector<std::size_t> curve;  // dram / 4^k down to where both arrays fit in L1d (6 sizes at least, >= 4 KiB)
  std::vector<std::size_t> grid;   // the full profile's: 4 KiB .. 256 MiB by 4, and dram
};
constexpr std::size_t kLargestArray = std::size_t{256} << 20;

Sizes grid_sizes() {
  const CacheSizes& c = cache_sizes();
  const std::size_t l1d = c.l1d ? c.l1d : (32u << 10), l2 = c.l2 ? c.l2 : (512u << 10), l3 = c.l3 ? c.l3 : (32u << 20);
  Sizes s;
  for (std::size_t b = 4u << 10; b <= kLargestArray; b *= 4) {
    s.grid.push_back(b);
    if (2 * b <= l2 || s.in_cache == 0) s.in_cache = b;
  }
  s.dram = 1u << 20;
  while (s.dram < 4 * l3 && s.dram < kLargestArray) s.dram *= 2;
  if (std::find(s.grid.begin(), s.grid.end(), s.dram) == s.grid.end()) s.grid.push_back(s.dram);
  for (std::size_t b = s.dram; b >= (4u << 10); b /= 4) {
    s.curve.push_back(b);
    if (2 * b <= l1d && s.curve.size() >= 6) break;
  }
  return s;
}

// Sizes are bytes of one array: a dtype of b bytes has size / b elements (a 16-bit case twice fp32's elements).
// quick: one in-cache and one DRAM size, p = 30% for every op x impl at threads 1 and all, fp32 and fp64,
// p = 10/50/90% for simdrop at 1 thread (the report's table by p); the family at p = 30%, threads 1 and all. The
// 16-bit dtypes (bf16, f16) for simdrop, copy and PyTorch only, p = 30%, with mask/simdrop at their element
// counts (the floor of the report's roofline).
// full: sizes 4 KiB .. 256 MiB (x4) and the DRAM size, p = 10/30/50/90%, every thread count and dtype.
// Both: the ISA paths (simdrop_<isa>: mask, forward and backward_mask at both sizes, threads 1 and all, each
// right after the default's case), the scaling sweep (forward at the DRAM size over every thread count) and
// the bandwidth curve (forward of simdrop, copy and Eigen at the curve's sizes, 1 thread), each fp32, p = 30%.
std::vector<std::string> register_all(const std::string& profile, bool include_broken) {
  const Sizes size = grid_sizes();
  const std::size_t in_cache = size.in_cache, dram = size.dram;
  const auto threads = thread_counts();
  const std::vector<int> single = {1};
  const std::vector<int> ends = threads.size() > 1 ? std::vector<int>{1, threads.back()} : single;

  std::set<std::string> registered;
  auto add = [&](const Impl& impl, Op op, Dtype dt, std::size_t bytes, int p, int t) {
    if (!has_op(impl, op)) return;
    if (impl.name == "copy" && p != 30) return;       // the floor does not depend on p: one per size
    // The quick profile's 16-bit floor: one copy per size and threads for every op that writes y from x alone (the
    // same bytes: the report reads forward's for them), and bias_dropout_add's sum.
    if (impl.name == "copy" && profile == "quick" && dtype_bytes(dt) == 2 && op != Op::forward &&
        op != Op::bias_dropout_add)
      return;
    const std::size_t n = bytes / dtype_bytes(dt);
    // mask has no dtype: it runs with an fp32 workload, at fp32's element count, and for simdrop also at the 16-bit
    // types' (the mask of the same elements as their cases: the floor of their roofline); fp64 has no mask of its
    // own (its n is fp32's / 2).
    if (op == Op::mask) {
      if (dt == dtype_of<double> || (dtype_bytes(dt) == 2 && impl.name != "simdrop")) return;
      dt = dtype_of<float>;
    }
    Case c{op, impl.name, dt, n, p, t, impl.path};
    const std::string name = c.name();
    if (!registered.insert(name).second) return;
    benchmark::internal::Benchmark* b = nullptr;
    with_dtype(dt, [&]<class T>(std::type_identity<T>) {
      b = benchmark::RegisterBenchmark(name.c_str(), run_case<T>, c, std::get<Factory<T>>(impl.make));
    });
    b->UseRealTime()->Unit(benchmark::kMicrosecond);
  };
  const auto& ops = kCoreOps;
  const auto impls = implementations(include_broken);
  // Whether the profile runs impl at dt: the quick one runs the 16-bit types for simdrop, copy and PyTorch only.
  auto runs_dtype = [&](const Impl& impl, Dtype dt) {
    return profile != "quick" || dtype_bytes(dt) != 2 || impl.name == "simdrop" || impl.name == "copy" ||
           impl.name == "torch";
  };
  // The ISA paths side by side: simdrop_<isa> for mask, forward and backward_mask at both sizes, fp32, p = 30%,
  // threads 1 and all, each registered (so run) right after the default's same case: seconds apart, so that the
  // machine's drift does not come between them.
  auto add_with_paths = [&](const Impl& impl, Op op, Dtype dt, std::size_t bytes, int p, int t) {
    add(impl, op, dt, bytes, p, t);
    const bool path_op = op == Op::mask || op == Op::forward || op == Op::backward_mask;
    if (impl.name == "simdrop" && path_op && dt == dtype_of<float> && p == 30 && (bytes == in_cache || bytes == dram) &&
        std::find(ends.begin(), ends.end(), t) != ends.end())
      for (const Impl& path : impls)
        if (path.path) add(path, op, dt, bytes, p, t);
  };
  for (const Impl& impl : impls) {
    if (impl.path) continue;
    if (profile == "quick") {
      for (Op op : ops)
        for (Dtype dt : kDtypes)
          for (std::size_t bytes : {in_cache, dram}) {
            if (!runs_dtype(impl, dt)) continue;
            for (int t : impl.parallel ? ends : single) add_with_paths(impl, op, dt, bytes, 30, t);
            if (impl.name == "simdrop" && dtype_bytes(dt) != 2)
              for (int p : {10, 50, 90}) add(impl, op, dt, bytes, p, 1);
          }
    } else {
      for (Op op : ops)
        for (Dtype dt : kDtypes)
          for (std::size_t bytes : size.grid)
            for (int p : {10, 30, 50, 90})
              for (int t : impl.parallel ? threads : single) add_with_paths(impl, op, dt, bytes, p, t);
    }
  }
  // The dropout family: simdrop against its composition, PyTorch and copy; fp64 for simdrop and copy only, the
  // 16-bit types as runs_dtype says. quick: p = 30%, the two sizes, threads 1 and all; full: every size, p and
  // thread count.
  for (const Impl& impl : impls) {
    if (impl.name != "simdrop" && impl.name != "composed" && impl.name != "copy" && impl.name != "torch") continue;
    const bool own = impl.name == "simdrop" || impl.name == "copy";
    for (Op op : kFamilyOps)
      for (Dtype dt : kDtypes) {
        if ((dt == dtype_of<double> && !own) || !runs_dtype(impl, dt)) continue;
        if (profile == "quick") {
          // PyTorch's 16-bit family at the DRAM size takes minutes (its bf16 Gaussian dropout runs at ~0.01 G el/s):
          // the quick profile runs it in cache only.
          const bool slow = impl.name == "torch" && dtype_bytes(dt) == 2;
          for (std::size_t bytes : {in_cache, dram})
            for (int t : ends)
              if (!(slow && bytes == dram)) add(impl, op, dt, bytes, 30, t);
        } else {
          for (std::size_t bytes : size.grid)
            for (int p : {10, 30, 50, 90})
              for (int t : threads) add(impl, op, dt, bytes, p, t);
        }
      }
  }
  for (const Impl& impl : impls) {
    // The scaling sweep: forward of simdrop, copy and torch at the DRAM size over every thread count.
    if (impl.name == "simdrop" || impl.name == "copy" || impl.name == "torch")
      for (int t : threads) add(impl, Op::forward, dtype_of<float>, dram, 30, t);
    // The bandwidth curve: forward of simdrop, copy and Eigen from L1 to beyond L3, 1 thread.
    if (impl.name == "simdrop" || impl.name == "copy" || impl.name == "eigen")
      for (std::size_t bytes : size.curve) add(impl, Op::forward, dtype_of<float>, bytes, 30, 1);
  }
  return {registered.begin(), registered.end()};
}

// The name of an ARM core from /proc/cpuinfo's "CPU implementer" and "CPU part" (hexadecimal, as the kernel
// prints them); the ids themselves where the part is not in this short list.
std::string arm_core_name(const std::string& implementer, const std::string& part) {
  static const std::map<std::pair<unsigned, unsigned>, const char*> known = {
      {{0x41, 0xd03}, "Arm Cortex-A53"},  {{0x41, 0xd04}, "Arm Cortex-A35"},   {{0x41, 0xd05}, "Arm Cortex-A55"},
      {{0x41, 0xd07}, "Arm Cortex-A57"},  {{0x41, 0xd08}, "Arm Cortex-A72"},   {{0x41, 0xd09}, "Arm Cortex-A73"},
      {{0x41, 0xd0a}, "Arm Cortex-A75"},  {{0x41, 0xd0b}, "Arm Cortex-A76"},   {{0x41, 0xd0c}, "Arm Neoverse-N1"},
      {{0x41, 0xd0d}, "Arm Cortex-A77"},  {{0x41, 0xd40}, "Arm Neoverse-V1"},  {{0x41, 0xd41}, "Arm Cortex-A78"},
      {{0x41, 0xd44}, "Arm Cortex-X1"},   {{0x41, 0xd46}, "Arm Cortex-A510"},  {{0x41, 0xd47}, "Arm Cortex-A710"},
      {{0x41, 0xd48}, "Arm Cortex-X2"},   {{0x41, 0xd49}, "Arm Neoverse-N2"},  {{0x41, 0xd4f}, "Arm Neoverse-V2"},
      {{0x46, 0x001}, "Fujitsu A64FX"},   {{0x48, 0xd01}, "HiSilicon TaiShan v110 (Kunpeng 920)"}};
  static const std::map<unsigned, const char*> vendors = {{0x41, "Arm"},      {0x42, "Broadcom"}, {0x43, "Cavium"},
                                                          {0x46, "Fujitsu"},  {0x48, "HiSilicon"}, {0x4e, "NVIDIA"},
                                                          {0x51, "Qualcomm"}, {0x61, "Apple"},     {0xc0, "Ampere"}};
  unsigned imp = 0, prt = 0;
  try {
    imp = static_cast<unsigned>(std::stoul(implementer, nullptr, 0));
    prt = static_cast<unsigned>(std::stoul(part, nullptr, 0));
  } catch (const std::exception&) {
    return "CPU implementer " + implementer + " part " + part;
  }
  if (auto it = known.find({imp, prt}); it != known.end()) return it->second;
  const auto v = vendors.find(imp);
  return (v != vendors.end() ? std::string(v->second) : "CPU implementer " + implementer) + " part " + part;
}

// x86: "model name". ARM's /proc/cpuinfo has none: its cores are named from "CPU implementer" and "CPU part",
// every distinct core once (big.LITTLE parts list several, e.g. "Arm Cortex-A76 + Arm Cortex-A55").
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string model, implementer, names;
  auto value = [](const std::string& line) {
    const auto colon = line.find(':');
    return colon == std::string::npos ? std::string() : line.substr(line.find_first_not_of(" \t", colon + 1));
  };
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = value(line);
    if (line.rfind("CPU implementer", 0) == 0) implementer = value(line);
    if (line.rfind("CPU part", 0) == 0 && !implementer.empty()) {
      const std::string name = arm_core_name(implementer, value(line));
      if (seen.insert(name).second) names += (names.empty() ? "" : " + ") + name;
    }
  }
  if (!names.empty()) return names;
#if defined(__aarch64__)
  // An aarch64 build reading an x86 "model name": the host's /proc/cpuinfo, under an emulator (qemu-user).
  if (!model.empty()) return model + " (host of an emulated aarch64 run)";
#endif
  return model.empty() ? "unknown" : model;
}

// simdrop's path calibration, run once at start: every measurement and how long it took.
struct Calibration {
  std::vector<CalibrationEntry> entries;
  double seconds = 0;
};
Calibration run_calibration() {
  const auto t0 = std::chrono::steady_clock::now();
  Calibration c;
  c.entries = calibrate();
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

// "work/class/isa=G el/s;..." (3 significant digits), in calibrate()'s order.
std::string calibration_text(const std::vector<CalibrationEntry>& entries) {
  std::ostringstream s;
  s.precision(3);
  for (const CalibrationEntry& e : entries)
    s << (s.tellp() > 0 ? ";" : "") << work_name(e.work) << '/' << size_class_name(e.size_class) << '/'
      << isa_name(e.isa) << '=' << e.g_elements_per_second;
  return s.str();
}

void add_context(const std::string& profile, const Calibration& calibration) {
  const CacheSizes& c = cache_sizes();
  const Sizes size = grid_sizes();
  benchmark::AddCustomContext("simdrop_version", std::string(version()));
  benchmark::AddCustomContext("simdrop_isa", std::string(isa_name(active_isa())));
  std::string isas;
  for (Isa isa : supported_isas()) isas += (isas.empty() ? "" : ",") + std::string(isa_name(isa));
  benchmark::AddCustomContext("simdrop_supported_isas", isas);
  benchmark::AddCustomContext("simdrop_calibration", calibration_text(calibration.entries));
  benchmark::AddCustomContext("simdrop_calibration_seconds", std::to_string(calibration.seconds));
  // The path each kind of work runs on in each size class (the plain `simdrop` rows' paths).
  for (Work work : {Work::mask, Work::fused, Work::apply, Work::gaussian})
    for (SizeClass size_class : {SizeClass::cache, SizeClass::memory})
      benchmark::AddCustomContext(
          "simdrop_choice_" + std::string(work_name(work)) + "_" + std::string(size_class_name(size_class)),
          std::string(isa_name(chosen_isa(work, size_class))));
  benchmark::AddCustomContext("stream_threshold_bytes", std::to_string(stream_threshold()));
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
  benchmark::AddCustomContext("cache_source", std::string(c.source));
  // Bytes of one array in the in-cache and DRAM cases (fp64 cases have fp32's elements / 2, bf16 and f16 x 2).
  benchmark::AddCustomContext("size_in_cache_bytes", std::to_string(size.in_cache));
  benchmark::AddCustomContext("size_dram_bytes", std::to_string(size.dram));
  // The timed ops and the element types, from src/'s lists: the report takes its names from these.
  benchmark::AddCustomContext("simdrop_ops", ops_context());
  benchmark::AddCustomContext("simdrop_dtypes", dtypes_context());
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
  const Calibration calibration = run_calibration();
  // The profile's defaults come first, so that the user's own flags (later) override them. 5 repetitions at
  // least: a two-sided Mann-Whitney test of two benchmarks needs 5 a side to be able to reach p < 0.05.
  defaults = profile == "quick" ? std::vector<std::string>{"--benchmark_repetitions=5", "--benchmark_min_time=0.05",
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
  add_context(profile, calibration);
  ProgressReporter progress(count_selected(names, filter));
  benchmark::RunSpecifiedBenchmarks(&progress);
  benchmark::Shutdown();
  return 0;
}
