// One libFuzzer binary per target: PROCSNAP_FUZZ_TARGET names its function.
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return procsnap::fuzz::PROCSNAP_FUZZ_TARGET(data, size);
}
