// Replays fuzzer inputs without libFuzzer: each argument is a file or a directory (searched recursively,
// files in name order); every file's bytes go to LLVMFuzzerTestOneInput once. Exits 1 when no input ran
// (an empty or missing corpus is an error), 0 otherwise; a failing input aborts inside the fuzz target.
//
// --list-ops and --list-dtypes (alone) print the lists the input format indexes, for fuzz/make_corpus.py:
//   --list-ops     one line per op byte (src/ops.hpp's kOps, in order): the op's corpus name, its variant, then
//                  the properties the seed corpus picks features by: mask-out (an optional mask it writes),
//                  mask-in (a stored mask it reads), split (checked as two calls), p-below-one (p = 1 invalid)
//   --list-dtypes  one line per dtype byte: the element type's short name (src/element.hpp's ElementTypes)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "float16_ties.hpp"
#include "op_rules.hpp"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.string().c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  // A copy of exactly the file's size, so that an out-of-bounds read is the sanitizers' to find.
  std::uint8_t* copy = new std::uint8_t[data.size() + 1];
  std::copy(data.begin(), data.end(), copy);
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.string().c_str(), data.size());
  LLVMFuzzerTestOneInput(copy, data.size());
  delete[] copy;
  return true;
}

void list_ops() {
  namespace fz = simdrop::fuzz;
  for (std::size_t i = 0; i < fz::kOps.size(); ++i) {
    const auto& op = fz::kOps[i];
    std::string line = std::string(op.corpus) + " " + std::string(simdrop::detail::variant_name(op.variant));
    if (op.mask == fz::MaskRole::out_optional) line += " mask-out";
    if (op.mask == fz::MaskRole::in_required) line += " mask-in";
    if (fz::splittable(i)) line += " split";
    if (simdrop::detail::p_below_one(op.variant)) line += " p-below-one";
    std::printf("%s\n", line.c_str());
  }
}

void list_dtypes() {
  simdrop::detail::for_each_element_type(
      [](auto t) { std::printf("%s\n", simdrop::detail::element_name<typename decltype(t)::type>()); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--list-ops") {
    list_ops();
    return 0;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--list-dtypes") {
    list_dtypes();
    return 0;
  }
  LLVMFuzzerInitialize(&argc, &argv);
  std::size_t ran = 0;
  bool error = false;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg, ec))
        if (entry.is_regular_file()) files.push_back(entry.path());
      if (ec) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", argv[i], ec.message().c_str());
        error = true;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) ran += run_file(f) ? 1 : 0;
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      if (run_file(arg))
        ++ran;
      else
        error = true;
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      error = true;
    }
  }
  std::printf("replay: %zu input%s ran\n", ran, ran == 1 ? "" : "s");
  if (const std::size_t ties = simdrop::test::float16_ties_accepted(); ties != 0)
    std::printf("replay: %zu float16 elements differed from the expected only at exact ties, which this CPU's "
                "vcvtps2ph rounds away from zero (an emulator's defect): accepted\n",
                ties);
  if (ran == 0) {
    std::fprintf(stderr, "replay: no inputs ran (empty corpus?)\n");
    return 1;
  }
  return error ? 1 : 0;
}
