#include "platform/cli/commands.h"

#include <cstdio>
#include <cstdlib>

#include "core/json.h"
#include "platform/cli/terminal.h"

namespace estelik::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalidArgument:
      return kExitUsage;
    case Code::kWrongPassphrase:
      return kExitWrongPassphrase;
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kCorrupt:
      return kExitCorrupt;
    default:
      return kExitError;
  }
}

Result<std::unique_ptr<archive::Archive>> Context::OpenArchive() const {
  if (vault_dir.empty()) return InvalidArgument("no vault: pass --vault DIR or set ESTELIK_VAULT");
  if (!vault::Vault::Exists(vault_dir)) {
    return NotFound("no vault in " + vault_dir + " (create one with `estelik init`)");
  }
  ESTELIK_ASSIGN_OR_RETURN(std::string passphrase, ReadPassphrase("Passphrase: "));
  return archive::Archive::Open(vault_dir, passphrase);
}

Status RunInit(const Context& ctx) {
  if (ctx.vault_dir.empty())
    return InvalidArgument("no vault: pass --vault DIR or set ESTELIK_VAULT");
  vault::VaultOptions options;
  std::string kdf = ctx.args.Get("kdf").value_or("moderate");
  if (kdf == "moderate") {
    options.kdf = vault::ModerateKdfParams();
  } else if (kdf == "interactive") {
    options.kdf = vault::InteractiveKdfParams();
  } else {
    return InvalidArgument("--kdf must be moderate (desktop default) or interactive (phones)");
  }
  std::string journal = ctx.args.Get("journal").value_or("wal");
  if (journal != "wal" && journal != "delete")
    return InvalidArgument("--journal must be wal or delete");
  options.wal = journal == "wal";
  if (vault::Vault::Exists(ctx.vault_dir)) {
    return AlreadyExists("a vault already exists in " + ctx.vault_dir);
  }
  ESTELIK_ASSIGN_OR_RETURN(std::string passphrase,
                           ReadNewPassphrase("New passphrase: ", "ESTELIK_PASSPHRASE"));
  ESTELIK_ASSIGN_OR_RETURN(auto archive,
                           archive::Archive::Create(ctx.vault_dir, passphrase, options));
  std::string identity = log::Fingerprint(archive->identity().public_key());
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Key("vault").String(ctx.vault_dir).Key("fingerprint").String(identity);
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::printf("Created vault in %s\nYour identity fingerprint: %s\n", ctx.vault_dir.c_str(),
                identity.c_str());
  }
  return Status::Ok();
}

Status RunPasswd(const Context& ctx) {
  if (ctx.vault_dir.empty())
    return InvalidArgument("no vault: pass --vault DIR or set ESTELIK_VAULT");
  ESTELIK_ASSIGN_OR_RETURN(std::string old_passphrase, ReadPassphrase("Current passphrase: "));
  ESTELIK_ASSIGN_OR_RETURN(auto archive, archive::Archive::Open(ctx.vault_dir, old_passphrase));
  ESTELIK_ASSIGN_OR_RETURN(std::string new_passphrase,
                           ReadNewPassphrase("New passphrase: ", "ESTELIK_NEW_PASSPHRASE"));
  ESTELIK_RETURN_IF_ERROR(archive->ChangePassphrase(old_passphrase, new_passphrase));
  if (ctx.json) {
    std::printf("{\"changed\":true}\n");
  } else {
    std::printf("Passphrase changed.\n");
  }
  return Status::Ok();
}

