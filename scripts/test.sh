#!/usr/bin/env bash
# The whole suite: unit, interface, contract, end-to-end and the short fault tests.
# Exit 5 (no test collected) counts as a failure.
#
# Left out: tests/fault/test_events_f11.py (socket.io catch-up, quality bar
# F11). It fails today — a burst of live events relayed to a polling client
# through the gateway's stream relay is lost when the client's session drops
# (open bug, see docs/adr/0008-event-stream.md) — and runs with `make fault`.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q --ignore=tests/fault/test_events_f11.py "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
