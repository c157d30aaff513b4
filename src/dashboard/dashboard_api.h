// The dashboard's JSON API under /api/v0/ (the routes of src/dashboard/web/README.md): the
// cluster's state as `orrery list`, `summary`, `memory`, `logs`, `timeline` and `job` read it,
// through the same code (src/state/) and the same services, so that a page and the CLI say the
// same thing in the same JSON. The GCS serves it, as a client of its own gRPC services (the
// token checked and every call counted as any other's) and of the raylets'.
#pragma once

#include <map>
#include <string>

#include "nlohmann/json.hpp"
#include "src/state/cluster_connection.h"

namespace orrery::dashboard {

using Query = std::map<std::string, std::string>;

struct ApiReply {
  unsigned status = 200;
  // The answer; an error's is {"error": "what was wrong"}.
  nlohmann::ordered_json body;
  // When not empty, the answer as JSON text already, and `body` unused: a large answer (the
  // timeline) written without building a document.
  std::string json_text;
};

// An error answer of `status` saying `message`.
ApiReply ApiError(unsigned status, const std::string& message);

class DashboardApi {
 public:
  struct ClusterInfo {
    std::string session;      // the session directory's name
    std::string gcs_address;  // HOST:PORT
  };
  DashboardApi(state::ClusterConnection cluster, ClusterInfo info);

  // `path` is what follows /api/v0 ("/nodes", "/actors/ab12..."). Thread-safe: the
  // connection's channel is, and nothing else is shared.
  ApiReply Get(const std::string& path, const Query& query) const;
  // POST /jobs/<submission_id>/stop.
  ApiReply Post(const std::string& path) const;
  // Whether `nonce` is a one-time login link's (login_link.h) that has not expired, taking it
  // out so that it serves once. False when the GCS does not answer.
  bool RedeemLoginLink(const std::string& nonce) const;

 private:
  ApiReply Table(const std::string& kind) const;
  ApiReply Actor(const std::string& actor_id) const;
  ApiReply Tasks(const Query& query) const;
  ApiReply TaskSummary() const;
  ApiReply Objects(const Query& query) const;
  ApiReply JobLog(const std::string& submission_id, const Query& query) const;
  ApiReply StopJob(const std::string& submission_id) const;
  ApiReply LogFiles(const Query& query) const;
  ApiReply LogFile(const std::string& node_id, const std::string& file, const Query& query) const;
  ApiReply Timeline(const Query& query) const;

  const state::ClusterConnection cluster_;
  const ClusterInfo info_;
};

}  // namespace orrery::dashboard
