// Data-parallel training: one Trainer actor per alive node, each placed on a node of its own by
// a STRICT_SPREAD placement group (one bundle per node). Each step the driver draws a batch,
// splits it across the trainers, has each compute the gradient of the loss on its share, and
// averages the gradients into one SGD update; the loss it prints per step falls.
//
//   ./train_data_parallel                                    # on a local cluster it starts and stops
//   ./train_data_parallel --orrery_address=HOST:PORT --orrery_token=TOKEN   # on a running cluster
//
// The model is logistic regression on synthetic data: labels drawn from a hidden weight vector,
// which training recovers.
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "orrery/api.h"

namespace {

constexpr int kFeatures = 16;
constexpr int kBatch = 1024;  // examples per step, split across the trainers
constexpr int kSteps = 30;
constexpr double kLearningRate = 0.5;

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// What one trainer reports for its share of a batch: the summed loss and gradient.
struct Gradient {
  double loss = 0;
  std::vector<double> sum;
  int examples = 0;
  MSGPACK_DEFINE(loss, sum, examples);
};

// A batch of examples: features row by row, and 0/1 labels.
struct Batch {
  std::vector<double> features;
  std::vector<double> labels;
  MSGPACK_DEFINE(features, labels);
};

// `count` examples whose labels follow the hidden weights `truth`.
Batch Draw(std::mt19937& random, const std::vector<double>& truth, int count) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  Batch batch;
  for (int i = 0; i < count; ++i) {
    double z = 0;
    for (int f = 0; f < kFeatures; ++f) {
      double x = normal(random);
      batch.features.push_back(x);
      z += x * truth[f];
    }
    batch.labels.push_back(uniform(random) < Sigmoid(z) ? 1.0 : 0.0);
  }
  return batch;
}

}  // namespace

// One replica of the model's step: the gradient of the log loss on a share of the batch.
class Trainer {
 public:
  static Trainer* Create() { return new Trainer(); }

  Gradient Step(std::vector<double> weights, Batch shard) {
    Gradient gradient;
    gradient.sum.assign(kFeatures, 0.0);
    gradient.examples = static_cast<int>(shard.labels.size());
    for (int i = 0; i < gradient.examples; ++i) {
      const double* x = &shard.features[static_cast<size_t>(i) * kFeatures];
      double z = 0;
      for (int f = 0; f < kFeatures; ++f) z += x[f] * weights[f];
      double p = Sigmoid(z), y = shard.labels[i];
      gradient.loss -= y * std::log(p + 1e-12) + (1 - y) * std::log(1 - p + 1e-12);
      for (int f = 0; f < kFeatures; ++f) gradient.sum[f] += (p - y) * x[f];
    }
    return gradient;
  }

  std::string Node() { return orrery::GetNodeId(); }
};

ORRERY_REMOTE(Trainer::Create, &Trainer::Step, &Trainer::Node);

int main(int argc, char** argv) {
  orrery::Config config;
  orrery::Init(config, argc, argv);

  // One bundle per alive node, each on a node of its own.
  int nodes = static_cast<int>(orrery::GetAliveNodeIds().size());
  orrery::PlacementGroupCreationOptions options;
  options.name = "trainers";
  options.strategy = orrery::PlacementStrategy::STRICT_SPREAD;
  options.bundles.assign(nodes, {{"CPU", 1}});
  orrery::PlacementGroup group = orrery::CreatePlacementGroup(options);
  if (!group.Wait(60)) {
    std::fprintf(stderr, "train_data_parallel: no room for %d trainers, one per node\n", nodes);
    orrery::Shutdown();
    return 1;
  }
  std::vector<orrery::ActorHandle<Trainer>> trainers;
  for (int i = 0; i < nodes; ++i) {
    trainers.push_back(orrery::Actor(Trainer::Create).SetResource("CPU", 1).SetPlacementGroup(group, i).Remote());
  }
  std::set<std::string> used;
  for (auto& trainer : trainers) used.insert(*orrery::Get(trainer.Task(&Trainer::Node).Remote()));

  std::mt19937 random(7);
  std::normal_distribution<double> normal;
  std::vector<double> truth(kFeatures);
  for (double& w : truth) w = normal(random);
  std::vector<double> weights(kFeatures, 0.0);
  double first_loss = 0, last_loss = 0;
  for (int step = 0; step < kSteps; ++step) {
    Batch batch = Draw(random, truth, kBatch);
    // Each trainer gets an equal share of the batch (the last one the remainder).
    std::vector<orrery::ObjectRef<Gradient>> parts;
    int share = kBatch / nodes;
    for (int t = 0; t < nodes; ++t) {
      int begin = t * share, end = t + 1 == nodes ? kBatch : begin + share;
      Batch shard;
      shard.features.assign(batch.features.begin() + begin * kFeatures, batch.features.begin() + end * kFeatures);
      shard.labels.assign(batch.labels.begin() + begin, batch.labels.begin() + end);
      parts.push_back(trainers[t].Task(&Trainer::Step).Remote(weights, shard));
    }
    // Average the gradients (all-reduce through the driver) and take one SGD step.
    Gradient total;
    total.sum.assign(kFeatures, 0.0);
    for (const auto& part : orrery::Get(parts)) {
      total.loss += part->loss;
      total.examples += part->examples;
      for (int f = 0; f < kFeatures; ++f) total.sum[f] += part->sum[f];
    }
    double loss = total.loss / total.examples;
    for (int f = 0; f < kFeatures; ++f) weights[f] -= kLearningRate * total.sum[f] / total.examples;
    if (step == 0) first_loss = loss;
    last_loss = loss;
    std::printf("step %2d  loss %.4f\n", step, loss);
  }
  std::printf("train_data_parallel: %d trainer(s) on %zu node(s), loss %.4f -> %.4f\n", nodes, used.size(),
              first_loss, last_loss);
  orrery::RemovePlacementGroup(group.GetID());
  orrery::Shutdown();
  // Training must have learned something: the loss falls well below where it started.
  return last_loss < 0.8 * first_loss ? 0 : 1;
}
