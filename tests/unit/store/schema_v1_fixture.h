// The content of tests/fixtures/store/schema_v1.db, shared by its generator
// (tests/tools/store_make_v1_fixture.cc) and the migration test, which rebuilds the same
// records through today's API and expects an identical StateHash after the upgrade.
#pragma once

#include <cstdint>
#include <vector>

#include "tests/unit/store/store_test_util.h"

namespace estelik::store::testing::v1fixture {

inline std::string AttachmentId() { return std::string(15, '\x22') + '\x01'; }

// T1: edited once (two versions), circle scope, dated, tagged.
inline pb::TestimonyFields T1V1() {
  pb::TestimonyFields f = Fields("Жаңаөзен, 16 желтоқсан", "Біз Жаңаөзен алаңында тұрдық.", "kk");
  f.add_tags("strike");
  f.add_places("Жаңаөзен");
  f.add_people("Роза");
  f.mutable_event_dates()->set_from("2011-12-16");
  f.mutable_event_dates()->set_to("2011-12-17");
  f.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  return f;
}
inline pb::TestimonyFields T1V2() {
  pb::TestimonyFields f = T1V1();
  f.set_body("Біз Жаңаөзен алаңында тұрдық. Содан кейін атыс басталды.");
  return f;
}
inline constexpr uint64_t kT1EditWall = 2000;

// T2: Russian, one version, one audio attachment of three chunks.
inline pb::TestimonyFields T2() {
  pb::TestimonyFields f = Fields("Актау, январь", "Нас задержали у акимата.", "ru");
  f.add_tags("arrest");
  f.add_places("Актау");
  f.mutable_event_dates()->set_from("2022-01");
  return f;
}
inline pb::AttachmentInfo T2AttachmentMeta() {
  pb::AttachmentInfo m;
  m.set_attachment_id(AttachmentId());
  m.set_testimony_id(Id(2));
  m.set_name("interview.m4a");
  m.set_media_type("audio/mp4");
  m.set_kind(pb::ATTACHMENT_KIND_AUDIO);
  m.set_author(Author(1));
  *m.mutable_added() = Hlc(2500);
  return m;
}
inline std::vector<uint8_t> T2AttachmentData() {
  std::vector<uint8_t> v(2 * kChunkSize + 100);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 7 + (i >> 11));
  return v;
}

// T3: withdrawn.
inline pb::TestimonyFields T3() { return Fields("withdrawn title", "withdrawn body", "en"); }
inline constexpr uint64_t kT3WithdrawWall = 3000;

}  // namespace estelik::store::testing::v1fixture
