// Writes the seed corpora of the fuzz targets (corpus/<target>/), valid inputs made by the real
// encoders (Serialize, ObjectRef packing, EncodeFrame, PackDirectory, the session writers) and a
// few malformed ones next to them, each in its target's input layout (see each fuzz_*.cc).
// Not a test: run by hand when a target's input layout changes,
//   cmake --build build/release --target fuzz_make_seeds && build/release/bin/fuzz_make_seeds tests/fuzz/corpus
// Files are named by what they hold, so a rerun overwrites its own seeds and keeps the rest.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "orrery/api.h"
#include "orrery/node_manager.pb.h"
#include "orrery/object_store.pb.h"
#include "tests/fuzz/counting_runtime.h"
#include "tests/fuzz/fuzz_point.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/testing/daemon_services.h"

#include "google/protobuf/message.h"
#include "src/common/directory_package.h"
#include "src/common/session.h"
#include "src/object_store/wire.h"

namespace orrery::fuzz {
namespace {

namespace fs = std::filesystem;
using internal::Serialize;

fs::path g_root;

void Seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_root / target);
  std::ofstream(g_root / target / name, std::ios::binary) << bytes;
}

std::string Byte(int b) { return std::string(1, static_cast<char>(b)); }
// FuzzInput::TakeString's layout: a two-byte big-endian length, then the bytes.
std::string Sized(const std::string& bytes) { return Byte(bytes.size() >> 8) + Byte(bytes.size() & 0xff) + bytes; }
std::string LittleEndian(uint64_t value, int width) {
  std::string out;
  for (int i = 0; i < width; ++i) out += Byte((value >> (8 * i)) & 0xff);
  return out;
}

// ---- msgpack_args: function byte, then per argument a format byte (value % 4 + 1) and payload ----

template <typename T>
std::string Arg(const T& value) {
  internal::SerializedValue v = Serialize(value);
  return Byte(static_cast<int>(v.format) - 1) + Sized(v.payload);
}
std::string RawArg(int format, const std::string& payload) { return Byte(format - 1) + Sized(payload); }

void MsgpackArgs() {
  const std::string t = "msgpack_args";
  Seed(t, "int", Byte(0) + Arg(42));
  Seed(t, "string", Byte(1) + Arg(std::string("hello, worker")));
  Seed(t, "doubles", Byte(2) + Arg(std::vector<double>{1.5, -2.0, 1e300}));
  Seed(t, "bytes", Byte(3) + Arg(std::vector<uint8_t>{0, 1, 2, 255}));
  Seed(t, "struct", Byte(4) + Arg(Point{1, 2, "p", {3, 4}}));
  Seed(t, "tuple", Byte(5) + Arg(std::make_tuple(int64_t{-7}, std::string("seven"), true)));
  Seed(t, "map", Byte(6) + Arg(std::map<std::string, std::vector<int64_t>>{{"a", {1, 2}}, {"b", {}}}));
  Seed(t, "bools", Byte(7) + Arg(std::vector<bool>{true, false, true}));
  Seed(t, "two", Byte(8) + Arg(3) + Arg(std::string("three")));
  Seed(t, "nothing", Byte(9));
  // Malformed: the wrong format, a partial element, a truncated struct, a huge claimed array, deep nesting.
  Seed(t, "bad-int-raw", Byte(0) + RawArg(1, "1234"));
  Seed(t, "bad-doubles-7-bytes", Byte(2) + RawArg(1, "1234567"));
  std::string point = Serialize(Point{1, 2, "p", {3, 4}}).payload;
  Seed(t, "bad-struct-truncated", Byte(4) + RawArg(2, point.substr(0, point.size() - 2)));
  Seed(t, "bad-map-huge-array",
       Byte(6) + RawArg(2,
                        "\x81\xa1"
                        "a\xdd\xff\xff\xff\xff"));
  Seed(t, "bad-deep-nesting", Byte(5) + RawArg(2, std::string(300, '\x91') + "\x01"));
  Seed(t, "bad-two-one-arg", Byte(8) + Arg(3));
  Seed(t, "bad-error-format", Byte(0) + RawArg(3, "boom"));
}

// ---- object_ref: a byte choosing the type, then the msgpack bytes ----

