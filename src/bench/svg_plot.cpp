// SVG line plots for benchmark reports (svg_plot.h): axis mapping (linear or log10), ticks, polylines with
// markers, a legend, and an optional PNG conversion through rsvg-convert.
#include "bench/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "bench/peer.h"

namespace tessera::bench {

namespace {
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr int kLegendWidth = 250;
constexpr int kLeft = 80, kTop = 40, kBottom = 56;

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// A number as a short tick label: 128, 2.5k, 1.2M, 0.05.
std::string tick_label(double v) {
  double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

// One axis: maps data values to pixels between p0 and p1 (p1 may be < p0 for y).
struct Axis {
  double lo = 1, hi = 10;
  bool log = true;
  double p0 = 0, p1 = 1;
  double f(double v) const { return log ? std::log10(v) : v; }
  double map(double v) const {
    double a = f(lo), b = f(hi);
    return b == a ? (p0 + p1) / 2 : p0 + (f(v) - a) / (b - a) * (p1 - p0);
  }
};

// Pads the range: a decade-aligned margin on log axes, 5% (and zero when close) on linear ones.
void pad_range(Axis& ax) {
  if (ax.log) {
    if (ax.hi <= ax.lo) ax.hi = ax.lo * 10;
    ax.lo /= 1.25;
    ax.hi *= 1.25;
  } else {
    if (ax.hi <= ax.lo) ax.hi = ax.lo + 1;
    double span = ax.hi - ax.lo;
    ax.lo = ax.lo >= 0 && ax.lo < span ? 0 : ax.lo - 0.05 * span;
    ax.hi += 0.05 * span;
  }
}

std::vector<double> y_ticks(const Axis& ax) {
  std::vector<double> t;
  if (ax.log) {
    for (int e = (int)std::floor(std::log10(ax.lo)); e <= (int)std::ceil(std::log10(ax.hi)); ++e)
      for (double m : {1.0, 2.0, 5.0}) {
        double v = m * std::pow(10.0, e);
        if (v >= ax.lo && v <= ax.hi) t.push_back(v);
      }
    if (t.size() > 12) {  // many decades: keep the powers of ten only
      std::vector<double> p;
      for (double v : t)
        if (std::fabs(std::log10(v) - std::round(std::log10(v))) < 1e-9) p.push_back(v);
      t = p;
    }
  } else {
    double raw = (ax.hi - ax.lo) / 6, mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = raw / mag < 2 ? 2 * mag : raw / mag < 5 ? 5 * mag : 10 * mag;
    for (double v = std::ceil(ax.lo / step) * step; v <= ax.hi; v += step) t.push_back(v);
  }
  return t;
}
}  // namespace

std::string line_plot_svg(const std::vector<PlotSeries>& series, const PlotOptions& o) {
  Axis x{.log = o.log_x, .p0 = (double)kLeft, .p1 = (double)(o.width - kLegendWidth - 20)};
  Axis y{.log = o.log_y, .p0 = (double)(o.height - kBottom), .p1 = (double)kTop};
  std::set<double> xs;
  bool any = false;
  for (const PlotSeries& s : series)
    for (auto [px, py] : s.points) {
      if ((x.log && px <= 0) || (y.log && py <= 0) || !std::isfinite(py)) continue;
      xs.insert(px);
      x.lo = any ? std::min(x.lo, px) : px;
      x.hi = any ? std::max(x.hi, px) : px;
      y.lo = any ? std::min(y.lo, py) : py;
      y.hi = any ? std::max(y.hi, py) : py;
      any = true;
    }
  if (!any) y = Axis{.lo = 1, .hi = 10, .log = o.log_y, .p0 = y.p0, .p1 = y.p1};
  pad_range(y);
  if (x.log) {
    x.lo /= 1.15;
    x.hi *= 1.15;
  } else {
    pad_range(x);
  }

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      o.width, o.height);
  svg += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", kLeft, escape(o.title));
  double px0 = x.p0, px1 = x.p1, py0 = y.p0, py1 = y.p1;
  // Grid and ticks.
  for (double v : y_ticks(y)) {
    double p = y.map(v);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e0e0e0\"/>\n", px0, p, px1, p);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", px0 - 6, p + 4, tick_label(v));
  }
  for (double v : xs) {
    double p = x.map(v);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e0e0e0\"/>\n", p, py0, p, py1);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", p, py0 + 16, tick_label(v));
  }
  svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#444\"/>\n",
                     px0, py1, px1 - px0, py0 - py1);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}{}</text>\n", (px0 + px1) / 2, o.height - 14,
                     escape(o.x_label), o.log_x ? " (log scale)" : "");
  svg += fmt::format("<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}{}</text>\n",
                     (py0 + py1) / 2, escape(o.y_label), o.log_y ? " (log scale)" : "");

  // Series and legend.
  for (std::size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    const char* color = kPalette[(s.color >= 0 ? (std::size_t)s.color : i) % std::size(kPalette)];
    std::string dash = s.dashed ? " stroke-dasharray=\"6 4\"" : "";
    std::vector<std::pair<double, double>> pts;
    for (auto [px, py] : s.points)
      if (!((x.log && px <= 0) || (y.log && py <= 0) || !std::isfinite(py))) pts.emplace_back(x.map(px), y.map(py));
    std::sort(pts.begin(), pts.end());
    if (pts.size() > 1) {
      svg += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + std::string(color) + "\"" + dash + " points=\"";
      for (auto [a, b] : pts) svg += fmt::format("{:.1f},{:.1f} ", a, b);
      svg += "\"/>\n";
    }
    for (auto [a, b] : pts)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", a, b, color);
    double ly = kTop + 10 + 20.0 * (double)i, lx = o.width - kLegendWidth + 5;
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", lx,
                       ly, lx + 28, ly, color, dash);
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", lx + 14, ly, color);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}{}</text>\n", lx + 36, ly + 4, escape(s.name),
                       pts.empty() ? " (no data)" : "");
  }
  svg += "</svg>\n";
  return svg;
}

std::string svg_to_png(const std::string& svg_path, const std::string& png_path, std::string& why) {
  why.clear();
  if (std::system("command -v rsvg-convert >/dev/null 2>&1") != 0) {
    why = "rsvg-convert not found (apt-get install librsvg2-bin)";
    return "";
  }
  std::string cmd = "rsvg-convert -f png -o " + shell_quote(png_path) + " " + shell_quote(svg_path) + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    why = "rsvg-convert failed on " + svg_path;
    return "";
  }
  return "rsvg-convert";
}

}  // namespace tessera::bench
