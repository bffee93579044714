// A C++ shell (Qt, NDK, Objective-C++ alike) that links its own libprotobuf and its own
// generated classes for the engine's schema (proto/record.proto, compiled by this test's build,
// not the engine's), next to libestelik.so. If libestelik registered its descriptors in the
// app's libprotobuf, this program would abort before main ("File already exists in database:
// proto/common.proto"). Exits 0 when the app reads the engine's bytes with its own classes.
#include <google/protobuf/descriptor.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "estelik.h"
#include "proto/record.pb.h"

namespace {

int Fail(const char* what, const estelik_error& err) {
  std::fprintf(stderr, "%s: %s\n", what, err.message != nullptr ? err.message : "");
  return 1;
}

}  // namespace

int main() {
  // The app's own pool knows the schema: its generated classes registered it.
  if (google::protobuf::DescriptorPool::generated_pool()->FindFileByName("proto/record.proto") ==
      nullptr) {
    std::fprintf(stderr, "the app's own descriptors are missing\n");
    return 1;
  }
  char root[] = "/tmp/estelik-own-protobuf-XXXXXX";
  if (mkdtemp(root) == nullptr) return 2;
  const std::string dir = std::string(root) + "/vault";
  const char pass[] = "own protobuf app";
  estelik_error err = ESTELIK_ERROR_INIT;
  estelik_vault* vault = nullptr;
  if (estelik_vault_create(dir.c_str(), pass, std::strlen(pass), ESTELIK_KDF_TEST_ONLY, &vault,
                           &err) != ESTELIK_OK) {
    return Fail("create", err);
  }
  // Written with the app's classes, read by the engine, and back.
  estelik::pb::TestimonyFields fields;
  fields.set_language("en");
  fields.set_title("Own classes");
  fields.set_body("Serialized by the app's libprotobuf.");
  fields.add_tags("interop");
  const std::string bytes = fields.SerializeAsString();
  estelik_buffer out = {nullptr, 0};
  if (estelik_testimony_create(vault, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                               0, nullptr, &out, &err) != ESTELIK_OK) {
    return Fail("add", err);
  }
  estelik::pb::Testimony testimony;
  const bool parsed = testimony.ParseFromArray(out.data, static_cast<int>(out.size));
  estelik_buffer_free(&out);
  estelik_vault_close(vault);
  if (estelik_vault_wipe(dir.c_str(), &err) != ESTELIK_OK) return Fail("wipe", err);
  std::remove(root);
  if (!parsed || testimony.id().size() != 16 || testimony.fields().title() != "Own classes" ||
      testimony.fields().tags_size() != 1) {
    std::fprintf(stderr, "the engine's Testimony did not read back with the app's classes\n");
    return 1;
  }
  std::printf("an app with its own protobuf and generated classes works beside libestelik\n");
  return 0;
}
