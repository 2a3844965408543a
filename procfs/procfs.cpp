#include "procfs/procfs.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace procsnap {

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> KiBValue(const std::map<std::string, std::string>& kv, std::string_view key) {
  auto it = kv.find(std::string(key));
  if (it == kv.end()) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  if (ec != std::errc() || end == it->second.data()) return std::nullopt;
  return n * 1024;
}

namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <class T>
bool Number(std::string_view s, T& out, int base = 10) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "0100007F:1F90" (IPv4) or 32 hex digits (IPv6) as the kernel prints them:
// 32-bit words in host (little-endian) order.
bool DecodeAddress(std::string_view hex, bool v6, std::string& out) {
  size_t colon = hex.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view addr = hex.substr(0, colon), port = hex.substr(colon + 1);
  unsigned p = 0;
  if (!Number(port, p, 16) || addr.size() != (v6 ? 32u : 8u)) return false;
  unsigned char bytes[16];
  for (size_t w = 0; w < addr.size() / 8; ++w) {
    uint32_t word = 0;
    if (!Number(addr.substr(w * 8, 8), word, 16)) return false;
    std::memcpy(bytes + w * 4, &word, 4);  // the kernel printed the word in host order
  }
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, text, sizeof text)) return false;
  out.clear();  // appended piecewise: gcc 12 warns (-Wrestrict) on "[" + string
  if (v6) out += '[';
  out += text;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(p);
  return true;
}

// Calls f(line), or f(line, number), for each line after the first `skip`.
template <class F>
void Lines(std::string_view text, unsigned skip, F f) {
  size_t start = 0;
  for (unsigned n = 0; start < text.size(); ++n) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (n >= skip) {
      if constexpr (std::is_invocable_v<F, std::string_view, unsigned>)
        f(text.substr(start, end - start), n + 1);  // with its 1-based line number
      else
        f(text.substr(start, end - start));
    }
    start = end + 1;
  }
}

// "line N <what>", for the problems a parser reports.
void Problem(std::vector<std::string>* problems, unsigned lineNo, const std::string& what) {
  if (problems) problems->push_back("line " + std::to_string(lineNo) + what);
}

// Fields [from, to) joined by single spaces.
std::string Join(const std::vector<std::string_view>& f, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < f.size() && i < to; ++i) {
    if (i > from) out += ' ';
    out += f[i];
  }
  return out;
}

// mountinfo escapes blanks in paths as \040.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseKeyValue(std::string_view text, char sep) {
  std::map<std::string, std::string> out;
  Lines(text, 0, [&](std::string_view line) {
    size_t at = sep == ' ' ? line.find_first_of(" \t") : line.find(sep);
    if (at == std::string_view::npos || at == 0) return;  // not a key-value line: ignored
    out.emplace(std::string(Trim(line.substr(0, at))), std::string(Trim(line.substr(at + 1))));
  });
  return out;
}

std::optional<PidStat> ParsePidStat(std::string_view text, std::string* problem) {
  size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    if (problem) *problem = "no (command) in stat";
    return std::nullopt;
  }
  PidStat s;
  if (!Number(Trim(text.substr(0, open)), s.pid)) {
    if (problem) *problem = "no pid at the start of stat";
    return std::nullopt;
  }
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  auto f = Fields(text.substr(close + 1));
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.size() < 22) {
    if (problem) *problem = "stat has " + std::to_string(f.size() + 2) + " fields, expected at least 24";
    return std::nullopt;
  }
  s.state = f[0].empty() ? '?' : f[0][0];
  bool ok = Number(f[1], s.ppid) && Number(f[11], s.utime) && Number(f[12], s.stime) && Number(f[16], s.nice) &&
            Number(f[17], s.threads) && Number(f[19], s.starttime) && Number(f[20], s.vsize) &&
            Number(f[21], s.rssPages);
  if (!ok) {
    if (problem) *problem = "stat has a field that is not a number";
    return std::nullopt;
  }
  if (!Number(f[6], s.flags)) s.flags = 0;
  if (!Number(f[7], s.minflt)) s.minflt = 0;
  if (!Number(f[9], s.majflt)) s.majflt = 0;
  if (f.size() > 36 && !Number(f[36], s.processor)) s.processor = -1;
  return s;
}

