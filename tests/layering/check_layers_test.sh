#!/usr/bin/env bash
# scripts/check-layers catches each kind of violation it promises to, and passes a clean tree:
# a tree is laid out like the repository with one planted violation at a time.
set -euo pipefail
check="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

clean_tree() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree"/{core/store,sync/protocol,sync/net,platform/jni,platform/cli}
  printf '#include "core/status.h"\n#include <sqlite3.h>\n' >"$work/tree/core/store/a.cc"
  printf '#include <boost/asio.hpp>\n#include "sync/protocol/replica.h"\n' >"$work/tree/sync/net/n.cc"
  printf '#include "core/crypto/secret.h"\n#include <vector>\n' >"$work/tree/sync/protocol/p.cc"
  printf '#include <jni.h>\n#include <string>\n#include "estelik.h"\n' >"$work/tree/platform/jni/j.cc"
  printf 'Status s = vault::Vault::UnlockPageKey(dir, pass);\n' >"$work/tree/platform/cli/c.cc"
}

expect() {  # expect pass|fail DESCRIPTION
  local want="$1" what="$2" got=pass
  "$check" "$work/tree" >"$work/out" 2>&1 || got=fail
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: check-layers said $got, expected $want"
    cat "$work/out"
    exit 1
  fi
  echo "ok: $what"
}

clean_tree
expect pass "a clean tree"

clean_tree
printf '#include "sync/net/network.h"\n' >>"$work/tree/core/store/a.cc"
expect fail "core including sync/"

clean_tree
printf '#include "platform/c/estelik.h"\n' >>"$work/tree/core/store/a.cc"
expect fail "core including platform/"

clean_tree
printf '#include <boost/asio/ip/tcp.hpp>\n' >>"$work/tree/sync/protocol/p.cc"
expect fail "sync/protocol including Boost"

clean_tree
printf '#include <sys/socket.h>\n' >>"$work/tree/sync/protocol/p.cc"
expect fail "sync/protocol including sockets"

clean_tree
printf '#include <sqlite3.h>\n' >>"$work/tree/sync/protocol/p.cc"
expect fail "sync/protocol including SQLite"

clean_tree
printf '#include "core/archive/archive.h"\n' >>"$work/tree/platform/jni/j.cc"
expect fail "the JNI binding including engine headers"

clean_tree
printf '#include <sodium.h>\n' >>"$work/tree/platform/jni/j.cc"
expect fail "the JNI binding including a library header"

clean_tree
printf 'auto k = vault::DeriveSubkey(master, 1, "estlpage");\n' >>"$work/tree/platform/cli/c.cc"
expect fail "platform deriving a key"

clean_tree
printf 'crypto_pwhash(out, 32, p, n, salt, ops, mem, alg);\n' >>"$work/tree/platform/cli/c.cc"
expect fail "platform running Argon2id itself"
echo "all layering checks behave"
