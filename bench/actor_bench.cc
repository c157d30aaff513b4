#include "actor_bench.h"

#include <string>
#include <vector>

#include "orrery/api.h"
#include "rate.h"

namespace {

// Ray's `Actor`: holds no CPU, its methods return b"ok".
class Server {
 public:
  static Server* Create() { return new Server(); }
  std::string SmallValue() { return "ok"; }
  std::string SmallValueArg(int) { return "ok"; }
};

int BenchNoOp() { return 0; }

// Ray's `Client(servers)`: makes calls on its servers (or submits tasks) and gets them all.
class Client {
 public:
  static Client* Create(std::vector<orrery::ActorHandle<Server>> servers) { return new Client(std::move(servers)); }
  explicit Client(std::vector<orrery::ActorHandle<Server>> servers) : servers_(std::move(servers)) {}

  int SmallValueBatch(int n) {
    std::vector<orrery::ObjectRef<std::string>> refs;
    for (int i = 0; i < n; ++i) {
      for (const auto& server : servers_) refs.push_back(server.Task(&Server::SmallValue).Remote());
    }
    orrery::Get(refs);
    return static_cast<int>(refs.size());
  }
  int SmallValueArgBatch(int n) {
    orrery::ObjectRef<int> x = orrery::Put(0);
    std::vector<orrery::ObjectRef<std::string>> refs;
    for (int i = 0; i < n; ++i) {
      for (const auto& server : servers_) refs.push_back(server.Task(&Server::SmallValueArg).Remote(x));
    }
    orrery::Get(refs);
    return static_cast<int>(refs.size());
  }
  int TaskBatch(int n) {
    std::vector<orrery::ObjectRef<int>> refs;
    for (int i = 0; i < n; ++i) refs.push_back(orrery::Task(BenchNoOp).Remote());
    orrery::Get(refs);
    return n;
  }

 private:
  std::vector<orrery::ActorHandle<Server>> servers_;
};

// Ray's n:n shape: one task making `n` calls spread round-robin over the servers.
int RoundRobinCalls(std::vector<orrery::ActorHandle<Server>> servers, int n) {
  std::vector<orrery::ObjectRef<std::string>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(servers[i % servers.size()].Task(&Server::SmallValue).Remote());
  orrery::Get(refs);
  return n;
}

ORRERY_REMOTE(Server::Create, &Server::SmallValue, &Server::SmallValueArg, BenchNoOp, Client::Create,
              &Client::SmallValueBatch, &Client::SmallValueArgBatch, &Client::TaskBatch, RoundRobinCalls);

constexpr int kManyServers = 32;

std::vector<orrery::ActorHandle<Server>> StartServers(int count) {
  std::vector<orrery::ActorHandle<Server>> servers;
  for (int i = 0; i < count; ++i) servers.push_back(orrery::Actor(Server::Create).Remote());
  // Created and reachable before anything is timed.
  for (const auto& server : servers) orrery::Get(server.Task(&Server::SmallValue).Remote());
  return servers;
}

void KillAll(const std::vector<orrery::ActorHandle<Server>>& servers) {
  for (const auto& server : servers) server.Kill();
}

// 2,000 calls on `server`, each awaited before the next: the best rate of `rounds` rounds.
double SyncCallRate(const orrery::ActorHandle<Server>& server, int rounds) {
  return orrery::bench::BestRate(2000, rounds, [&] {
    for (int i = 0; i < 2000; ++i) orrery::Get(server.Task(&Server::SmallValue).Remote());
  });
}

// 1,000 calls on `server` submitted, then all awaited: the best rate of 5 rounds.
double AsyncCallRate(const orrery::ActorHandle<Server>& server) {
  return orrery::bench::BestRate(1000, 5, [&] {
    std::vector<orrery::ObjectRef<std::string>> refs;
    for (int i = 0; i < 1000; ++i) refs.push_back(server.Task(&Server::SmallValue).Remote());
    orrery::Get(refs);
  });
}

// 1_n, n_n and n_n with an argument, on kManyServers servers.
void MeasureManyToMany(const orrery::bench::Reporter& report) {
  using orrery::bench::BestRate;
  auto servers = StartServers(kManyServers);
  {
    auto client = orrery::Actor(Client::Create).Remote(servers);
    orrery::Get(client.Task(&Client::SmallValueBatch).Remote(10));
    report("1_n_actor_calls_async", BestRate(5000.0 * kManyServers, 1, [&] {
             orrery::Get(client.Task(&Client::SmallValueBatch).Remote(5000));
           }),
           "calls/s");
    client.Kill();
  }
  report("n_n_actor_calls_async", BestRate(4 * 5000, 3, [&] {
           std::vector<orrery::ObjectRef<int>> refs;
           for (int i = 0; i < 4; ++i) refs.push_back(orrery::Task(RoundRobinCalls).Remote(servers, 5000));
           orrery::Get(refs);
         }),
         "calls/s");
  {
    // Each client paired with its own server.
    std::vector<orrery::ActorHandle<Client>> clients;
    for (const auto& server : servers) {
      clients.push_back(orrery::Actor(Client::Create).Remote(std::vector<orrery::ActorHandle<Server>>{server}));
    }
    for (const auto& client : clients) orrery::Get(client.Task(&Client::SmallValueArgBatch).Remote(1));
    report("n_n_actor_calls_with_arg_async", BestRate(1000.0 * kManyServers, 3, [&] {
             std::vector<orrery::ObjectRef<int>> refs;
             for (const auto& client : clients) refs.push_back(client.Task(&Client::SmallValueArgBatch).Remote(1000));
             orrery::Get(refs);
           }),
           "calls/s");
    for (const auto& client : clients) client.Kill();
  }
  KillAll(servers);
}

}  // namespace

