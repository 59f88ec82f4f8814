#!/usr/bin/env bash
# The whole suite: unit, interface, contract, end-to-end and the short fault tests.
# Exit 5 (no test collected) counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
