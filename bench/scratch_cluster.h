// A single-node cluster of a benchmark's own, started with the CLI under a new temp root (TLS on,
// as by default), this program connected to it as its driver, stopped and removed when it goes.
#pragma once

#include <stdio.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "cli.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "src/common/file_util.h"
#include "src/http/http_client.h"
#include "src/rpc/tls_config.h"

namespace orrery::bench {

class ScratchCluster {
 public:
  // `what` names the figures in messages ("metrics figures").
  ScratchCluster(const std::string& what, const std::string& flags) : what_(what) {
    char root[] = "/tmp/ob-scratch-XXXXXX";
    if (mkdtemp(root) == nullptr) return;
    root_ = root;
    head_ = StartHead(flags + " --temp-dir " + root_);
  }
  ~ScratchCluster() {
    if (root_.empty()) return;
    Cli("stop --temp-dir " + root_);
    std::filesystem::remove_all(root_);
  }
  ScratchCluster(const ScratchCluster&) = delete;
  ScratchCluster& operator=(const ScratchCluster&) = delete;

  // orrery::Init on it; false (and why, on stderr) when it did not start.
  bool Connect() {
    if (!head_.started()) {
      fprintf(stderr, "%s: the cluster did not start:\n%s\n", what_.c_str(), head_.output.c_str());
      return false;
    }
    orrery::Config config;
    config.address = head_.address;
    config.token = head_.token;
    config.temp_dir = root_;
    orrery::Init(config);
    ca_pem_ = ReadFileToString(root_ + "/tls/ca.crt").value_or("");
    return true;
  }

  const CliHead& head() const { return head_; }

  // `call` to `target` (HOST:PORT) on a new HTTPS connection trusting the cluster CA, as a
  // scraper or a browser given the CA makes it; the reply, or why there is none.
  absl::StatusOr<http::GetReply> Fetch(const std::string& target, const http::HttpCall& call) const {
    return http::Fetch(target, call, http::GetOptions{ca_pem_, rpc::kClusterServerName});
  }

  // The raylet's /metrics address, from the targets the head keeps.
  std::string RayletTarget() const {
    nlohmann::json groups = nlohmann::json::parse(Cli("metrics targets --temp-dir " + root_), nullptr, false);
    if (!groups.is_array()) return "";
    for (const auto& group : groups) {
      if (group["labels"].value("component", "gcs") != "gcs") return group["targets"][0].get<std::string>();
    }
    return "";
  }

 private:
  std::string what_;
  std::string root_;
  CliHead head_;
  std::string ca_pem_;
};

}  // namespace orrery::bench
