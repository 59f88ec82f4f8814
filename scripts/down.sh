#!/usr/bin/env bash
# Stop only what `make up` started (by its pid files: services, the event stream, the gateway).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
for f in "$RUN_DIR"/*.pid; do
  [ -e "$f" ] || continue
  name="$(basename "$f" .pid)"
  if alive "$f"; then
    kill -TERM "$(cat "$f")" 2>/dev/null
    for _ in $(seq 1 60); do alive "$f" || break; sleep 0.5; done
    alive "$f" && kill -KILL "$(cat "$f")" 2>/dev/null
    echo "stopped $name"
  fi
  rm -f "$f"
done