bool NetSocket::listening() const {
  if (proto.rfind("tcp", 0) == 0) return state == 10;
  return remote.find(":0") == remote.size() - 2 && (remote.rfind("0.0.0.0", 0) == 0 || remote.rfind("[::]", 0) == 0);
}

std::vector<NetSocket> ParseNetTable(std::string_view text, std::string_view proto, std::vector<std::string>* problems) {
  std::vector<NetSocket> out;
  bool v6 = proto.back() == '6';
  Lines(text, 1, [&](std::string_view line, unsigned lineNo) {  // under the header
    auto f = Fields(line);
    if (f.empty()) return;
    NetSocket s;
    s.proto = std::string(proto);
    if (f.size() < 10 || !DecodeAddress(f[1], v6, s.local) || !DecodeAddress(f[2], v6, s.remote) ||
        !Number(f[3], s.state, 16) || !Number(f[7], s.uid) || !Number(f[9], s.inode)) {
      Problem(problems, lineNo, " is not a socket");
      return;
    }
    out.push_back(std::move(s));
  });
  return out;
}

std::map<std::string, std::string> ParseLimits(std::string_view text) {
  std::map<std::string, std::string> out;
  Lines(text, 1, [&](std::string_view line) {  // under the header
    size_t gap = line.find("  ");
    if (gap == std::string_view::npos) return;
    std::string values = Join(Fields(line.substr(gap)), 0, SIZE_MAX);
    if (!values.empty()) out.emplace(std::string(Trim(line.substr(0, gap))), values);
  });
  return out;
}

std::vector<std::string> ParseMappedFiles(std::string_view text) {
  std::vector<std::string> out;
  Lines(text, 0, [&](std::string_view line) {
    size_t slash = line.find(" /");
    if (slash == std::string_view::npos || Fields(line.substr(0, slash)).size() != 5) return;
    std::string path(Trim(line.substr(slash)));
    if (out.empty() || out.back() != path) out.push_back(path);
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<UnixListener> ParseUnixListeners(std::string_view text, std::vector<std::string>* problems) {
  std::vector<UnixListener> out;
  Lines(text, 1, [&](std::string_view line, unsigned lineNo) {
    auto f = Fields(line);
    if (f.empty()) return;
    uint32_t flags = 0;
    UnixListener u;
    if (f.size() < 7 || !Number(f[3], flags, 16) || !Number(f[6], u.inode)) {
      Problem(problems, lineNo, " is not a unix socket");
      return;
    }
    if (!(flags & 0x10000) || f.size() < 8) return;  // not listening, or unnamed
    u.path = std::string(f[7]);
    out.push_back(std::move(u));
  });
  return out;
}

std::vector<NetDevCounters> ParseNetDev(std::string_view text) {
  std::vector<NetDevCounters> out;
  Lines(text, 2, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || Trim(line.substr(0, colon)).empty()) return;
    NetDevCounters c;
    c.name = std::string(Trim(line.substr(0, colon)));
    auto f = Fields(line.substr(colon + 1));  // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes...
    if (f.size() >= 12) {
      Number(f[0], c.rxBytes);
      Number(f[1], c.rxPackets);
      Number(f[2], c.rxErrors);
      Number(f[3], c.rxDropped);
      Number(f[8], c.txBytes);
      Number(f[9], c.txPackets);
      Number(f[10], c.txErrors);
      Number(f[11], c.txDropped);
    }
    out.push_back(std::move(c));
  });
  return out;
}

std::optional<CpuTimes> ParseCpuTimes(std::string_view procStat) {
  std::optional<CpuTimes> out;
  Lines(procStat, 0, [&](std::string_view line) {
    auto f = Fields(line);
    if (out || f.size() < 5 || f[0] != "cpu") return;
    CpuTimes t;
    uint64_t* fields[] = {&t.user, &t.nice, &t.system, &t.idle, &t.iowait, &t.irq, &t.softirq, &t.steal};
    for (size_t i = 0; i < 8 && i + 1 < f.size(); ++i)
      if (!Number(f[i + 1], *fields[i])) return;
    out = t;
  });
  return out;
}

std::map<unsigned, CpuTimes> ParsePerCpuTimes(std::string_view procStat) {
  std::map<unsigned, CpuTimes> out;
  Lines(procStat, 0, [&](std::string_view line) {
    auto f = Fields(line);
    unsigned n = 0;
    if (f.size() < 5 || f[0].size() < 4 || f[0].substr(0, 3) != "cpu" || !Number(f[0].substr(3), n)) return;
    CpuTimes t;
    uint64_t* fields[] = {&t.user, &t.nice, &t.system, &t.idle, &t.iowait, &t.irq, &t.softirq, &t.steal};
    for (size_t i = 0; i < 8 && i + 1 < f.size(); ++i)
      if (!Number(f[i + 1], *fields[i])) return;
    out[n] = t;
  });
  return out;
}

std::optional<Pressure> ParsePressure(std::string_view text) {
  Pressure p;
  bool some = false;
  Lines(text, 0, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.empty() || (f[0] != "some" && f[0] != "full")) return;
    const bool full = f[0] == "full";
    double avg10 = 0;
    uint64_t total = 0;
    bool haveAvg = false, haveTotal = false;
    for (size_t i = 1; i < f.size(); ++i) {
      if (f[i].substr(0, 6) == "avg10=") {
        std::string v(f[i].substr(6));
        char* end = nullptr;
        avg10 = std::strtod(v.c_str(), &end);
        haveAvg = end && *end == '\0' && end != v.c_str();
      } else if (f[i].substr(0, 6) == "total=") {
        haveTotal = Number(f[i].substr(6), total);
      }
    }
    if (!haveAvg || !haveTotal) return;
    (full ? p.fullAvg10 : p.someAvg10) = avg10;
    (full ? p.fullTotalUs : p.someTotalUs) = total;
    if (full) p.hasFull = true;
    else some = true;
  });
  if (!some) return std::nullopt;
  return p;
}

