// A model split into stages, one actor per stage, each on a node of its own when the cluster has
// enough of them: pipeline parallelism. Micro-batches flow stage to stage as ObjectRefs: the
// driver hands each stage the ref the previous stage returned, so the activations go from one
// stage's node straight to the next one's, never through the driver.
//
//   ./pipeline                                    # on a local cluster it starts and stops
//   ./pipeline --orrery_address=HOST:PORT --orrery_token=TOKEN   # on a running cluster
//
// Each stage is a dense layer (fixed random weights) and a ReLU. The driver checks the output of
// every micro-batch against the same layers run in one process.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "orrery/api.h"

namespace {

constexpr int kWidth = 256;        // activations per example
constexpr int kBatch = 128;        // examples per micro-batch: 128 KiB of floats, a stored value
constexpr int kStages = 3;
constexpr int kMicroBatches = 8;

// A kWidth x kWidth layer with weights drawn from `seed`.
std::vector<float> Weights(int seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(static_cast<float>(kWidth)));
  std::vector<float> weights(kWidth * kWidth);
  for (float& w : weights) w = normal(random);
  return weights;
}

// relu(input · weights) for a batch of rows.
std::vector<float> Layer(const std::vector<float>& weights, const std::vector<float>& input) {
  std::vector<float> output(input.size(), 0.0f);
  for (size_t row = 0; row < input.size() / kWidth; ++row) {
    for (int k = 0; k < kWidth; ++k) {
      float x = input[row * kWidth + k];
      for (int j = 0; j < kWidth; ++j) output[row * kWidth + j] += x * weights[k * kWidth + j];
    }
  }
  for (float& y : output) y = std::max(0.0f, y);
  return output;
}

}  // namespace

class Stage {
 public:
  explicit Stage(int seed) : weights_(Weights(seed)) {}
  static Stage* Create(int seed) { return new Stage(seed); }
  std::vector<float> Forward(std::vector<float> activations) { return Layer(weights_, activations); }
  std::string Node() { return orrery::GetNodeId(); }

 private:
  std::vector<float> weights_;
};
ORRERY_REMOTE(Stage::Create, &Stage::Forward, &Stage::Node);

int main(int argc, char** argv) {
  orrery::Config config;
  orrery::Init(config, argc, argv);

  // Half a CPU each (so that all three fit on one two-core machine), spread: on a cluster of
  // several nodes the stages land on different ones.
  std::vector<orrery::ActorHandle<Stage>> stages;
  for (int s = 0; s < kStages; ++s) {
    stages.push_back(orrery::Actor(Stage::Create)
                         .SetResource("CPU", 0.5)
                         .SetSchedulingStrategy(orrery::SchedulingStrategy::Spread())
                         .Remote(s));
  }
  std::set<std::string> nodes;
  for (auto& stage : stages) nodes.insert(*orrery::Get(stage.Task(&Stage::Node).Remote()));

  // Every micro-batch enters stage 0 at once; each stage works on one while the next works on
  // the one before (each actor runs its calls in order).
  std::vector<std::vector<float>> inputs;
  std::vector<orrery::ObjectRef<std::vector<float>>> outputs;
  std::mt19937 random(7);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (int m = 0; m < kMicroBatches; ++m) {
    std::vector<float> input(kBatch * kWidth);
    for (float& x : input) x = unit(random);
    inputs.push_back(input);
    orrery::ObjectRef<std::vector<float>> activations = orrery::Put(input);
    for (auto& stage : stages) activations = stage.Task(&Stage::Forward).Remote(activations);
    outputs.push_back(activations);
  }

  float worst = 0.0f;
  for (int m = 0; m < kMicroBatches; ++m) {
    std::vector<float> expected = inputs[m];
    for (int s = 0; s < kStages; ++s) expected = Layer(Weights(s), expected);
    std::vector<float> got = *orrery::Get(outputs[m]);
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
  }
  std::cout << "pipeline: " << kMicroBatches << " micro-batches through " << kStages << " stages on " << nodes.size()
            << " node(s), largest difference from a local run " << worst << "\n";

  orrery::Shutdown();
  return worst < 1e-4f ? 0 : 1;
}
