#include "src/metrics/exposition.h"

#include <cmath>
#include <cstdio>

namespace orrery::metrics {

namespace {

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Escapes as the format asks: backslash and newline in HELP text; those and the double quote
// in label values.
std::string Escaped(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

void AppendLabels(std::string& out, const Labels& labels, const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && extra == nullptr) return;
  out += '{';
  bool first = true;
  auto append = [&](const std::pair<std::string, std::string>& label) {
    if (!first) out += ',';
    first = false;
    out += label.first;
    out += "=\"";
    out += Escaped(label.second, /*quote=*/true);
    out += '"';
  };
  for (const auto& label : labels) append(label);
  if (extra != nullptr) append(*extra);
  out += '}';
}

void AppendLine(std::string& out, const std::string& name, const Labels& labels, double value,
                const std::pair<std::string, std::string>* extra = nullptr) {
  out += name;
  AppendLabels(out, labels, extra);
  out += ' ';
  out += Number(value);
  out += '\n';
}

}  // namespace

std::string Exposition(const std::vector<Family>& families) {
  std::string out;
  for (const Family& family : families) {
    out += "# HELP " + family.name + " " + Escaped(family.help, /*quote=*/false) + "\n";
    out += "# TYPE " + family.name + " " + TypeName(family.type) + "\n";
    for (const Sample& sample : family.samples) AppendLine(out, family.name, sample.labels, sample.value);
    for (const HistogramSample& histogram : family.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < histogram.counts.size(); ++i) {
        cumulative += histogram.counts[i];
        std::pair<std::string, std::string> le{"le", i < histogram.bounds.size() ? Number(histogram.bounds[i]) : "+Inf"};
        AppendLine(out, family.name + "_bucket", histogram.labels, static_cast<double>(cumulative), &le);
      }
      AppendLine(out, family.name + "_sum", histogram.labels, histogram.sum);
      AppendLine(out, family.name + "_count", histogram.labels, static_cast<double>(cumulative));
    }
  }
  return out;
}

}  // namespace orrery::metrics