Status RunRekey(const Context& ctx) {
  if (ctx.vault_dir.empty())
    return InvalidArgument("no vault: pass --vault DIR or set ESTELIK_VAULT");
  ESTELIK_ASSIGN_OR_RETURN(std::string passphrase, ReadPassphrase("Current passphrase: "));
  ESTELIK_ASSIGN_OR_RETURN(auto archive, archive::Archive::Open(ctx.vault_dir, passphrase));
  std::string new_passphrase;
  if (ctx.args.Has("new-passphrase")) {
    ESTELIK_ASSIGN_OR_RETURN(new_passphrase,
                             ReadNewPassphrase("New passphrase: ", "ESTELIK_NEW_PASSPHRASE"));
  }
  ESTELIK_RETURN_IF_ERROR(archive::Archive::Rekey(archive, passphrase, new_passphrase));
  if (ctx.json) {
    std::printf("{\"rekeyed\":true,\"passphrase_changed\":%s}\n",
                new_passphrase.empty() ? "false" : "true");
  } else {
    std::printf("Vault re-encrypted under a new master key%s.\n",
                new_passphrase.empty() ? "" : " and a new passphrase");
  }
  return Status::Ok();
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"init",
       "create a new vault",
       "  --kdf moderate|interactive   Argon2id cost (default moderate; interactive for phones)\n"
       "  --journal wal|delete         SQLite journal mode (default wal)\n"
       "\nexample:\n  ESTELIK_PASSPHRASE='long passphrase' estelik --vault ~/vault init\n",
       {"kdf", "journal"},
       {},
       RunInit},
      {"add",
       "record a testimony (text and attachments)",
       "  --title T            title (required)\n"
       "  --body TEXT | --body-file F   the testimony (- reads stdin)\n"
       "  --lang L             language tag: kk, ru, en, kk-Latn ...\n"
       "  --tag T              a tag (repeatable)\n"
       "  --place P            a place mentioned (repeatable)\n"
       "  --person P           a person mentioned (repeatable)\n"
       "  --event-date D[..D]  when it happened: 2011-12-16 or 2011-12-16..2011-12-17\n"
       "  --attach FILE        an audio/video/photo/document file (repeatable)\n"
       "\nexample:\n  estelik add --title 'In the square' --body-file statement.txt --lang en \\\n"
       "      --place Zhanaozen --event-date 2011-12-16 --attach interview.m4a\n",
       {"title", "body", "body-file", "lang", "tag", "place", "person", "event-date", "attach"},
       {},
       RunAdd},
      {"edit",
       "make a new version of a testimony (earlier versions stay)",
       "  ID                   testimony id (or a unique prefix of 6+ hex digits)\n"
       "  --title, --body, --body-file, --lang, --tag, --place, --person, --event-date\n"
       "                       given fields replace the current ones; others are kept\n"
       "\nexample:\n  estelik edit 3fa4c1 --body-file corrected.txt\n",
       {"title", "body", "body-file", "lang", "tag", "place", "person", "event-date"},
       {},
       RunEdit},
      {"show", "show a testimony", "  ID\n\nexample:\n  estelik show 3fa4c1\n", {}, {}, RunShow},
      {"list",
       "list testimonies, newest first",
       "  --from D --to D      event date range\n"
       "  --tag T --place P --lang L   filters (repeatable; same flag = OR, different = AND)\n"
       "  --limit N            page size (default 50)\n"
       "  --cursor C           continue after a previous page (printed at its end)\n"
       "  --withdrawn          include withdrawn testimonies (tombstones)\n"
       "\nexample:\n  estelik list --place Aktau --from 2011-12-01 --to 2011-12-31\n",
       {"from", "to", "tag", "place", "lang", "limit", "cursor"},
       {"withdrawn"},
       RunList},
      {"history",
       "every version of a testimony, the original first",
       "  ID\n\nexample:\n  estelik history 3fa4c1\n",
       {},
       {},
       RunHistory},
      {"withdraw",
       "destroy a testimony's content, keeping only a tombstone",
       "  ID\n  --yes    do not ask for confirmation\n\nexample:\n  estelik withdraw 3fa4c1 "
       "--yes\n",
       {},
       {"yes"},
       RunWithdraw},
      {"export",
       "write an evidence bundle an investigator can verify offline",
       "  ID...           testimonies to export (ids or unique prefixes)\n"
       "  --out BUNDLE    the bundle folder to create (must not exist)\n"
       "\nThe bundle holds the signed ops of every version, edit, share and attachment, their\n"
       "plaintext, the attachment files, your public key and a custody report (custody.html,\n"
       "custody.json). It reveals the testimony to whoever holds it: hand it over only on\n"
       "purpose. A withdrawn testimony exports only its tombstone.\n"
       "\nexample:\n  estelik export 3fa4c1 --out ~/evidence/zhanaozen-3fa4c1\n",
       {"out"},
       {},
       RunExport},
      {"verify",
       "check an evidence bundle: no vault, no network, no passphrase",
       "  BUNDLE              the bundle folder\n"
       "  --exporter KEY      the key expected to have signed it (64 hex digits or QR text);\n"
       "                      needed unless the exporter is the author of every testimony\n"
       "                      in it; each testimony it did not author is marked: a member\n"
       "                      may have left out the author's later corrections\n"
       "\nPrints VERIFIED or FAILED with every problem found (a changed byte, a missing version,\n"
       "a swapped attachment, an added file, an exporter who is not the author and was not\n"
       "named); exits 5 on failure.\n"
       "\nexample:\n  estelik verify ~/evidence/zhanaozen-3fa4c1\n",
       {"exporter"},
       {},
       RunVerify},
      {"search",
       "ranked full-text search in every script",
       "  QUERY                words, \"a phrase\", prefix*, AND / OR / NOT\n"
       "  --from D --to D --tag T --place P --lang L --limit N --cursor C   as for list\n"
       "\nAny spelling of a name finds the others: Жаңаөзен, Жанаозен, Zhanaozen, Jañaözen.\n"
       "\nexample:\n  estelik search 'Жанаозен AND hospital'\n",
       {"from", "to", "tag", "place", "lang", "limit", "cursor"},
       {},
       RunSearch},
      {"attachment",
       "write an attachment of a testimony to a file (verified)",
       "  ID N                 testimony id and attachment number (1 = first)\n"
       "  --out FILE           where to write it (required)\n"
       "\nexample:\n  estelik attachment 3fa4c1 1 --out interview.m4a\n",
       {"out"},
       {},
       RunAttachment},
      {"import",
       "import testimonies from a JSONL file (one JSON object per line)",
       "  FILE                 JSONL with title, body, language, tags, places, people,\n"
       "                       event_date (the sample corpus format); - reads stdin\n"
       "\nexample:\n  estelik import corpus.jsonl\n",
       {},
       {},
       RunImport},
      {"id",
       "show this vault's identity: public key, fingerprint, QR payload",
       "  Give the QR payload to people who should add you as a contact.\n"
       "\nexample:\n  estelik id\n",
       {},
       {},
       RunId},
      {"contacts",
       "add, list or remove the people you sync with",
       "  add KEY [--name N]   KEY is their QR payload or public key (from `estelik id`)\n"
       "  list                 with the safety number to compare aloud\n"
       "  remove KEY\n"
       "\nexample:\n  estelik contacts add ESTELIK:1:9F3A...:1C2D --name Bolat\n",
       {"name"},
       {},
       RunContacts},
      {"circles",
       "create circles and manage who is in them",
       "  create NAME            you become its admin\n"
       "  add CIRCLE KEY         admin only; KEY must be a contact\n"
       "  remove CIRCLE KEY      admin only; starts a new circle key (epoch)\n"
       "  list\n"
       "CIRCLE is a circle's name or a prefix of its id.\n"
       "\nexample:\n  estelik circles create witnesses && estelik circles add witnesses 9f3a...\n",
       {},
       {},
       RunCircles},
      {"share",
       "share one of your testimonies into a circle",
       "  ID CIRCLE   the testimony (id or prefix) and the circle (name or id prefix)\n"
       "\nexample:\n  estelik share 3fa4c1 witnesses\n",
       {},
       {},
       RunShare},
      {"tag",
       "tag a testimony (any member of its circle may; a private one only you)",
       "  ID TAG   the testimony (id or prefix) and the tag\n"
       "Tags are add-wins: a tag someone adds while another member removes it survives.\n"
       "\nexample:\n  estelik tag 3fa4c1 strike\n",
       {},
       {},
       RunTag},
      {"untag",
       "remove a tag members added (the author's own tags change only by an edit)",
       "  ID TAG   removes every add of TAG this vault has seen\n"
       "\nexample:\n  estelik untag 3fa4c1 strike\n",
       {},
       {},
       RunUntag},
      {"annotate",
       "attach a note to a testimony (members of its circle see it)",
       "  ID TEXT      the testimony and the note\n"
       "  --lang TAG   the note's language (BCP 47), optional\n"
       "\nexample:\n  estelik annotate 3fa4c1 'matches the hospital records' --lang en\n",
       {"lang"},
       {},
       RunAnnotate},
      {"rebuild",
       "re-derive every table of the store from the signed op log",
       "  Prints the state hash before and after; if they differ nothing changes and the\n"
       "  command fails (the store was changed outside the log). Repairs search rows and stored\n"
       "  fields the hash does not cover. Attachment chunks are kept.\n"
       "\nexample:\n  estelik rebuild\n",
       {},
       {},
       RunRebuild},
      {"serve",
       "answer sync sessions from contacts until stopped (SIGINT/SIGTERM; SIGUSR1 panic-locks)",
       "  --listen HOST:PORT        address to listen on (e.g. 127.0.0.1:7420, 0.0.0.0:7420;\n"
       "                            port 0 picks a free port, printed on stdout)\n"
       "  --network-key-file F      the community's 32-byte network key, from a file only you\n"
       "                            can read (64 hex digits or 32 raw bytes); or set\n"
       "                            ESTELIK_NETWORK_KEY to the 64 hex digits (removed from the\n"
       "                            environment at start). Never on the command line: the old\n"
       "                            --network-key HEX is refused (ps shows arguments)\n"
       "  --discover                announce this server on the LAN (encrypted beacons;\n"
       "                            refused without a secret network key)\n"
       "Without a network key the public default is used: it separates Estelik from other\n"
       "protocols only. Only contacts get past the handshake. SIGUSR1 stops networking, wipes\n"
       "the vault keys from memory and exits at once (panic lock).\n"
       "\nexample:\n  estelik serve --listen 0.0.0.0:7420 --network-key-file ~/circle.key\n",
       {"listen", "network-key", "network-key-file"},
       {"discover"},
       RunServe},
      {"sync",
       "sync once (or continuously) with a contact's `estelik serve`",
       "  HOST:PORT                 the contact's server\n"
       "  --network-key-file F      the network key, as for serve (or ESTELIK_NETWORK_KEY)\n"
       "  --peer NAME|FINGERPRINT|KEY  the contact whose server it is (a contact's name,\n"
       "                            fingerprint or 64-hex public key); without it each\n"
       "                            contact is tried in turn, one connection each\n"
       "  --watch SECONDS           keep syncing every SECONDS, reconnecting with backoff,\n"
       "                            until interrupted\n"
       "Prints what was received and sent (ops, attachment chunks, bytes); --json for scripts.\n"
       "Exits non-zero with the reason if the session fails.\n"
       "\nexample:\n  estelik sync 192.168.1.20:7420 --network-key-file ~/circle.key\n",
       {"network-key", "network-key-file", "peer", "watch"},
       {},
       RunSync},
      {"wipe",
       "destroy the vault for good, in a second, without the passphrase",
       "  --yes    do not ask for confirmation\n"
       "\nBoth key slots are overwritten and synced first, so even a copy of the files taken\n"
       "earlier cannot be decrypted with the key file as it is now; then the files are deleted.\n"
       "\nexample:\n  estelik wipe --yes\n",
       {},
       {"yes"},
       RunWipe},
      {"duress",
       "set or clear a duress passphrase",
       "  set      the duress passphrase comes from ESTELIK_DURESS_PASSPHRASE or is asked twice\n"
       "  clear    remove it\n"
       "\nOpening the vault with the duress passphrase silently destroys the real vault and\n"
       "opens an empty one that works normally. The key file looks the same either way.\n"
       "\nexample:\n  estelik duress set\n",
       {},
       {},
       RunDuress},
      {"lock",
       "make every running process that holds the vault open drop its keys now",
       "  No passphrase needed. `estelik serve` and `estelik sync` processes of this vault\n"
       "  wipe their keys from memory and exit; the next use needs the passphrase.\n"
       "  Prints \"locked N process(es)\" or that nothing was unlocked.\n"
       "\nexample:\n  estelik lock\n",
       {},
       {},
       RunLock},
      {"guard",
       "wipe the vault after N consecutive wrong passphrases",
       "  set N    the Nth wrong passphrase in a row (any shell) wipes the vault, silently\n"
       "  clear    turn it off\n"
       "\nA correct passphrase (or the duress one) resets the count. It does not stop someone\n"
       "who copies the files before guessing; see docs/THREAT_MODEL.md.\n"
       "\nexample:\n  estelik guard set 10\n",
       {},
       {},
       RunGuard},
      {"settings",
       "show or change vault settings",
       "  (none)                   show them\n"
       "  auto-lock SECONDS        lock after SECONDS idle (0 = never); `serve` exits after\n"
       "                           SECONDS without a contact's sync session (strangers'\n"
       "                           connections do not count), the C API locks its handle\n"
       "\nexample:\n  estelik settings auto-lock 300\n",
       {},
       {},
       RunSettings},
      {"passwd",
       "change the vault's passphrase",
       "  The new passphrase comes from ESTELIK_NEW_PASSPHRASE or is asked twice.\n"
       "\nIt re-wraps the vault's master key under the new passphrase; it does not re-encrypt\n"
       "the data, and the master key stays the same. Whoever kept a copy of vault.key from\n"
       "before and knows the old passphrase can still open store.db, including everything\n"
       "written after the change. After vault.key and the passphrase may both have been\n"
       "taken, use `estelik rekey --new-passphrase` instead (docs/THREAT_MODEL.md).\n"
       "The duress passphrase, if any, is not changed.\n"
       "\nexample:\n  estelik passwd\n",
       {},
       {},
       RunPasswd},
      {"rekey",
       "re-encrypt the vault under a new master key",
       "  --new-passphrase   also change the passphrase (from ESTELIK_NEW_PASSPHRASE or asked\n"
       "                     twice); without it the passphrase stays the same\n"
       "\nEverything in store.db is re-encrypted under a fresh random master key and vault.key\n"
       "is rewritten around it: a copy of the old vault.key, even with the old passphrase, opens\n"
       "nothing in the vault from now on. It does not help against a copy of the old store.db\n"
       "taken together with the old vault.key (that copy stays readable). Keeping the same\n"
       "passphrase protects only while the new vault.key is not taken too. The duress\n"
       "passphrase, if any, keeps working. Needs free space for a second copy of store.db;\n"
       "an interruption (crash, power loss) is completed or undone at the next open.\n"
       "\nexample:\n  estelik rekey --new-passphrase\n",
       {},
       {"new-passphrase"},
       RunRekey},
  };
  return kCommands;
}

}  // namespace estelik::cli
