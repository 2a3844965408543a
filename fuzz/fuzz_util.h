// What the fuzz targets share: reading values out of the input, a check
// that aborts, a scratch folder, and reading back every snapshot.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "format/archive.h"

namespace procsnap::fuzz {

// A promise a target checks; a broken one is a finding, like a crash.
#define FUZZ_CHECK(cond, what)                                           \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::fprintf(stderr, "fuzz check failed: %s (%s)\n", what, #cond); \
      std::abort();                                                      \
    }                                                                    \
  } while (0)

// Values taken from the front of the input; zeros once it is used up.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  bool empty() const { return n_ == 0; }
  uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint32_t u32() { return u8() | u8() << 8 | u8() << 16 | uint32_t(u8()) << 24; }
  uint64_t u64() { return u32() | uint64_t(u32()) << 32; }
  // Up to `max` bytes, its length taken from the input.
  std::string bytes(size_t max);
  // Whatever the input has left.
  std::string rest() { return bytes_(n_); }
  // A name: usually one /proc really has, sometimes any bytes.
  std::string name();

 private:
  std::string bytes_(size_t len);
  const uint8_t* p_;
  size_t n_;
};

// A private folder for this process, removed at exit.
const std::string& ScratchDir();
// Writes bytes to a new file in ScratchDir and returns its path.
std::string WriteScratch(std::string_view name, std::string_view bytes);
// Removes a path and everything beneath it.
void RemoveTree(const std::string& path);

// Opens the archive and reads everything a read command could: every
// snapshot, every node's path and bytes, paths resolved through a View,
// Diff between neighbours, Export when `exportTree` (checking that no
// setuid, setgid or sticky bit and nothing outside the target appears).
void ReadEverything(const std::string& archive, bool exportTree);

}  // namespace procsnap::fuzz
