// The /proc text parsers diff reads snapshots with.
#include <string>

#include "fuzz_targets.h"
#include "procfs/procfs.h"

namespace procsnap::fuzz {

int ProcfsText(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string problem;
  std::vector<std::string> problems;
  (void)ParseKeyValue(text, ':');
  (void)ParseKeyValue(text, ' ');
  (void)ParsePidStat(text, &problem);
  for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) (void)ParseNetTable(text, proto, &problems);
  (void)ParseLimits(text);
  (void)ParseMappedFiles(text);
  (void)ParseUnixListeners(text, &problems);
  (void)ParseNetDev(text);
  (void)ParseCpuTimes(text);
  (void)ParseDiskStats(text);
  (void)ParseLoadAvg(text);
  (void)ParseMountInfo(text, &problems);
  (void)ParseSnmp(text, &problems);
  (void)ParseProcStat(text);
  (void)ParseEnviron(text);
  (void)CountCpus(text);
  return 0;
}

}  // namespace procsnap::fuzz
