// The fuzz targets' seeds and every input that once broke one
// (fuzz/regressions/TARGET/) replayed in the ordinary build: a fix that
// comes undone fails here, without clang or libFuzzer.
#define BOOST_TEST_MODULE fuzz
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "fuzz_targets.h"
#include "test_util.h"

using namespace procsnap;

BOOST_AUTO_TEST_SUITE(fuzz)

BOOST_AUTO_TEST_CASE(every_seed_and_regression_runs_clean_through_its_target) {
  const std::filesystem::path root = FUZZ_DIR;
  for (const auto& target : procsnap::fuzz::Targets()) {
    size_t seeds = 0;
    for (const char* folder : {"corpus", "regressions"}) {
      std::filesystem::path dir = root / folder / target.name;
      if (!std::filesystem::is_directory(dir)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (!entry.is_regular_file() || entry.path().filename().string()[0] == '.') continue;
        std::string bytes = testutil::ReadFile(entry.path().string());
        BOOST_TEST_CONTEXT(entry.path().string()) {
          BOOST_TEST(target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) == 0);
        }
        seeds += std::string(folder) == "corpus";
      }
    }
    BOOST_TEST(seeds > 0u, target.name << " has no seed in fuzz/corpus");
  }
}

BOOST_AUTO_TEST_SUITE_END()
