// Ray's sub-headers, each included alone as programs include them: each brings in what it
// names (here ray_config.h: RayConfig and RuntimeEnv; logging.h: RAYLOG; metric.h: the metrics;
// the others forward to <ray/api.h>).
#include <ray/api/ray_config.h>
#include <ray/api/logging.h>
#include <ray/api/metric.h>
#include <ray/api/ray_exception.h>

#include "gtest/gtest.h"

namespace {

TEST(RayCompatSubHeaders, RayConfigLoggingMetricAndExceptionHeadersStandAlone) {
  ray::RayConfig config;
  config.runtime_env = ray::RuntimeEnv();
  config.ray_namespace = "alone";
  RAYLOG(INFO) << "ray_config.h and logging.h alone, namespace " << config.ray_namespace;
  ray::Counter counter("compat_alone", "", "");
  counter.Inc(1, {});
  EXPECT_TRUE(config.runtime_env);
  EXPECT_THROW(throw ray::internal::RayException("alone"), ray::internal::RayException);
}

}  // namespace
