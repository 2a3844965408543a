// The archive reader on raw file bytes.
#include "fuzz_targets.h"
#include "fuzz_util.h"

namespace procsnap::fuzz {

int ArchiveBytes(const uint8_t* data, size_t size) {
  std::string path = WriteScratch("bytes.psnap", std::string_view(reinterpret_cast<const char*>(data), size));
  ReadEverything(path, false);
  return 0;
}

}  // namespace procsnap::fuzz