namespace orrery::bench {

double SyncTaskRate() {
  for (int i = 0; i < 200; ++i) orrery::Get(orrery::Task(BenchNoOp).Remote());
  return BestRate(2000, 3, [] {
    for (int i = 0; i < 2000; ++i) orrery::Get(orrery::Task(BenchNoOp).Remote());
  });
}

std::vector<double> SyncTaskMicros(int tasks) {
  std::vector<double> micros;
  micros.reserve(tasks);
  for (int i = 0; i < tasks; ++i) {
    auto start = Clock::now();
    orrery::Get(orrery::Task(BenchNoOp).Remote());
    micros.push_back(Seconds(Clock::now() - start) * 1e6);
  }
  return micros;
}

double AsyncTaskRate() {
  return BestRate(1000, 5, [] {
    std::vector<orrery::ObjectRef<int>> refs;
    refs.reserve(1000);
    for (int i = 0; i < 1000; ++i) refs.push_back(orrery::Task(BenchNoOp).Remote());
    orrery::Get(refs);
  });
}

double SyncActorCallRate(const std::string& node, int rounds) {
  auto server = node.empty() ? StartServers(1)[0]
                             : orrery::Actor(Server::Create)
                                   .SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(node))
                                   .Remote();
  for (int i = 0; i < 200; ++i) orrery::Get(server.Task(&Server::SmallValue).Remote());
  double rate = SyncCallRate(server, rounds);
  server.Kill();
  return rate;
}

double MultiClientTaskRate() {
  std::vector<orrery::ActorHandle<Client>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(orrery::Actor(Client::Create).Remote(std::vector<orrery::ActorHandle<Server>>{}));
  for (const auto& client : clients) orrery::Get(client.Task(&Client::TaskBatch).Remote(10));
  double rate = BestRate(4 * 10'000, 1, [&] {
    std::vector<orrery::ObjectRef<int>> refs;
    for (const auto& client : clients) refs.push_back(client.Task(&Client::TaskBatch).Remote(10'000));
    orrery::Get(refs);
  });
  for (const auto& client : clients) client.Kill();
  return rate;
}

void MeasureActors(const Reporter& report) {
  if (Wanted({"1_1_actor_calls_async"})) {
    auto server = StartServers(1)[0];
    report("1_1_actor_calls_async", AsyncCallRate(server), "calls/s");
    server.Kill();
  }
  if (Wanted({"1_1_actor_calls_concurrent"})) {
    auto server = orrery::Actor(Server::Create).SetMaxConcurrency(16).Remote();
    orrery::Get(server.Task(&Server::SmallValue).Remote());
    report("1_1_actor_calls_concurrent", AsyncCallRate(server), "calls/s");
    server.Kill();
  }
  if (Wanted({"1_n_actor_calls_async", "n_n_actor_calls_async", "n_n_actor_calls_with_arg_async"})) {
    MeasureManyToMany(report);
  }
}

double ActorCreationRate(int rounds) {
  return BestRate(100, rounds, [] {
    std::vector<orrery::ActorHandle<Server>> created = StartServers(100);
    KillAll(created);
  });
}

}  // namespace orrery::bench
