#include "html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "format/archive.h"

namespace procsnap {

namespace {

// The SVG's view box is about the size a chart is shown at (two charts
// side by side on a laptop), so its text is drawn at its own size. The
// plot area inside it:
constexpr double kWidth = 620, kHeight = 206, kLeft = 72, kRight = 610, kTop = 8, kBottom = 180;

// Length of the UTF-8 sequence at s[i], 0 when it is not valid there.
size_t Utf8Length(std::string_view s, size_t i) {
  const unsigned char c = s[i];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;  // overlong
  return n;
}

std::string Number(double v, const char* format) {
  char b[48];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

std::string AxisValue(double v, Unit u) {
  switch (u) {
    case Unit::Percent: return Number(v, v < 10 && v != 0 ? "%.1f%%" : "%.0f%%");
    case Unit::Bytes: return Bytes(v);
    case Unit::BytesPerSecond: return Bytes(v) + "/s";
    case Unit::Number: return Number(v, v < 10 && v != 0 ? "%.2g" : "%.0f");
  }
  return "";
}

const char* UnitName(Unit u) {
  switch (u) {
    case Unit::Percent: return "percent";
    case Unit::Bytes: return "bytes";
    case Unit::BytesPerSecond: return "bytes/s";
    case Unit::Number: return "number";
  }
  return "";
}

// The top of the y axis: the data's largest value rounded up to 1, 2 or 5
// x 10^k (of KiB, MiB... for bytes, so that the labels are round).
double NiceMax(double v, Unit u) {
  if (u == Unit::Bytes || u == Unit::BytesPerSecond) {
    if (v < 1024) return 1024;  // nothing moved: a KiB, not fractions of a byte
    double unit = 1;
    while (v / unit >= 1000) unit *= 1024;
    return NiceMax(v / unit, Unit::Number) * unit;
  }
  if (v <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (v <= m * p) return m * p;
  return 10 * p;
}

}  // namespace

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&#39;"; ++i; continue;
      default: break;
    }
    const size_t n = Utf8Length(text, i);
    if (n == 0 || (n == 1 && static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string Bytes(double n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (n >= 1024 && u < 4) n /= 1024, ++u;
  return Number(n, u == 0 || n >= 100 ? "%.0f " : "%.1f ") + units[u];
}

std::string Clock(int64_t wallNs) {
  std::string t = WallTime(wallNs);
  return t.substr(0, 10) + " " + t.substr(11, 8);
}

std::vector<size_t> PickPoints(size_t n, size_t max, const std::vector<double>& weight) {
  std::vector<size_t> keep;
  if (n <= max || max == 0) {
    for (size_t i = 0; i < n; ++i) keep.push_back(i);
    return keep;
  }
  for (size_t b = 0; b < max; ++b) {
    const size_t lo = b * n / max, hi = (b + 1) * n / max;
    if (lo >= hi) continue;
    size_t best = lo;
    for (size_t i = lo; i < hi; ++i)
      if (weight[i] > weight[best]) best = i;
    keep.push_back(best);
  }
  return keep;
}

std::string Chart(const ChartSpec& c) {
  const size_t n = c.times.size();
  std::string svg;
  // Scales: x by time (gaps in the recording show as gaps), y from 0.
  // In doubles: a hostile archive's times may be any int64, and their
  // differences would overflow.
  const int64_t t0 = n ? c.times.front() : 0, t1 = n ? c.times.back() : 1;
  const double span = double(t1) > double(t0) ? double(t1) - double(t0) : 1.0;
  auto x = [&](int64_t t) { return kLeft + (kRight - kLeft) * std::clamp((double(t) - double(t0)) / span, -1.0, 2.0); };
  std::vector<double> top(n, 0.0);  // stacked: running sums
  double dataMax = 0;
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (const auto& s : c.series)
      if (i < s.values.size() && s.values[i]) {
        sum += *s.values[i];
        dataMax = std::max(dataMax, *s.values[i]);
      }
    if (c.stacked) dataMax = std::max(dataMax, sum);
  }
  const double yMax = c.max ? *c.max : NiceMax(dataMax * 1.05, c.unit);
  auto y = [&](double v) { return kBottom - (kBottom - kTop) * std::clamp(v / yMax, 0.0, 1.0); };
  auto pt = [&](double px, double py) { return Number(px, "%.1f") + "," + Number(py, "%.1f"); };

  svg += "<svg class=\"plot\" viewBox=\"0 0 " + Number(kWidth, "%.0f") + " " + Number(kHeight, "%.0f") +
         "\" role=\"img\" aria-label=\"" +
         Escape(c.title) + "\">";
  // Grid and y labels.
  for (int k = 0; k <= 4; ++k) {
    const double v = yMax * k / 4, py = y(v);
    svg += "<line class=\"grid\" x1=\"" + Number(kLeft, "%.0f") + "\" x2=\"" + Number(kRight, "%.0f") + "\" y1=\"" +
           Number(py, "%.1f") + "\" y2=\"" + Number(py, "%.1f") + "\"/>";
    svg += "<text class=\"ylabel\" x=\"" + Number(kLeft - 6, "%.0f") + "\" y=\"" + Number(py + 4, "%.1f") + "\">" +
           Escape(AxisValue(v, c.unit)) + "</text>";
  }
  // x labels: five times along the axis.
  for (int k = 0; k <= 4 && n; ++k) {
    const int64_t t = int64_t(std::clamp(double(t0) + span * k / 4, -9.2e18, 9.2e18));
    const std::string label = span > 86400e9 ? Clock(t).substr(5, 11) : Clock(t).substr(11);
    svg += "<text class=\"xlabel\" x=\"" + Number(x(t), "%.1f") + "\" y=\"" + Number(kBottom + 18, "%.0f") + "\" text-anchor=\"" +
           (k == 0 ? "start" : k == 4 ? "end" : "middle") + "\">" + Escape(label) + "</text>";
  }
  // Events: a thin line each, named in its tooltip.
  for (const auto& m : c.marks) {
    if (m.wallNs < t0 || m.wallNs > t1) continue;
    const std::string px = Number(x(m.wallNs), "%.1f");
    svg += "<line class=\"mark\" x1=\"" + px + "\" x2=\"" + px + "\" y1=\"" + Number(kTop, "%.0f") + "\" y2=\"" +
           Number(kBottom, "%.0f") + "\"><title>" + Escape(Clock(m.wallNs) + "  " + m.label) + "</title></line>";
  }
  // Series: runs of points that have a value; stacked ones as areas.
  for (const auto& s : c.series) {
    size_t i = 0;
    while (i < n) {
      while (i < n && !(i < s.values.size() && s.values[i])) ++i;
      size_t j = i;
      while (j < n && j < s.values.size() && s.values[j]) ++j;
      if (j > i) {
        if (c.stacked) {
          std::string upper, lower;
          for (size_t k = i; k < j; ++k) upper += pt(x(c.times[k]), y(top[k] + *s.values[k])) + " ";
          for (size_t k = j; k-- > i;) lower += pt(x(c.times[k]), y(top[k])) + " ";
          svg += "<polygon class=\"area\" fill=\"" + s.color + "\" points=\"" + upper + lower + "\"/>";
        } else {
          std::string line;
          for (size_t k = i; k < j; ++k) line += pt(x(c.times[k]), y(*s.values[k])) + " ";
          if (j - i == 1) line += pt(x(c.times[i]) + 1.5, y(*s.values[i]));
          svg += "<polyline class=\"line\" stroke=\"" + s.color + "\" points=\"" + line + "\"/>";
        }
      }
      i = j;
    }
    if (c.stacked)
      for (size_t k = 0; k < n; ++k)
        if (k < s.values.size() && s.values[k]) top[k] += *s.values[k];
  }
  svg += "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"" + Number(kTop, "%.0f") + "\" y2=\"" + Number(kBottom, "%.0f") +
         "\" visibility=\"hidden\"/></svg>";

  std::string legend = "<ul class=\"legend\">";
  for (const auto& s : c.series)
    legend += "<li><span class=\"swatch\" style=\"background:" + s.color + "\"></span>" + Escape(s.name) + "</li>";
  legend += "</ul>";

  nlohmann::json data = {{"id", c.id}, {"unit", UnitName(c.unit)}, {"t0", t0},          {"span", span},
                         {"width", kWidth}, {"left", kLeft},           {"right", kRight}};
  nlohmann::json times = nlohmann::json::array(), ns = nlohmann::json::array(), snaps = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) {
    times.push_back(WallTime(c.times[i]));
    ns.push_back(c.times[i]);
    snaps.push_back(i < c.snapshots.size() ? c.snapshots[i] : 0);
  }
  data["times"] = times, data["ns"] = ns, data["snapshots"] = snaps;
  data["series"] = nlohmann::json::array();
  for (const auto& s : c.series) {
    nlohmann::json values = nlohmann::json::array();
    for (size_t i = 0; i < n; ++i)
      values.push_back(i < s.values.size() && s.values[i] ? nlohmann::json(*s.values[i]) : nlohmann::json(nullptr));
    data["series"].push_back({{"name", s.name}, {"values", values}});
  }
  std::string json = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Inside <script>, "</" could end the element: JSON allows "<\/".
  for (size_t p = 0; (p = json.find("</", p)) != std::string::npos; p += 3) json.replace(p, 2, "<\\/");

  return "<figure class=\"chart\" id=\"" + Escape(c.id) + "\"><figcaption>" + Escape(c.title) + "</figcaption>" + svg +
         legend + "<div class=\"tip\" hidden></div><script type=\"application/json\" class=\"chart-data\">" + json +
         "</script></figure>\n";
}

std::string Page(const std::string& title, const std::string& body) {
  static const char* kStyle = R"(
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d8dce4; --bg: #ffffff; --panel: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--bg); }
header, main { max-width: 1280px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 26px 0 8px; padding-top: 6px; border-top: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 6px 0 12px; color: var(--muted); }
.facts b { color: var(--ink); font-weight: 600; }
nav { margin: 8px 0 12px; display: flex; flex-wrap: wrap; gap: 6px 14px; }
nav a { color: #2456c5; text-decoration: none; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 12px 20px; }
figure.chart { margin: 0; position: relative; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px 4px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 2px; }
svg.plot { width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
svg .ylabel { font-size: 11px; fill: var(--muted); text-anchor: end; }
svg .xlabel { font-size: 11px; fill: var(--muted); }
svg .line { fill: none; stroke-width: 1.6; vector-effect: non-scaling-stroke; }
svg .area { fill-opacity: 0.75; stroke: none; }
svg .mark { stroke: #c0392b; stroke-width: 1; stroke-dasharray: 3 3; vector-effect: non-scaling-stroke; opacity: .55; }
svg .cursor { stroke: #333; stroke-width: 1; vector-effect: non-scaling-stroke; }
ul.legend { list-style: none; margin: 2px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12.5px; }
ul.legend li { max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.tip { position: absolute; z-index: 2; pointer-events: none; background: #fff; border: 1px solid #9aa3b2; border-radius: 4px;
       padding: 4px 7px; font-size: 12.5px; white-space: pre; box-shadow: 0 2px 6px rgba(0,0,0,.15); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.cmd { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
.scroll { max-height: 560px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.note { color: var(--muted); }
.kind { white-space: nowrap; }
footer { max-width: 1280px; margin: 30px auto; padding: 0 20px; color: var(--muted); font-size: 12px; }
)";
  // Tooltips: the nearest point of a chart under the pointer, with its
  // snapshot's time; nothing else depends on it.
  static const char* kScript = R"(
(function () {
  var charts = document.querySelectorAll('figure.chart');
  function fmt(v, unit) {
    if (v === null) return '-';
    if (unit === 'percent') return v.toFixed(1) + '%';
    if (unit === 'bytes' || unit === 'bytes/s') {
      var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
      while (v >= 1024 && i < 4) { v /= 1024; i++; }
      return (i ? v.toFixed(1) : v.toFixed(0)) + ' ' + u[i] + (unit === 'bytes/s' ? '/s' : '');
    }
    return Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(0);
  }
  charts.forEach(function (fig) {
    var data = JSON.parse(fig.querySelector('script.chart-data').textContent);
    var svg = fig.querySelector('svg'), tip = fig.querySelector('.tip'), cursor = svg.querySelector('.cursor');
    if (!data.ns.length) return;
    svg.addEventListener('mousemove', function (ev) {
      var r = svg.getBoundingClientRect();
      var vx = (ev.clientX - r.left) / r.width * data.width;
      var t = data.t0 + (vx - data.left) / (data.right - data.left) * data.span;
      var lo = 0, hi = data.ns.length - 1;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (data.ns[mid] < t) lo = mid + 1; else hi = mid; }
      if (lo > 0 && Math.abs(data.ns[lo - 1] - t) < Math.abs(data.ns[lo] - t)) lo--;
      var lines = [data.times[lo].replace('T', ' ').replace('Z', ' UTC') + '  (snapshot ' + data.snapshots[lo] + ')'];
      data.series.forEach(function (s) { lines.push(s.name + ': ' + fmt(s.values[lo], data.unit)); });
      tip.textContent = lines.join('\n');
      tip.hidden = false;
      var px = data.left + (data.ns[lo] - data.t0) / data.span * (data.right - data.left);
      cursor.setAttribute('x1', px); cursor.setAttribute('x2', px); cursor.setAttribute('visibility', 'visible');
      var fr = fig.getBoundingClientRect();
      var left = ev.clientX - fr.left + 14;
      if (left + tip.offsetWidth > fr.width) left = ev.clientX - fr.left - tip.offsetWidth - 14;
      tip.style.left = Math.max(0, left) + 'px';
      tip.style.top = (ev.clientY - fr.top + 12) + 'px';
    });
    svg.addEventListener('mouseleave', function () { tip.hidden = true; cursor.setAttribute('visibility', 'hidden'); });
  });
  document.body.setAttribute('data-ready', String(charts.length));
})();
)";
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "script-src 'unsafe-inline'; img-src data:\">"
         "<title>" +
         Escape(title) + "</title><style>" + kStyle + "</style></head>\n<body>\n" + body +
         "<footer>Made by procsnap report. One file: no network, no external script, style or font.</footer>\n"
         "<script>" +
         kScript + "</script>\n</body></html>\n";
}

}  // namespace procsnap
