#include "src/rpc/auth.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_metadata_processor.h"

#include "src/common/clock.h"
#include "src/common/file_util.h"
#include "src/common/log.h"
#include "src/rpc/peer_certificate.h"
#include "src/rpc/refused_names_file.h"
#include "src/rpc/rpc_options.h"
#include "src/rpc/status_conversion.h"

namespace orrery::rpc {

bool TokensEqual(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

TokenAuthenticator::TokenAuthenticator(std::string service_name, std::string token)
    : service_name_(std::move(service_name)), token_(std::move(token)) {}

absl::Status TokenAuthenticator::Check(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kTokenMetadataKey);
  std::optional<absl::string_view> token;
  if (it != metadata.end()) token = absl::string_view(it->second.data(), it->second.size());
  return CheckToken(token, context.peer());
}

absl::Status TokenAuthenticator::CheckToken(std::optional<absl::string_view> token, absl::string_view peer) const {
  if (!token.has_value() || token->empty()) {
    LogRejection(peer, "no token");
    return absl::UnauthenticatedError("the call carries no cluster token; pass --token or set ORRERY_TOKEN");
  }
  if (!TokensEqual(*token, token_)) {
    LogRejection(peer, "wrong token");
    return absl::UnauthenticatedError("wrong cluster token");
  }
  return absl::OkStatus();
}

void TokenAuthenticator::LogRejection(absl::string_view peer, const char* reason) const {
  int64_t now = MonotonicMs();
  int64_t last = last_log_ms_.load();
  if (now - last < 1000 || !last_log_ms_.compare_exchange_strong(last, now)) {
    ++suppressed_;
    return;
  }
  int64_t suppressed = suppressed_.exchange(0);
  spdlog::warn("{}: refused a call from {}: {}{}", service_name_, peer, reason,
               suppressed > 0 ? fmt::format(" ({} more refusals not logged)", suppressed) : "");
}

namespace {

// Runs inside gRPC's server auth filter, when a call's initial metadata has arrived: gRPC
// publishes the call, and so reads its request message, only once Process has answered OK.
class TokenMetadataProcessor final : public grpc::AuthMetadataProcessor {
 public:
  TokenMetadataProcessor(std::string service_name, std::string token, std::vector<std::string> join_methods)
      : auth_(service_name, std::move(token)),
        service_name_(std::move(service_name)),
        join_methods_(join_methods.begin(), join_methods.end()) {}

  // Not blocking: Process only compares a few bytes (and at most once a second logs a line).
  // A blocking processor would have gRPC's C++ wrapper hand every call to its thread pool and
  // back (AuthMetadataProcessorAyncWrapper::Process in src/cpp/server/secure_server_credentials.cc),
  // a thread hop of tens of µs on each call for a check that takes well under one.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context, OutputMetadata* /*consumed*/,
                       OutputMetadata* /*response*/) override {
    // The token is left in the metadata (not "consumed"): ServerCalls checks it again.
    std::string name = PeerCertificateName(*context);
    std::string peer = name.empty() ? "a TLS peer without a certificate" : absl::StrCat("the TLS peer ", name);
    absl::Status token = auth_.CheckToken(Find(metadata, kTokenMetadataKey), peer);
    if (!token.ok()) return ToGrpcStatus(token);
    if (name.empty()) {
      absl::string_view method = Find(metadata, ":path").value_or("");
      if (join_methods_.contains(method)) return grpc::Status::OK;
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          absl::StrCat(service_name_, " serves ", method,
                                       " only to a peer with a certificate of the cluster CA; a node without "
                                       "one joins with --ca-hash to get one"));
    }
    if (CertificateNameRefused(name)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          absl::StrCat(service_name_, " refuses the certificate of node ", name,
                                       ": the cluster declared that node dead"));
    }
    return grpc::Status::OK;
  }

 private:
  static absl::string_view ToView(const grpc::string_ref& ref) { return absl::string_view(ref.data(), ref.size()); }
  static std::optional<absl::string_view> Find(const InputMetadata& metadata, absl::string_view key) {
    auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
    if (it == metadata.end()) return std::nullopt;
    return ToView(it->second);
  }

  const TokenAuthenticator auth_;
  const std::string service_name_;
  const absl::flat_hash_set<std::string> join_methods_;
};

