// Ray's metrics from a driver and from an actor (the shape of Ray's metric_example.cc):
// <ray/api.h> and <ray/api/metric.h> only. The values reach each node's raylet, whose /metrics
// serves them (tests/integration/metrics_test.cc reads them there).
#include <ray/api.h>
#include <ray/api/metric.h>

#include "expect.h"

void RecordMetrics(const std::string& exec_type, int rounds) {
  ray::Gauge gauge("ray_test_gauge", "test gauge", "unit", {"tag1", "tag2"});
  ray::Counter counter("ray_test_counter", "test counter", "unit", {"tag1", "tag2"});
  ray::Histogram histogram("ray_test_histogram", "test histogram", "unit", {1, 10}, {"tag1", "tag2"});
  ray::Sum sum("ray_test_sum", "test sum", "unit", {"tag1", "tag2"});
  std::unordered_map<std::string, std::string> tags = {{"tag1", "increasing"}, {"tag2", exec_type}};
  for (int i = 0; i < rounds; i++) {
    gauge.Set(i, tags);
    counter.Inc(i, tags);
    histogram.Observe(i, tags);
    sum.Record(i, tags);
  }
}

class MetricActor {
 public:
  static MetricActor* FactoryCreate() { return new MetricActor(); }
  int RecordMetric(int rounds) {
    RecordMetrics("actor", rounds);
    return rounds;
  }
};
RAY_REMOTE(RAY_FUNC(MetricActor::FactoryCreate), &MetricActor::RecordMetric);

int main(int argc, char** argv) {
  ray::RayConfig config;
  ray::Init(config, argc, argv);
  auto actor = ray::Actor(MetricActor::FactoryCreate).Remote();
  auto recorded = actor.Task(&MetricActor::RecordMetric).Remote(5);
  RecordMetrics("driver", 5);
  EXPECT(*recorded.Get() == 5);
  ray::Shutdown();
  std::cout << "metrics_program: " << (compat_failures == 0 ? "ok" : "failed") << std::endl;
  return compat_failures == 0 ? 0 : 1;
}
