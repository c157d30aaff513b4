#include "src/metrics/user_metrics_wire.h"

namespace orrery::metrics {

// The wire's kinds are the API's, number for number: converted by a cast.
static_assert(rpc::UserMetric::COUNTER == static_cast<int>(UserMetricKind::kCounter));
static_assert(rpc::UserMetric::GAUGE == static_cast<int>(UserMetricKind::kGauge));
static_assert(rpc::UserMetric::HISTOGRAM == static_cast<int>(UserMetricKind::kHistogram));
static_assert(rpc::UserMetric::SUM == static_cast<int>(UserMetricKind::kSum));

void ToWire(const std::vector<UserMetricSnapshot>& metrics, google::protobuf::RepeatedPtrField<rpc::UserMetric>* out) {
  for (const UserMetricSnapshot& metric : metrics) {
    rpc::UserMetric* wire = out->Add();
    wire->set_name(metric.schema.name);
    wire->set_help(metric.schema.help);
    wire->set_kind(static_cast<rpc::UserMetric::Kind>(metric.schema.kind));
    wire->mutable_tag_keys()->Add(metric.schema.tag_keys.begin(), metric.schema.tag_keys.end());
    wire->mutable_boundaries()->Add(metric.schema.boundaries.begin(), metric.schema.boundaries.end());
    for (const UserMetricPoint& point : metric.points) {
      rpc::UserMetricPoint* wire_point = wire->add_points();
      wire_point->mutable_tag_values()->Add(point.tag_values.begin(), point.tag_values.end());
      wire_point->set_value(point.value);
      wire_point->mutable_bucket_counts()->Add(point.bucket_counts.begin(), point.bucket_counts.end());
      wire_point->set_sum(point.sum);
    }
  }
}

std::vector<UserMetricSnapshot> FromWire(const google::protobuf::RepeatedPtrField<rpc::UserMetric>& metrics) {
  std::vector<UserMetricSnapshot> snapshot;
  for (const rpc::UserMetric& wire : metrics) {
    // A kind this raylet does not know (a newer reporter) is skipped rather than misread.
    if (!rpc::UserMetric::Kind_IsValid(wire.kind())) continue;
    UserMetricSnapshot& metric = snapshot.emplace_back();
    metric.schema.name = wire.name();
    metric.schema.help = wire.help();
    metric.schema.kind = static_cast<UserMetricKind>(wire.kind());
    metric.schema.tag_keys.assign(wire.tag_keys().begin(), wire.tag_keys().end());
    metric.schema.boundaries.assign(wire.boundaries().begin(), wire.boundaries().end());
    for (const rpc::UserMetricPoint& wire_point : wire.points()) {
      UserMetricPoint& point = metric.points.emplace_back();
      point.tag_values.assign(wire_point.tag_values().begin(), wire_point.tag_values().end());
      // As many values as tag keys, whatever was sent: the labels are made from both.
      point.tag_values.resize(metric.schema.tag_keys.size());
      point.value = wire_point.value();
      point.bucket_counts.assign(wire_point.bucket_counts().begin(), wire_point.bucket_counts().end());
      point.sum = wire_point.sum();
    }
  }
  return snapshot;
}

}  // namespace orrery::metrics
