#!/bin/sh
# Installs the C API component of build dir $2 into a temporary prefix, then builds and runs
# the outside project ($3) against it twice: with find_package(Estelik) and with pkg-config.
# Usage: check_install.sh CMAKE GENERATOR BINARY_DIR OUTSIDE_SOURCE_DIR CC [EXTRA_FLAGS]
set -eu
cmake="$1"
generator="$2"
binary_dir="$3"
source_dir="$4"
cc="$5"
flags="${6:-}"
work=$(mktemp -d /tmp/estelik-install-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$cmake" --install "$binary_dir" --component estelik_c --prefix "$work/prefix" >/dev/null
libdir=$(dirname "$(find "$work/prefix" -name 'libestelik.so.0' | head -1)")

echo "== find_package(Estelik)"
"$cmake" -S "$source_dir" -B "$work/build" -G "$generator" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
"$cmake" --build "$work/build" >/dev/null
"$work/build/outside" "$work/vault-cmake"

echo "== pkg-config estelik"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046,SC2086
"$cc" $flags -o "$work/outside-pc" "$source_dir/main.c" $(pkg-config --cflags --libs estelik)
LD_LIBRARY_PATH="$libdir" "$work/outside-pc" "$work/vault-pc"
