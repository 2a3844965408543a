// Durations, wall times and the ways a user names one snapshot.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <cstdint>

#include "view/view.h"

namespace procsnap {

namespace {

constexpr int64_t kSecond = 1000000000;

// Digits at the front of s, consumed; false if there are none or too many.
bool TakeNumber(std::string_view& s, size_t maxDigits, int64_t* v, size_t* digits = nullptr) {
  size_t n = 0;
  *v = 0;
  while (n < s.size() && n < maxDigits && std::isdigit(static_cast<unsigned char>(s[n]))) *v = *v * 10 + (s[n++] - '0');
  if (digits) *digits = n;
  s.remove_prefix(n);
  return n > 0;
}

bool Take(std::string_view& s, char c) {
  if (s.empty() || s[0] != c) return false;
  s.remove_prefix(1);
  return true;
}

// "2026-11-23T07:11:05.250Z" and shorter forms -> *ns, *precision.
bool ParseIsoTime(std::string_view s, int64_t* ns, int64_t* precision) {
  int64_t year, mon, day, hour, min, sec = 0, frac = 0;
  size_t fracDigits = 0;
  struct tm tm {};
  if (!TakeNumber(s, 4, &year) || !Take(s, '-') || !TakeNumber(s, 2, &mon) || !Take(s, '-') || !TakeNumber(s, 2, &day))
    return false;
  if (!Take(s, 'T') && !Take(s, ' ')) return false;
  if (!TakeNumber(s, 2, &hour) || !Take(s, ':') || !TakeNumber(s, 2, &min)) return false;
  *precision = 60 * kSecond;
  if (Take(s, ':')) {
    if (!TakeNumber(s, 2, &sec)) return false;
    *precision = kSecond;
    if (Take(s, '.') || Take(s, ',')) {
      if (!TakeNumber(s, 9, &frac, &fracDigits)) return false;
      for (size_t i = fracDigits; i < 9; ++i) frac *= 10;
      *precision = 1;
      for (size_t i = fracDigits; i < 9; ++i) *precision *= 10;
    }
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return false;
  tm.tm_year = static_cast<int>(year - 1900);
  tm.tm_mon = static_cast<int>(mon - 1);
  tm.tm_mday = static_cast<int>(day);
  tm.tm_hour = static_cast<int>(hour);
  tm.tm_min = static_cast<int>(min);
  tm.tm_sec = static_cast<int>(sec);
  time_t secs;
  if (s.empty()) {  // no zone: local time, as the machine's TZ says
    tm.tm_isdst = -1;
    secs = ::mktime(&tm);
  } else if (Take(s, 'Z') || Take(s, 'z')) {
    secs = ::timegm(&tm);
  } else {
    const bool east = s[0] == '+';
    if (!Take(s, '+') && !Take(s, '-')) return false;
    int64_t oh, om = 0;
    if (!TakeNumber(s, 2, &oh)) return false;
    Take(s, ':');
    if (!s.empty() && !TakeNumber(s, 2, &om)) return false;
    secs = ::timegm(&tm) - (east ? 1 : -1) * (oh * 3600 + om * 60);
  }
  if (!s.empty()) return false;
  *ns = static_cast<int64_t>(secs) * kSecond + frac;
  return true;
}

// 'text', built by append: gcc 12 warns (-Wrestrict) on "'" + std::string.
std::string Quoted(std::string_view text) { return std::string("'").append(text).append("'"); }

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  std::string_view s = text;
  int64_t n, fraction = 0;
  size_t fractionDigits = 0;
  const char* kForms = " (write 500ms, 0.3s, 10s, 1.5m, 1h or 7d)";
  if (!TakeNumber(s, 12, &n)) return Status::InvalidArgument(Quoted(text) + " is not a duration" + kForms);
  // A decimal part, as people write them: 0.3s, 1.5m (to the nanosecond).
  if (Take(s, '.')) {
    const bool digits = TakeNumber(s, 9, &fraction, &fractionDigits);
    if (!digits || (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))))
      return Status::InvalidArgument(Quoted(text) + " is not a duration: after the point, 1 to 9 digits" + kForms);
  }
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"", kSecond}, {"ms", kSecond / 1000}, {"s", kSecond}, {"m", 60 * kSecond}, {"h", 3600 * kSecond}, {"d", 86400 * kSecond}};
  for (auto& [unit, scale] : kUnits)
    if (s == unit) {
      if (n > INT64_MAX / scale - 1) return Status::InvalidArgument("duration " + Quoted(text) + " is too long");
      __int128 tenths = 1;
      for (size_t d = 0; d < fractionDigits; ++d) tenths *= 10;
      const int64_t rest = static_cast<int64_t>(static_cast<__int128>(fraction) * scale / tenths);  // whole ns
      return n * scale + rest;
    }
  return Status::InvalidArgument(Quoted(text) + " has an unknown unit" + kForms);
}