using NameSet = absl::flat_hash_set<std::string>;

// Copied whole on each (rare) node death; read on every call of every TLS port.
std::atomic<std::shared_ptr<const NameSet>>& RefusedNames() {
  static std::atomic<std::shared_ptr<const NameSet>> names{std::make_shared<const NameSet>()};
  return names;
}

NameSet ParseNames(const std::string& text) {
  NameSet names;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    names.insert(std::string(absl::StripAsciiWhitespace(line)));
  }
  return names;
}

// The file this process writes its refused names to (refused_names_file.h); empty: none.
struct Published {
  absl::Mutex mu;
  std::string path ABSL_GUARDED_BY(mu);
};
Published& PublishedFile() {
  static auto* published = new Published();
  return *published;
}

void Publish(const NameSet& ours) {
  Published& published = PublishedFile();
  absl::MutexLock lock(&published.mu);
  if (published.path.empty()) return;
  // Merged with the file: another daemon sharing the directory may have written names too.
  NameSet all = ours;
  if (auto text = ReadFileToString(published.path); text.ok()) all.merge(ParseNames(*text));
  std::vector<std::string> sorted(all.begin(), all.end());
  std::sort(sorted.begin(), sorted.end());
  std::string text = sorted.empty() ? "" : absl::StrCat(absl::StrJoin(sorted, "\n"), "\n");
  if (absl::Status written = WriteFileAtomic(published.path, text, 0644); !written.ok()) {
    spdlog::warn("cannot share the refused certificates in {}: {}", published.path, written.message());
  }
}

// The file this process follows, and what it listed when last read.
struct Followed {
  absl::Mutex mu;
  std::string path ABSL_GUARDED_BY(mu);
  std::atomic<std::shared_ptr<const NameSet>> names{std::make_shared<const NameSet>()};
  std::atomic<int64_t> next_read_ms{0};
};
Followed& FollowedFile() {
  static auto* followed = new Followed();
  return *followed;
}

std::shared_ptr<const NameSet> FollowedNames() {
  Followed& followed = FollowedFile();
  int64_t now = MonotonicMs();  // a wall clock set back would stop the reads for as long
  int64_t due = followed.next_read_ms.load();
  // One caller a second reads the file (a few dozen bytes per dead node); the others take the
  // set it read last.
  if (now >= due && followed.next_read_ms.compare_exchange_strong(due, now + 1'000)) {
    absl::MutexLock lock(&followed.mu);
    if (!followed.path.empty()) {
      auto text = ReadFileToString(followed.path);
      followed.names.store(std::make_shared<const NameSet>(text.ok() ? ParseNames(*text) : NameSet()));
    }
  }
  return followed.names.load();
}

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> MakeTokenMetadataProcessor(std::string service_name, std::string token,
                                                                        std::vector<std::string> join_methods) {
  return std::make_shared<TokenMetadataProcessor>(std::move(service_name), std::move(token), std::move(join_methods));
}

void RefuseCertificatesNamed(std::string common_name) {
  auto& names = RefusedNames();
  std::shared_ptr<const NameSet> current = names.load();
  while (!current->contains(common_name)) {
    auto copy = std::make_shared<NameSet>(*current);
    copy->insert(common_name);
    std::shared_ptr<const NameSet> next = std::move(copy);
    if (names.compare_exchange_weak(current, next)) {
      Publish(*next);
      return;
    }
  }
}

void PublishRefusedNamesTo(std::string path) {
  {
    Published& published = PublishedFile();
    absl::MutexLock lock(&published.mu);
    published.path = std::move(path);
  }
  Publish(*RefusedNames().load());
}

void FollowRefusedNames(std::string path) {
  Followed& followed = FollowedFile();
  {
    absl::MutexLock lock(&followed.mu);
    followed.path = std::move(path);
  }
  followed.names.store(std::make_shared<const NameSet>());
  followed.next_read_ms.store(0);  // read at the next call
}

std::string PeerCertificateName(const grpc::AuthContext& context) {
  std::vector<grpc::string_ref> names = context.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  return names.empty() ? "" : std::string(names.front().data(), names.front().size());
}

bool CertificateNameRefused(absl::string_view common_name) {
  return RefusedNames().load()->contains(common_name) || FollowedNames()->contains(common_name);
}

}  // namespace orrery::rpc
