// User metrics as a process reports them to its raylet (ReportMetricsRequest.metrics).
#pragma once

#include <vector>

#include "google/protobuf/repeated_ptr_field.h"
#include "orrery/node_manager.pb.h"
#include "src/metrics/user_metrics.h"

namespace orrery::metrics {

void ToWire(const std::vector<UserMetricSnapshot>& metrics, google::protobuf::RepeatedPtrField<rpc::UserMetric>* out);
std::vector<UserMetricSnapshot> FromWire(const google::protobuf::RepeatedPtrField<rpc::UserMetric>& metrics);

}  // namespace orrery::metrics