std::vector<DiskCounters> ParseDiskStats(std::string_view text) {
  std::vector<DiskCounters> all;
  Lines(text, 0, [&](std::string_view line) {
    auto f = Fields(line);  // major minor name reads merged sectors ms writes merged sectors ...
    if (f.size() < 10) return;
    DiskCounters d;
    d.name = std::string(f[2]);
    uint64_t rs = 0, ws = 0;
    if (!Number(f[5], rs) || !Number(f[9], ws)) return;
    d.readBytes = rs * 512;  // diskstats counts 512-byte sectors whatever the device's
    d.writtenBytes = ws * 512;
    all.push_back(std::move(d));
  });
  auto isPartitionOf = [](const std::string& part, const std::string& disk) {
    if (part.size() <= disk.size() || part.compare(0, disk.size(), disk) != 0) return false;
    size_t i = disk.size();
    if (part[i] == 'p' && std::isdigit(static_cast<unsigned char>(disk.back()))) ++i;
    if (i == part.size()) return false;
    for (; i < part.size(); ++i)
      if (!std::isdigit(static_cast<unsigned char>(part[i]))) return false;
    return true;
  };
  std::vector<DiskCounters> out;
  for (const auto& d : all) {
    bool virt = false;
    for (const char* prefix : {"loop", "ram", "zram", "dm-", "md"}) virt = virt || d.name.rfind(prefix, 0) == 0;
    if (virt) continue;
    bool partition = false;
    for (const auto& other : all)
      if (&other != &d && isPartitionOf(d.name, other.name)) partition = true;
    if (!partition) out.push_back(d);
  }
  return out;
}

std::optional<LoadAvg> ParseLoadAvg(std::string_view text) {
  auto f = Fields(text);
  if (f.size() < 4) return std::nullopt;
  LoadAvg l;
  auto real = [](std::string_view s, double& v) {
    std::string copy(s);
    char* end = nullptr;
    v = std::strtod(copy.c_str(), &end);
    return end && *end == '\0' && !copy.empty();
  };
  size_t slash = f[3].find('/');
  if (!real(f[0], l.load1) || !real(f[1], l.load5) || !real(f[2], l.load15) || slash == std::string_view::npos ||
      !Number(f[3].substr(0, slash), l.running) || !Number(f[3].substr(slash + 1), l.tasks))
    return std::nullopt;
  return l;
}

