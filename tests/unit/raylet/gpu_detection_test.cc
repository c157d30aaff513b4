// Which GPUs a raylet finds: CUDA_VISIBLE_DEVICES when set (with CUDA's spellings of "none"),
// else nvidia-smi's list, else none.
#include "src/raylet/gpu_detection.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::raylet {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Detect(std::optional<std::string> visible, const std::string& smi_output = "") {
  return DetectGpus([&](const char*) { return visible ? visible->c_str() : nullptr; },
                    [&](const std::string& command) {
                      EXPECT_EQ(command.rfind("nvidia-smi -L", 0), 0u);
                      return smi_output;
                    });
}

TEST(GpuDetectionTest, CudaVisibleDevicesNamesTheIds) {
  EXPECT_THAT(Detect("0,2"), ElementsAre("0", "2"));
  EXPECT_THAT(Detect(" 3 , GPU-1a2b "), ElementsAre("3", "GPU-1a2b"));
}

TEST(GpuDetectionTest, CudasSpellingsOfNoneMeanNone) {
  EXPECT_THAT(Detect(""), IsEmpty());
  EXPECT_THAT(Detect("-1"), IsEmpty());
  EXPECT_THAT(Detect("NoDevFiles"), IsEmpty());
}

TEST(GpuDetectionTest, NvidiaSmiIsAskedWhenTheVariableIsUnset) {
  std::string listing =
      "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaa)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-bbb)\n";
  EXPECT_THAT(Detect(std::nullopt, listing), ElementsAre("0", "1"));
  EXPECT_THAT(Detect(std::nullopt, ""), IsEmpty());
}

}  // namespace
}  // namespace orrery::raylet
