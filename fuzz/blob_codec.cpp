// Record decompression and the address-lines chunk encoding.
#include <string>

#include "format/blob_codec.h"
#include "format/codec.h"
#include "fuzz_targets.h"
#include "fuzz_util.h"

namespace procsnap::fuzz {

int BlobCodec(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t what = in.u8() % 3;
  const uint64_t claim = in.u32();
  std::string rest = in.rest();
  switch (what) {
    case 0: {
      auto plain = DecodeAddressLines(rest, claim, "fuzz");
      if (plain.ok()) FUZZ_CHECK(plain->size() == claim, "decodes to the declared size");
      break;
    }
    case 1: {
      std::string enc;
      if (EncodeAddressLines(rest, &enc)) {
        auto back = DecodeAddressLines(enc, rest.size(), "fuzz");
        FUZZ_CHECK(back.ok() && *back == rest, "address lines round trip");
      }
      break;
    }
    case 2: {
      auto raw = Decompress(rest, claim, "fuzz");
      if (raw.ok()) FUZZ_CHECK(raw->size() == claim, "decompresses to the declared size");
      break;
    }
  }
  return 0;
}

}  // namespace procsnap::fuzz
