// `orrery cert status` and `orrery cert rotate-ca`: the cluster CA, and its rotation
// (docs/security.md, "Rotating the CA"). The GCS drives a rotation through its phases, each
// ended once every alive node has reached it; rotate-ca starts one (on the head's host, whose
// certificate only may) and follows it to the end, or until --timeout (the GCS carries on).
#include <chrono>
#include <cstdio>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orrery/gcs.grpc.pb.h"
#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/common/id.h"
#include "src/state/format.h"

namespace orrery::cli {

using state::LocalTime;
using state::NowMs;

namespace {

struct CertFlags {
  ClusterFlags cluster;
  double timeout_s = 600;
  bool no_wait = false;
};

constexpr int64_t kPollMs = 500;
// While nodes hold a phase up, they are named this often.
constexpr int64_t kRepeatWaitingMs = 10'000;

// The phases of a rotation, in order.
constexpr const char* kPhases[] = {"trust-new", "sign-new", "drop-old"};

// What each phase asks of every node.
std::string PhaseMeaning(const std::string& phase) {
  if (phase == "trust-new") return "every node trusts the new CA beside the old one, which still signs";
  if (phase == "sign-new") return "every node holds a certificate of the new CA, and trusts both";
  if (phase == "drop-old") return "every node trusts the new CA only";
  return "no rotation under way";
}

// "sha256:" and the first 16 hex digits: enough to tell a cluster's CAs apart in a list.
std::string Short(const std::string& fingerprint) {
  constexpr size_t kShown = sizeof("sha256:") - 1 + 16;
  return fingerprint.size() <= kShown ? fingerprint : fingerprint.substr(0, kShown) + "...";
}

std::string Trusts(const rpc::NodeTrust& trust) {
  if (trust.trusted_cas_size() == 0) return "has reported no trust yet";
  std::string trusted = absl::StrJoin(trust.trusted_cas(), ", ", [](std::string* out, const std::string& ca) {
    out->append(Short(ca));
  });
  return absl::StrCat("trusts ", trusted, "; its certificate is of ",
                      trust.issuer().empty() ? "none of them" : Short(trust.issuer()));
}

std::string NodeHex(const std::string& binary) {
  absl::StatusOr<NodeId> id = NodeId::FromBinary(binary);
  return id.ok() ? id->Hex() : "?";
}

void PrintPending(const rpc::CaRotationStatus& status) {
  for (int i = 0; i < status.pending_nodes_size(); ++i) {
    printf("    node %s %s\n", NodeHex(status.pending_nodes(i)).c_str(),
           i < status.pending_trust_size() ? Trusts(status.pending_trust(i)).c_str() : "");
  }
}

void PrintStatus(const rpc::CaRotationStatus& status) {
  printf("Signing CA:  %s\n", status.signing_ca().c_str());
  printf("Trusted CAs: %s\n", absl::StrJoin(status.trusted_cas(), ", ").c_str());
  if (status.phase() == "idle") {
    printf("Rotation:    none under way (`orrery cert rotate-ca` on the head's host starts one)\n");
    return;
  }
  printf("Rotation:    %s -> %s\n", status.old_ca().c_str(), status.new_ca().c_str());
  printf("Phase:       %s (%s), since %s\n", status.phase().c_str(), PhaseMeaning(status.phase()).c_str(),
         LocalTime(status.phase_started_ms()).c_str());
  printf("Waiting for: %d node(s)\n", status.pending_nodes_size());
  PrintPending(status);
}

absl::StatusOr<rpc::CaRotationStatus> GetRotation(const ClusterConnection& cluster) {
  auto reply = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::GetCaRotation,
                                        rpc::GetCaRotationRequest{});
  if (!reply.ok()) return reply.status();
  return reply->status();
}

int RunStatus(const CertFlags& flags) {
  auto cluster = ConnectToCluster(flags.cluster);
  if (!cluster.ok()) return Fail("cert status", std::string(cluster.status().message()));
  auto status = GetRotation(*cluster);
  if (!status.ok()) return Fail("cert status", std::string(status.status().message()));
  PrintStatus(*status);
  return 0;
}

// Follows the rotation until it is over (0) or `timeout_s` passes (1), printing each phase.
int FollowRotation(const ClusterConnection& cluster, const CertFlags& flags, const std::string& new_ca) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_s * 1000));
  std::string phase;
  int printed = 0;  // the phases printed so far, in kPhases' order
  // Prints every phase up to `reached` not printed yet: one the polls missed (the GCS was slow
  // to answer) was passed all the same.
  auto print_phases_to = [&printed](const std::string& reached) {
    for (int i = printed; i < static_cast<int>(std::size(kPhases)); ++i) {
      printf("  phase %s: %s\n", kPhases[i], PhaseMeaning(kPhases[i]).c_str());
      printed = i + 1;
      if (reached == kPhases[i]) break;
    }
  };
  int64_t named_waiting_ms = 0;
  while (true) {
    auto status = GetRotation(cluster);
    // The GCS may be restarting: its rotation goes on from its record, so keep asking.
    if (!status.ok()) {
      printf("  (the GCS did not answer: %s; asking again)\n", std::string(status.status().message()).c_str());
    } else if (status->phase() == "idle") {
      print_phases_to("");
      printf("Done: every node trusts only %s.\n", status->signing_ca().c_str());
      printf("To add another host to this cluster, run on it:\n  orrery start --address %s --token %s --ca-hash %s\n",
             cluster.address.c_str(), cluster.token.c_str(), status->signing_ca().c_str());
      return 0;
    } else if (status->phase() != phase) {
      phase = status->phase();
      print_phases_to(phase);
      named_waiting_ms = NowMs();  // nodes are named only once a phase takes a while
    } else if (status->pending_nodes_size() > 0 && NowMs() - named_waiting_ms >= kRepeatWaitingMs) {
      printf("  waiting for %d node(s):\n", status->pending_nodes_size());
      PrintPending(*status);
      named_waiting_ms = NowMs();
    }
    fflush(stdout);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Fail("cert rotate-ca",
                  absl::StrCat("the rotation to ", new_ca, " is still in phase ", phase, " after ", flags.timeout_s,
                               " s; the GCS carries it on (`orrery cert status` shows which nodes it waits for)"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

int RunRotate(const CertFlags& flags) {
  auto cluster = ConnectToCluster(flags.cluster);
  if (!cluster.ok()) return Fail("cert rotate-ca", std::string(cluster.status().message()));
  auto reply = CallGcs<rpc::GcsService>(*cluster, &rpc::GcsService::Stub::async::RotateCa, rpc::RotateCaRequest{});
  if (!reply.ok()) return Fail("cert rotate-ca", std::string(reply.status().message()));
  const rpc::CaRotationStatus& status = reply->status();
  printf("Rotating the cluster CA: %s replaces %s.\n", status.new_ca().c_str(), status.old_ca().c_str());
  if (flags.no_wait) {
    printf("The GCS carries the rotation on; `orrery cert status` shows where it is.\n");
    return 0;
  }
  return FollowRotation(*cluster, flags, status.new_ca());
}

}  // namespace

void AddCertCommand(CLI::App& app, int& exit_code) {
  CLI::App* cert = app.add_subcommand("cert", "The cluster's CA and certificates");
  cert->require_subcommand(1);
  auto flags = std::make_shared<CertFlags>();
  CLI::App* status = cert->add_subcommand("status", "Show the cluster CA, and where a CA rotation stands");
  AddClusterFlags(*status, flags->cluster);
  status->callback([flags, &exit_code] { exit_code = RunStatus(*flags); });
  CLI::App* rotate = cert->add_subcommand(
      "rotate-ca",
      "Replace the cluster CA with a new one, node by node, without stopping anything (run it on the head's host)");
  AddClusterFlags(*rotate, flags->cluster);
  rotate->add_option("--timeout", flags->timeout_s, "Seconds to follow the rotation before returning (it goes on)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  rotate->add_flag("--no-wait", flags->no_wait, "Start the rotation and return");
  rotate->callback([flags, &exit_code] { exit_code = RunRotate(*flags); });
}

}  // namespace orrery::cli
