// orrery-test-store-client: a separate process that uses a raylet's object store through the
// real client, for the object store's integration tests. One command per run:
//   put SOCKET ID SIZE FILL [hold|owner=WORKER_ID]
//                                  create, fill every byte with FILL, seal; with `hold`, then
//                                  get it back and keep it mapped until killed; with `owner=`,
//                                  the object belongs to that worker
//   half SOCKET ID SIZE            create, write half, then wait to be killed mid-write
//   get SOCKET ID SIZE FILL TIMEOUT_MS
//                                  get and check every byte (exit 3: missing, 4: wrong bytes)
//   race SOCKET TASK_ID            create-or-find 20 shared ids (TASK_ID's returns 1..20) and
//                                  50 private ones at once with other racers, check them all
// It prints one word when it gets there ("sealed", "holding", "writing", "ok"); errors go to
// stderr as "error: ..." with exit code 2.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "src/object_store/store_client.h"

namespace {

using orrery::ObjectId;
using orrery::object_store::StoreClient;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(2);
}

void Say(const char* word) {
  std::printf("%s\n", word);
  std::fflush(stdout);
}

ObjectId ParseId(const char* hex) {
  auto id = ObjectId::FromHex(hex);
  if (!id.ok()) Fail("bad object id " + std::string(hex));
  return *id;
}

bool AllBytesAre(const uint8_t* data, uint64_t size, uint8_t fill) {
  return std::all_of(data, data + size, [fill](uint8_t b) { return b == fill; });
}

// Creates, fills and seals; AlreadyExists is returned, other errors fail the process.
absl::Status Put(StoreClient& client, const ObjectId& id, uint64_t size, uint8_t fill,
                 const orrery::WorkerId& owner = orrery::WorkerId()) {
  auto object = client.Create(id, size, 0, /*primary=*/true, /*wait_ms=*/10'000, owner);
  if (!object.ok()) return object.status();
  std::memset((*object)->data, fill, size);
  return client.Seal(**object);
}

int Race(StoreClient& client, const char* task_hex) {
  auto task = orrery::TaskId::FromHex(task_hex);
  if (!task.ok()) Fail("bad task id");
  for (uint32_t k = 1; k <= 20; ++k) {
    absl::Status put = Put(client, orrery::ObjectIdOf(*task, k), 4096 * k, static_cast<uint8_t>(k));
    if (!put.ok() && put.code() != absl::StatusCode::kAlreadyExists) Fail(std::string(put.message()));
  }
  for (int i = 0; i < 50; ++i) {
    ObjectId mine = orrery::ObjectIdOf(orrery::TaskId::FromRandom(), 1);
    if (absl::Status put = Put(client, mine, 1000 + i, static_cast<uint8_t>(i)); !put.ok()) {
      Fail(std::string(put.message()));
    }
    auto got = client.Get({mine}, 0);
    if (!got.ok() || (*got)[0] == nullptr || !AllBytesAre((*got)[0]->data, 1000 + i, static_cast<uint8_t>(i))) {
      Fail("a private object did not read back");
    }
    if (!client.Delete({mine}).ok()) Fail("delete failed");
  }
  for (uint32_t k = 1; k <= 20; ++k) {
    auto got = client.Get({orrery::ObjectIdOf(*task, k)}, 10'000);
    if (!got.ok()) Fail(std::string(got.status().message()));
    const auto& buffer = (*got)[0];
    if (buffer == nullptr) Fail("shared object " + std::to_string(k) + " never appeared");
    if (buffer->data_size != 4096 * k || !AllBytesAre(buffer->data, buffer->data_size, static_cast<uint8_t>(k))) {
      Fail("shared object " + std::to_string(k) + " has the wrong bytes");
    }
  }
  Say("ok");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) Fail("usage: put|half|get|race SOCKET ...");
  const std::string command = argv[1];
  auto client = StoreClient::Connect(argv[2]);
  if (!client.ok()) Fail(std::string(client.status().message()));
  if (command == "race") return Race(**client, argv[3]);
  if (argc < 5) Fail("missing SIZE");
  const ObjectId id = ParseId(argv[3]);
  const uint64_t size = std::strtoull(argv[4], nullptr, 10);
  if (command == "put" && argc >= 6) {
    const auto fill = static_cast<uint8_t>(std::atoi(argv[5]));
    const std::string option = argc >= 7 ? argv[6] : "";
    orrery::WorkerId owner;
    if (option.rfind("owner=", 0) == 0) {
      auto parsed = orrery::WorkerId::FromHex(option.substr(6));
      if (!parsed.ok()) Fail("bad owner id");
      owner = *parsed;
    }
    if (absl::Status put = Put(**client, id, size, fill, owner); !put.ok()) Fail(std::string(put.message()));
    Say("sealed");
    if (option == "hold") {
      auto held = (*client)->Get({id}, 0);
      if (!held.ok() || (*held)[0] == nullptr) Fail("could not get back what it put");
      Say("holding");
      for (;;) pause();
    }
    return 0;
  }
  if (command == "half") {
    auto object = (*client)->Create(id, size, 0, /*primary=*/true, 0);
    if (!object.ok()) Fail(std::string(object.status().message()));
    std::memset((*object)->data, 7, size / 2);
    Say("writing");
    for (;;) pause();
  }
  if (command == "get" && argc >= 7) {
    const auto fill = static_cast<uint8_t>(std::atoi(argv[5]));
    auto got = (*client)->Get({id}, std::atoll(argv[6]));
    if (!got.ok()) Fail(std::string(got.status().message()));
    if ((*got)[0] == nullptr) {
      Say("missing");
      return 3;
    }
    if ((*got)[0]->data_size != size || !AllBytesAre((*got)[0]->data, size, fill)) {
      Say("corrupt");
      return 4;
    }
    Say("ok");
    return 0;
  }
  Fail("unknown command " + command);
}
