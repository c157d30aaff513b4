// The scrape targets of a cluster in Prometheus's file-based service discovery format
// (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#file_sd_config):
// the GCS, and each alive node's raylet, each with labels naming what it is. The head keeps it
// in <session>/metrics/targets.json; `orrery metrics targets` prints the same.
#pragma once

#include <string>
#include <vector>

#include "orrery/gcs.pb.h"

namespace orrery::metrics {

// `gcs_host`:`gcs_metrics_port` and every ALIVE node that has a metrics port. JSON text. With
// `https` (a cluster with TLS on) every group says so in Prometheus's `__scheme__` label.
std::string TargetsJson(const std::string& gcs_host, int gcs_metrics_port, const std::vector<rpc::NodeInfo>& nodes,
                        bool https);

}  // namespace orrery::metrics