template <typename T>
std::string Packed(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

void ObjectRefs() {
  const std::string t = "object_ref";
  ObjectRef<int> ref = Put(1);
  ObjectRef<std::string> text = Put(std::string("x"));
  ObjectRef<std::vector<double>> doubles = Put(std::vector<double>{1});
  Seed(t, "one", Byte(0) + Packed(ref));
  Seed(t, "one-deserialized", Byte(1) + Packed(ref));
  Seed(t, "vector", Byte(2) + Packed(std::vector<ObjectRef<std::string>>{text, text}));
  Seed(t, "tuple", Byte(3) + Packed(std::make_tuple(5, doubles)));
  // Malformed: a short id (the issue-23 regression), a str for a bin, three elements, not an array.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(2);
  packer.pack_bin(5);
  packer.pack_bin_body("short", 5);
  packer.pack_bin(0);
  Seed(t, "bad-short-id", Byte(0) + std::string(buffer.data(), buffer.size()));
  std::string one = Packed(ref);
  Seed(t, "bad-three-elements", Byte(0) + "\x93" + one.substr(1) + "\xc0");
  Seed(t, "bad-str-id", Byte(1) + Packed(std::make_tuple(std::string(ObjectId::kSize, 'i'), std::string("o"))));
  Seed(t, "bad-not-array", Byte(2) + Packed(7));
}

// ---- store_protocol: mode byte (1: framed pieces, 0: raw stream) ----

std::string Framed(const std::vector<rpc::StoreRequest>& requests) {
  std::string out = Byte(1);
  for (const auto& request : requests) out += Sized(request.SerializeAsString());
  return out;
}

void StoreProtocol() {
  const std::string t = "store_protocol";
  const std::string id = ObjectId::FromRandom().Binary();
  rpc::StoreRequest create, seal, get, contains, release, del, abort, stats, wait_forever, huge;
  create.set_request_id(1);
  create.mutable_create()->set_object_id(id);
  create.mutable_create()->set_data_size(100);
  create.mutable_create()->set_metadata_size(10);
  create.mutable_create()->set_primary(true);
  seal.mutable_seal()->set_object_id(id);
  get.set_request_id(2);
  get.mutable_get()->add_object_ids(id);
  contains.set_request_id(3);
  contains.mutable_contains()->set_object_id(id);
  release.mutable_release()->set_object_id(id);
  del.mutable_delete_()->add_object_ids(id);
  abort.mutable_abort()->set_object_id(id);
  stats.set_request_id(4);
  stats.mutable_stats();
  wait_forever.set_request_id(5);
  wait_forever.mutable_get()->add_object_ids(ObjectId::FromRandom().Binary());
  wait_forever.mutable_get()->set_timeout_ms(-1);
  huge = create;
  huge.mutable_create()->set_data_size(uint64_t{1} << 62);
  huge.mutable_create()->set_wait_ms(1000);
  Seed(t, "lifecycle", Framed({create, seal, get, contains, release, del, stats}));
  Seed(t, "create-abort", Framed({create, abort, contains}));
  Seed(t, "create-unsealed-left", Framed({create}));
  Seed(t, "get-forever", Framed({wait_forever}));
  Seed(t, "huge-create", Framed({huge, stats}));
  Seed(t, "raw-lifecycle",
       Byte(0) + object_store::EncodeFrame(create) + object_store::EncodeFrame(seal) + object_store::EncodeFrame(get));
  Seed(t, "bad-huge-frame", Byte(0) + "\xff\xff\xff\xff" + "garbage");
  Seed(t, "bad-no-op", Framed({rpc::StoreRequest()}));
  rpc::StoreRequest bad_id = get;
  bad_id.mutable_get()->set_object_ids(0, "short");
  Seed(t, "bad-short-id", Framed({bad_id}));
}

// ---- object_data: mode 0 raw to the server, 1 built request, 2 raw to the reader ----

void ObjectData() {
  const std::string t = "object_data";
  const std::string id(ObjectId::kSize, kObjectDataIdByte);
  rpc::ObjectDataRequest request;
  request.set_token(kObjectDataToken);
  request.set_object_id(id);
  request.set_offset(1000);
  Seed(t, "server-good", Byte(0) + object_store::EncodeFrame(request));
  request.set_token("wrong");
  Seed(t, "server-wrong-token", Byte(0) + object_store::EncodeFrame(request));
  Seed(t, "server-oversized", Byte(0) + LittleEndian(5000, 4) + std::string(100, 'x'));
  Seed(t, "server-truncated", Byte(0) + object_store::EncodeFrame(request).substr(0, 10));
  // Built: choices % 3 picks the token (0: right), (choices / 3) % 2 the id (0: the object's).
  Seed(t, "built-good-offset-0", Byte(1) + Byte(0) + LittleEndian(0, 8));
  Seed(t, "built-past-end", Byte(1) + Byte(0x80) + std::string(8, '\xff'));
  Seed(t, "built-other-id", Byte(1) + Byte(3) + Sized(ObjectId::FromRandom().Binary()) + LittleEndian(0, 8));
  Seed(t, "built-fuzzed-token", Byte(1) + Byte(2) + Sized("almost-the-token") + LittleEndian(0, 8));
  rpc::ObjectDataHeader header;
  header.set_data_size(3000);
  header.set_metadata("meta");
  Seed(t, "reader-good", Byte(2) + object_store::EncodeFrame(header));
  header.set_code(5);
  header.set_message("object not here");
  Seed(t, "reader-refused", Byte(2) + object_store::EncodeFrame(header));
  Seed(t, "reader-oversized", Byte(2) + "\x00\x00\x20\x00");
}

// ---- directory_package: the package's bytes ----

std::string Entry(char type, uint32_t mode, const std::string& path, const std::string& payload) {
  return std::string(1, type) + LittleEndian(mode, 4) + LittleEndian(path.size(), 4) + path +
         LittleEndian(payload.size(), 8) + payload;
}
std::string Package(const std::vector<std::string>& entries) {
  std::string out = std::string("ORRPKG1\n", 8) + LittleEndian(entries.size(), 8);
  for (const auto& e : entries) out += e;
  return out;
}

void DirectoryPackages() {
  const std::string t = "directory_package";
  TempDir dir;
  fs::create_directories(dir.path() / "src/empty");
  std::ofstream(dir.path() / "src/main.py") << "print('hi')\n";
  std::ofstream(dir.path() / "run.sh") << "#!/bin/sh\n";
  chmod((dir.path() / "run.sh").c_str(), 0755);
  fs::create_symlink("src/main.py", dir.path() / "link");
  Seed(t, "packed-tree", PackDirectory(dir.path().string(), 1 << 20)->bytes);
  Seed(t, "empty", Package({}));
  Seed(t, "bad-dotdot", Package({Entry('f', 0644, "../escape", "x")}));
  Seed(t, "bad-absolute", Package({Entry('f', 0644, "/tmp/escape", "x")}));
  Seed(t, "bad-below-symlink", Package({Entry('l', 0, "l", "/tmp"), Entry('f', 0644, "l/escape", "x")}));
  Seed(t, "bad-repeated", Package({Entry('d', 0755, "a", ""), Entry('f', 0644, "a", "x")}));
  Seed(t, "bad-trailing", Package({Entry('f', 0644, "a", "x")}) + "!");
  Seed(t, "bad-huge-count", std::string("ORRPKG1\n", 8) + std::string(8, '\xff'));
  Seed(t, "bad-huge-length",
       std::string("ORRPKG1\n", 8) + LittleEndian(1, 8) + "f" + LittleEndian(0644, 4) + std::string(4, '\xff'));
  Seed(t, "readonly-dir", Package({Entry('d', 0500, "ro", ""), Entry('f', 0400, "ro/f", "x")}));
}

// ---- config_table: lines (arguments; ORRERY_NAME=value lines also variables) ----

void ConfigTables() {
  const std::string t = "config_table";
  Seed(t, "prefixed", "--orrery_flag\n--orrery_small=5\nuser-arg\n--orrery_list\na,b,c\n--orrery_ratio=0.25\n");
  Seed(t, "bool-then-user", "--orrery_flag\nfalse\n--orrery_name=n\n");
  Seed(t, "cli", "--large\n9223372036854775807\n--ratio\n1e300\n--flag\n--name\nx y\n--token\nsecret\n");
  Seed(t, "environment", "ORRERY_SMALL=7\nORRERY_LIST=\nORRERY_FLAG=on\nORRERY_TOKEN=hidden\n");
  Seed(t, "bad-values", "--orrery_small=99999999999\n--orrery_ratio=abc\n--orrery_unknown=1\n");
  Seed(t, "bad-missing-value", "--orrery_large");
}

// ---- session_files: a byte choosing the file (0 cluster, 1 settings, 2 storage, 3 token, 4 pid) ----

std::string ReadBack(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

void SessionFiles() {
  const std::string t = "session_files";
  TempDir dir;
  SessionDir session(dir.path().string());
  (void)session.EnsureLayout();
  ClusterRecord record{"10.0.0.1:6379", "abcdef", "0.1.0", 1700000000000, true, "00ff"};
  (void)WriteClusterRecord(session, record);
  Seed(t, "cluster", Byte(0) + ReadBack(session.ClusterFile()));
  NodeId node = NodeId::FromRandom();
  fs::create_directories(session.NodeDir(node));
  (void)WriteNodeSettings(session, node, NodeSettings{30000, true});
  Seed(t, "settings", Byte(1) + ReadBack(session.NodeSettingsFile(node)));
  (void)WriteGcsStorageRecord(session, "rocksdb:///tmp/gcs");
  Seed(t, "storage", Byte(2) + ReadBack(session.GcsStorageFile()));
  (void)WriteToken(session.TokenFile(), GenerateToken());
  Seed(t, "token", Byte(3) + ReadBack(session.TokenFile()));
  Seed(t, "token-readable", Byte(0x83) + ReadBack(session.TokenFile()));
  Seed(t, "pid", Byte(4) + "4242 123456\n");
  // Malformed: fields of the wrong type, not an object, not JSON, an empty token, a bad pid.
  Seed(t, "bad-cluster-types", Byte(0) + R"({"gcs_address":"h:1","created_ms":"soon","head":1,"cluster_id":7})");
  Seed(t, "bad-settings-types", Byte(1) + R"({"gcs_lost_timeout_ms":1e300,"bind_all":"yes"})");
  Seed(t, "bad-cluster-array", Byte(0) + "[1,2]");
  Seed(t, "bad-settings-not-json", Byte(1) + "{\"gcs_lost");
  Seed(t, "bad-token-blank", Byte(3) + " \n\t");
  Seed(t, "bad-pid", Byte(4) + "-1 x y\n");
}

// Every field set, to a value of the right shape: an id of its kind's size, one element of a
// list, nested messages three deep. What a handler reads first is then there to read.
void Fill(google::protobuf::Message& message, int depth) {
  using google::protobuf::FieldDescriptor;
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->containing_oneof() != nullptr && field->index_in_oneof() != 0) continue;
    const std::string& name = field->name();
    bool repeated = field->is_repeated();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 3) {
          Fill(repeated ? *reflection->AddMessage(&message, field) : *reflection->MutableMessage(&message, field),
               depth + 1);
        }
        break;
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string value = "x";
        if (field->type() == FieldDescriptor::TYPE_BYTES && name.size() >= 2 && name.substr(name.size() - 2) == "id") {
          size_t size = name.find("job_id") != std::string::npos       ? JobId::kSize
                        : name.find("object_id") != std::string::npos ? ObjectId::kSize
                                                                       : NodeId::kSize;
          value = std::string(size, 'i');
        }
        repeated ? reflection->AddString(&message, field, value) : reflection->SetString(&message, field, value);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT32:
        repeated ? reflection->AddInt32(&message, field, 1) : reflection->SetInt32(&message, field, 1);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        repeated ? reflection->AddInt64(&message, field, 1) : reflection->SetInt64(&message, field, 1);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        repeated ? reflection->AddUInt32(&message, field, 1) : reflection->SetUInt32(&message, field, 1);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        repeated ? reflection->AddUInt64(&message, field, 1) : reflection->SetUInt64(&message, field, 1);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        repeated ? reflection->AddDouble(&message, field, 1) : reflection->SetDouble(&message, field, 1);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        repeated ? reflection->AddFloat(&message, field, 1) : reflection->SetFloat(&message, field, 1);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        repeated ? reflection->AddBool(&message, field, true) : reflection->SetBool(&message, field, true);
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* type = field->enum_type();
        const auto* value = type->value(type->value_count() > 1 ? 1 : 0);
        repeated ? reflection->AddEnum(&message, field, value) : reflection->SetEnum(&message, field, value);
        break;
      }
    }
  }
}

// fuzz_daemon_services.cc: "Service.Method\n" and the request, for every method: an empty
// request, and one with every field set.
void DaemonServices() {
  for (const auto* method : testing::AllMethods()) {
    std::string line = method->service()->name() + "." + method->name();
    Seed("daemon_services", line + ".empty", line + "\n");
    std::unique_ptr<google::protobuf::Message> request(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type())->New());
    Fill(*request, 0);
    Seed("daemon_services", line + ".filled", line + "\n" + request->SerializeAsString());
  }
}

}  // namespace
}  // namespace orrery::fuzz

int main(int argc, char** argv) {
  using namespace orrery::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  MsgpackArgs();
  ObjectRefs();
  StoreProtocol();
  ObjectData();
  DirectoryPackages();
  ConfigTables();
  SessionFiles();
  DaemonServices();
  return 0;
}