std::vector<MountInfo> ParseMountInfo(std::string_view text, std::vector<std::string>* problems) {
  std::vector<MountInfo> out;
  Lines(text, 0, [&](std::string_view line, unsigned lineNo) {
    auto f = Fields(line);
    if (f.empty()) return;
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 9 || dash + 2 >= f.size()) {
      Problem(problems, lineNo, " is not a mount");
      return;
    }
    MountInfo m;
    Number(f[0], m.mountId);
    Number(f[1], m.parentId);
    m.source = Unescape(f[dash + 2]);
    m.target = Unescape(f[4]);
    m.options = std::string(f[5]);
    m.propagation = Join(f, 6, dash);
    m.fstype = std::string(f[dash + 1]);
    if (dash + 3 < f.size()) m.superOptions = std::string(f[dash + 3]);
    out.push_back(std::move(m));
  });
  return out;
}

std::optional<uint64_t> LinkInode(std::string_view target, std::string_view kind) {
  if (target.size() < kind.size() + 3 || target.substr(0, kind.size()) != kind ||
      target.substr(kind.size(), 2) != ":[" || target.back() != ']')
    return std::nullopt;
  uint64_t inode = 0;
  if (!Number(target.substr(kind.size() + 2, target.size() - kind.size() - 3), inode)) return std::nullopt;
  return inode;
}

std::vector<ModuleInfo> ParseModules(std::string_view text, std::vector<std::string>* problems) {
  std::vector<ModuleInfo> out;
  Lines(text, 0, [&](std::string_view line, unsigned lineNo) {
    auto f = Fields(line);
    if (f.empty()) return;
    ModuleInfo m;
    if (f.size() < 5 || !Number(f[1], m.size) || !Number(f[2], m.instances)) {
      Problem(problems, lineNo, " is not a module");
      return;
    }
    m.name = std::string(f[0]);
    m.dependencies = std::string(f[3]);
    m.state = std::string(f[4]);
    out.push_back(std::move(m));
  });
  return out;
}

std::map<std::string, int64_t> ParseSnmp(std::string_view text, std::vector<std::string>* problems) {
  std::map<std::string, int64_t> out;
  std::vector<std::string_view> header;
  std::string_view headerProto;
  Lines(text, 0, [&](std::string_view line, unsigned lineNo) {
    auto f = Fields(line);
    if (f.size() < 2 || f[0].back() != ':') return;
    bool numbers = true;
    int64_t v;
    for (size_t i = 1; i < f.size() && numbers; ++i) numbers = Number(f[i], v);
    if (!numbers) {
      header = f;
      headerProto = f[0];
      return;
    }
    if (f[0] != headerProto || f.size() != header.size()) {
      Problem(problems, lineNo, ": values without a matching header");
      return;
    }
    std::string proto(f[0].substr(0, f[0].size() - 1));
    for (size_t i = 1; i < f.size(); ++i) {
      Number(f[i], v);
      out[proto + "." + std::string(header[i])] = v;
    }
  });
  return out;
}

std::map<std::string, uint64_t> ParseProcStat(std::string_view text) {
  std::map<std::string, uint64_t> out;
  Lines(text, 0, [&](std::string_view line) {
    auto f = Fields(line);
    uint64_t v;
    if (f.size() >= 2 && Number(f[1], v)) out.emplace(std::string(f[0]), v);
  });
  return out;
}

std::map<std::string, std::string> ParseEnviron(std::string_view raw) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view var = raw.substr(start, end - start);
    start = end + 1;
    size_t eq = var.find('=');
    if (eq != std::string_view::npos && eq > 0) out.emplace(var.substr(0, eq), var.substr(eq + 1));
  }
  return out;
}

unsigned CountCpus(std::string_view cpuinfo) {
  unsigned cpus = 0;
  Lines(cpuinfo, 0, [&](std::string_view line) { cpus += line.rfind("processor", 0) == 0; });
  return cpus;
}

std::vector<std::string> ParseSwaps(std::string_view text) {
  std::vector<std::string> out;
  Lines(text, 1, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.size() >= 2) out.push_back(std::string(f[0]) + " (" + std::string(f[1]) + ")");
  });
  return out;
}

std::string ParseLoadavg(std::string_view text) {
  return Join(Fields(text), 0, 3);
}

std::string JoinCmdline(std::string_view raw) {
  std::string out(raw);
  while (!out.empty() && out.back() == '\0') out.pop_back();
  for (char& c : out)
    if (c == '\0') c = ' ';
  return out;
}

}  // namespace procsnap