Result<SnapshotSpec> ParseSnapshotSpec(std::string_view text) {
  SnapshotSpec spec;
  spec.text = std::string(text);
  std::string_view s = text;
  const bool negative = Take(s, '-');
  int64_t n;
  std::string_view afterDigits = s;
  if (TakeNumber(afterDigits, 12, &n) && afterDigits.empty()) {
    spec.kind = SnapshotSpec::Kind::Index;
    spec.index = negative ? -n : n;
    return spec;
  }
  if (negative) {
    auto d = ParseDuration(s);
    if (d.ok()) {
      spec.kind = SnapshotSpec::Kind::BeforeNewest;
      spec.agoNs = *d;
      return spec;
    }
  } else if (ParseIsoTime(s, &spec.timeNs, &spec.precisionNs)) {
    spec.kind = SnapshotSpec::Kind::Time;
    return spec;
  }
  return Status::InvalidArgument(Quoted(spec.text) +
                                 " names no snapshot: write an index (0 the first, -1 the newest), a time "
                                 "(2026-11-23T07:11:05Z, or local without the Z) or a time before the newest (-5m)");
}

Result<size_t> PickSnapshot(const SnapshotSpec& spec, const std::vector<int64_t>& starts, const std::string& where) {
  const long count = static_cast<long>(starts.size());
  if (count == 0) return Status::NotFound(where + ": holds no snapshot");
  if (spec.kind == SnapshotSpec::Kind::Index) {
    long i = spec.index < 0 ? count + spec.index : spec.index;
    if (i < 0 || i >= count)
      return Status::InvalidArgument(where + ": no snapshot " + std::to_string(spec.index) + " (it holds " +
                                     std::to_string(count) + ": 0.." + std::to_string(count - 1) + ")");
    return static_cast<size_t>(i);
  }
  // Clocks can step back between snapshots: times are compared, not positions.
  const auto [first, last] = std::minmax_element(starts.begin(), starts.end());
  const std::string span = WallTime(*first) + " .. " + WallTime(*last);
  // The snapshot that started last before `end` (the later one of equals).
  auto newestBefore = [&](int64_t end) -> long {
    long best = -1;
    for (long k = 0; k < count; ++k)
      if (starts[k] < end && (best < 0 || starts[k] >= starts[best])) best = k;
    return best;
  };
  if (spec.kind == SnapshotSpec::Kind::BeforeNewest) {
    long i = newestBefore(SaturatingAdd(SaturatingAdd(*last, -spec.agoNs), 1));
    if (i < 0)
      return Status::InvalidArgument(where + ": " + spec.text + " lies before the first snapshot (snapshots span " + span + ")");
    return static_cast<size_t>(i);
  }
  long i = newestBefore(SaturatingAdd(spec.timeNs, spec.precisionNs));
  // After the newest snapshot by more than the usual gap: the recorder
  // would have taken another, so the time lies outside the recording.
  const uint64_t gap = static_cast<uint64_t>(ShapeOf(starts).intervalNs);
  if (i < 0 || spec.timeNs > SaturatingAdd(*last, int64_t(std::min<uint64_t>(std::max<uint64_t>(gap, kSecond), INT64_MAX))))
    return Status::InvalidArgument(where + ": no snapshot at " + spec.text + " (snapshots span " + span + ")");
  return static_cast<size_t>(i);
}

std::vector<int64_t> SnapshotStarts(const ArchiveReader& archive) {
  std::vector<int64_t> starts;
  for (size_t i = 0; i < archive.snapshotCount(); ++i) starts.push_back(archive.summary(i).startWallNs);
  return starts;
}

Result<size_t> FindSnapshot(const ArchiveReader& archive, std::string_view at) {
  auto spec = ParseSnapshotSpec(at);
  if (!spec.ok()) return spec.status();
  return PickSnapshot(*spec, SnapshotStarts(archive), archive.path());
}

TimelineShape ShapeOf(const std::vector<int64_t>& starts) {
  TimelineShape t;
  t.count = starts.size();
  if (starts.empty()) return t;
  t.firstNs = *std::min_element(starts.begin(), starts.end());
  t.lastNs = *std::max_element(starts.begin(), starts.end());
  if (starts.size() < 2) return t;
  std::vector<int64_t> sorted(starts);
  std::sort(sorted.begin(), sorted.end());
  // Unsigned, clamped: hostile times may lie 2^63 apart.
  std::vector<uint64_t> gaps;
  for (size_t k = 1; k < sorted.size(); ++k) gaps.push_back(uint64_t(sorted[k]) - uint64_t(sorted[k - 1]));
  std::vector<uint64_t> byLength(gaps);
  std::nth_element(byLength.begin(), byLength.begin() + byLength.size() / 2, byLength.end());
  const uint64_t median = byLength[byLength.size() / 2];
  t.intervalNs = static_cast<int64_t>(std::min<uint64_t>(median, INT64_MAX));
  for (size_t k = 0; k < gaps.size(); ++k) {
    if (gaps[k] > median && gaps[k] - median > median / 2) ++t.gaps;
    if (gaps[k] > uint64_t(t.longestGapNs)) {
      t.longestGapNs = static_cast<int64_t>(std::min<uint64_t>(gaps[k], INT64_MAX));
      t.longestGapEndNs = sorted[k + 1];
    }
  }
  return t;
}

}  // namespace procsnap
