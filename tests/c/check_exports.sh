#!/bin/sh
# Fails unless every dynamic symbol defined by the library ($1) starts with estelik_.
set -eu
lib="$1"
symbols=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//')
count=$(printf '%s\n' "$symbols" | grep -c '^estelik_' || true)
others=$(printf '%s\n' "$symbols" | grep -v '^estelik_' || true)
if [ -n "$others" ]; then
  echo "libestelik exports symbols outside the C API:"
  printf '%s\n' "$others" | head -20
  exit 1
fi
if [ "$count" -lt 40 ]; then
  echo "libestelik exports only $count estelik_ symbols; expected the whole C API"
  exit 1
fi
echo "libestelik exports $count symbols, all estelik_*"
