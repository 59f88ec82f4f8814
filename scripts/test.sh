#!/usr/bin/env bash
# The whole suite: unit, interface, contract, end-to-end and the short fault tests.
# Exit 5 (no test collected) counts as a failure.
#
# F11 (socket.io catch-up) runs in a session of its own: after the other fault
# tests of the same session its first live delivery is sometimes lost (an open
# bug in the event stream, noted in docs/adr/0008-event-stream.md); alone it
# passes. It still has to pass for the suite to pass.
set -uo pipefail
cd "$(dirname "$0")/.."
F11="tests/fault/test_events_f11.py"
if [ "$#" -gt 0 ]; then
  .venv/bin/python -m pytest -q "$@"; rc=$?
  [ "$rc" -eq 5 ] && { echo "no tests were collected" >&2; exit 1; }
  exit "$rc"
fi
.venv/bin/python -m pytest -q --ignore="$F11"
rc=$?
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
.venv/bin/python -m pytest -q "$F11"
rc2=$?
if [ "$rc2" -eq 5 ]; then echo "no tests were collected in $F11" >&2; exit 1; fi
[ "$rc" -ne 0 ] && exit "$rc"
exit "$rc2"
