#!/usr/bin/env bash
. "$(dirname "$0")/lib.sh"
for f in "$RUN_DIR"/*.pid; do
  [ -e "$f" ] || continue
  if alive "$f"; then echo "$(basename "$f" .pid): running ($(cat "$f"))"; else echo "$(basename "$f" .pid): stopped"; fi
done
