// HTML and SVG pieces of the report: escaping, the page's frame, charts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace procsnap {

// Text for HTML content or attribute values: & < > " ' escaped, bytes
// that are not UTF-8 replaced with U+FFFD.
std::string Escape(std::string_view text);
std::string Bytes(double n);        // "1.5 GiB"
std::string Clock(int64_t wallNs);  // "2026-12-04 16:02:05"

struct Series {
  std::string name, color;
  std::vector<std::optional<double>> values;  // one per point; unset: a gap
};

struct Mark {
  int64_t wallNs = 0;
  std::string label;
};

enum class Unit { Percent, Bytes, BytesPerSecond, Number };

struct ChartSpec {
  std::string id, title;
  Unit unit = Unit::Number;
  bool stacked = false;
  std::optional<double> max;       // the y axis' top (100 for percentages of all CPU); else from the data
  std::vector<int64_t> times;      // wall ns per point
  std::vector<size_t> snapshots;   // snapshot index per point
  std::vector<Series> series;
  std::vector<Mark> marks;         // events drawn as thin lines, named in their tooltip
};

// A <figure> with the SVG chart, its legend, and the chart's data as
// JSON for the tooltip script (and for tests: the points drawn).
std::string Chart(const ChartSpec& c);
// The points to keep of n when at most `max` fit: all when n <= max,
// else per bucket the one whose `weight` is largest.
std::vector<size_t> PickPoints(size_t n, size_t max, const std::vector<double>& weight);

// The page around `body`: styles, the tooltip script.
std::string Page(const std::string& title, const std::string& body);

}  // namespace procsnap
