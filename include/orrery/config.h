/// orrery::Config: how Init() starts or joins a cluster.
///
///   orrery::Config config;
///   config.address = "10.0.0.4:6391";   // join; leave empty to start a local cluster
///   orrery::Init(config, argc, argv);   // --orrery_* flags override fields
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "orrery/runtime_env.h"

namespace orrery {

/// How long an actor lives. NON_DETACHED: until its handles are gone, or its owner (the
/// process that created it) dies. DETACHED: until it is killed, or exits, or the cluster stops.
enum class ActorLifetime { NON_DETACHED, DETACHED };

struct Config {
  /// HOST:PORT of the cluster's GCS. Empty: ORRERY_ADDRESS, else Init() starts a local cluster
  /// (a head on this host, with free ports) and Shutdown() stops it.
  std::string address;
  /// The cluster token. Empty: ORRERY_TOKEN, else the local session's token file.
  std::string token;
  /// Whether this driver speaks mutual TLS with the cluster (docs/security.md). false (or
  /// ORRERY_TLS=false, or --orrery_tls=false) is for a trusted network only: the token and values
  /// then cross it in clear text, and Init() warns. A local cluster Init() starts runs as this
  /// says (as with head_args --tls=off); a cluster joined must run the same way (its daemons with
  /// --tls=off when false, TLS on when true), else Init() refuses it, saying which side is plain.
  bool tls = true;
  /// Local mode: run everything in this process, without daemons, for debugging with an
  /// ordinary debugger: tasks on a thread pool, each actor on threads of its own, values in
  /// memory. address, token, working_dir and runtime_env are not used; head_args' --num-cpus,
  /// --num-gpus and --resources give the one local node's resources. See docs/api.md.
  bool local_mode = false;
  /// Library mode: shared libraries (or folders of them) holding the remote functions, loaded
  /// by the generic `orrery-worker`. Empty: single-binary mode (this program is the worker).
  /// With a working_dir, a relative path is relative to it, on every node.
  std::vector<std::string> code_search_path;
  /// A folder shipped to every node the job's workers run on: Init() packs it and stores it in
  /// the GCS (by content, so an unchanged folder is not sent twice); each node fetches and
  /// unpacks it once, and the job's workers start in it. A program inside it (this program, in
  /// single-binary mode) runs from the copy there. Empty: workers start in the raylet's folder.
  std::string working_dir;
  /// The largest working_dir, packed, that Init() accepts (at most 256 MiB, the RPC limit).
  int64_t working_dir_max_bytes = 100LL << 20;
  /// The environment of every worker of the job (tasks and actors add to it: SetRuntimeEnv).
  RuntimeEnv runtime_env;
  /// Extra `orrery start` flags for a local cluster Init() starts, e.g. {"--num-cpus", "2"}.
  std::vector<std::string> head_args;
  /// The lifetime of the job's actors that do not set one (ActorCreator::SetLifetime).
  ActorLifetime default_actor_lifetime = ActorLifetime::NON_DETACHED;
  /// The job's namespace. Empty: a random one.
  std::string job_namespace;
  /// Root of sessions on this host. Empty: ORRERY_TEMP_DIR, else /tmp/orrery.
  std::string temp_dir;
  /// Log level of this process's runtime log: trace, debug, info, warn, error.
  std::string log_level = "info";
  /// Values (Put, large arguments, the job's tasks' results) of at least this many bytes go to
  /// the node's shared-memory object store; smaller ones travel inline.
  int64_t max_inline_object_bytes = 100 << 10;
  /// How long a Put waits for room in a full object store before ObjectStoreFullError.
  int64_t object_store_full_wait_ms = 10'000;
  /// How many bytes of lineage (the specs of the tasks that made its objects in the object
  /// store) each process of the job keeps, to make an object again when every copy of it is
  /// lost with its node. Past it the oldest lineage goes, and its object cannot be made again
  /// (ObjectReconstructionFailedLineageEvictedError).
  int64_t max_lineage_bytes = 1LL << 30;
  /// Whether the job's driver and workers record task events, which `orrery list tasks`,
  /// `orrery summary tasks` and `orrery timeline` show. Off saves each task four small events.
  bool task_events = true;
};

}  // namespace orrery
