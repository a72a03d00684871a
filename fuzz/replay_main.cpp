// Replays fuzzer inputs without libFuzzer: each argument is a file or a directory (searched recursively,
// files in name order); every file's bytes go to LLVMFuzzerTestOneInput once. Exits 1 when no input ran
// (an empty or missing corpus is an error), 0 otherwise; a failing input aborts inside the fuzz target.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "float16_ties.hpp"

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

}  // namespace

int main(int argc, char** argv) {
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
