// A small self-contained SVG line-plot writer for benchmark reports: value vs a swept parameter, linear or
// log axes, one polyline per series with point markers, and a legend. No dependencies beyond fmt.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace tessera::bench {

struct PlotSeries {
  std::string name;                             // legend text, e.g. "mamba-130m tessera"
  std::vector<std::pair<double, double>> points;  // (x, y); points with y <= 0 are dropped on a log axis
  bool dashed = false;                          // peers are drawn dashed, Tessera solid
  int color = -1;                               // index into the palette; -1 = the series' position
};

struct PlotOptions {
  std::string title;
  std::string x_label, y_label;
  bool log_x = true, log_y = true;
  int width = 860, height = 460;  // pixels; the legend takes the right-hand 250 px
};

// The whole SVG document. X ticks sit at the distinct x values of the data (the swept lengths); log y ticks
// at 1-2-5 steps of each decade, linear y ticks at ~6 round steps.
std::string line_plot_svg(const std::vector<PlotSeries>& series, const PlotOptions& options);

// Converts an SVG file to PNG with rsvg-convert when it is on PATH. Returns "rsvg-convert" on success, or ""
// and sets `why` (not installed, or the conversion failed).
std::string svg_to_png(const std::string& svg_path, const std::string& png_path, std::string& why);

}  // namespace tessera::bench
