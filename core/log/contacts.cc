// OpLog's contacts: each change is also a private op, so it is in the history.
#include "core/log/op_log_impl.h"

namespace estelik::log {

using internal::AppendLocked;
using internal::AppendSpec;
using internal::ToKey;
using internal::ToString;
using internal::Transact;
using sql::Stmt;

// ---- Contacts ----

Result<pb::Envelope> OpLog::AddContact(const PublicKey& key, const std::string& name,
                                       uint64_t physical_ms) {
  ESTELIK_RETURN_IF_ERROR(X25519FromEd25519(key).status());
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    pb::OpBody body;
    body.mutable_contact_add()->set_public_key(ToString(key));
    body.mutable_contact_add()->set_name(name);
    AppendSpec spec{&body, "", 0, impl_->private_key.span(), {}};
    ESTELIK_ASSIGN_OR_RETURN(pb::Envelope env,
                             AppendLocked(*impl_, identity_, clock_, spec, physical_ms));
    ESTELIK_ASSIGN_OR_RETURN(
        auto s_h,
        impl_->stmts.Get(
            "INSERT INTO log_contacts(public_key, name, added_wall, added_counter) "
            "VALUES(?,?,?,?) ON CONFLICT(public_key) DO UPDATE SET name = excluded.name"));
    Stmt& s = *s_h;
    s.BindBlob(1, key).BindText(2, name).BindInt(3, static_cast<int64_t>(clock_.last().wall_ms()));
    s.BindInt(4, clock_.last().counter());
    ESTELIK_RETURN_IF_ERROR(s.Run());
    return env;
  });
}

Result<pb::Envelope> OpLog::RemoveContact(const PublicKey& key, uint64_t physical_ms) {
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    ESTELIK_ASSIGN_OR_RETURN(auto d_h,
                             impl_->stmts.Get("DELETE FROM log_contacts WHERE public_key = ?"));
    Stmt& d = *d_h;
    d.BindBlob(1, key);
    ESTELIK_RETURN_IF_ERROR(d.Run());
    if (sqlite3_changes(impl_->db) == 0) return NotFound("no such contact");
    pb::OpBody body;
    body.mutable_contact_remove()->set_public_key(ToString(key));
    AppendSpec spec{&body, "", 0, impl_->private_key.span(), {}};
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

Result<std::vector<Contact>> OpLog::Contacts() {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get(
          "SELECT public_key, name, added_wall, added_counter FROM log_contacts ORDER BY name, "
          "public_key"));
  Stmt& s = *s_h;
  std::vector<Contact> out;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    Contact c;
    c.public_key = ToKey(row.Blob(0));
    c.name = row.Text(1);
    c.added.set_wall_ms(static_cast<uint64_t>(row.Int(2)));
    c.added.set_counter(static_cast<uint32_t>(row.Int(3)));
    out.push_back(std::move(c));
  }));
  return out;
}

}  // namespace estelik::log
