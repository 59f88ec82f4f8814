#!/usr/bin/env bash
# Create schemas and roles, migrate, start every service and the gateway in the
# background (pid files in var/run, logs in var/log), wait until healthy,
# create the admin, print the URL. Safe to run again: running parts are kept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
load_env
cd "$ROOT"

"$PY" -m slatekit.migrate --all 2>>"$LOG_DIR/migrate.log"

for svc in $(services); do
  pid="$RUN_DIR/$svc.pid"
  if alive "$pid"; then echo "$svc already running"; continue; fi
  nohup "$PY" -m slatekit.run "slate_$svc.service:Service" >>"$LOG_DIR/$svc.log" 2>&1 &
  echo $! > "$pid"
  echo "started $svc (pid $(cat "$pid"))"
done

# The events service's socket.io stream runs as its own process; the gateway relays /socket.io to it.
if [ -f "$ROOT/services/events/slate_events/stream.py" ]; then
  export STREAM_PORT="${STREAM_PORT:-8090}"
  export STREAM_URL="${STREAM_URL:-http://127.0.0.1:$STREAM_PORT}"
  st_pid="$RUN_DIR/stream.pid"
  if alive "$st_pid"; then echo "stream already running"; else
    nohup "$PY" -m slate_events.stream >>"$LOG_DIR/stream.log" 2>&1 &
    echo $! > "$st_pid"
    echo "started stream (pid $(cat "$st_pid"))"
  fi
fi

gw_pid="$RUN_DIR/gateway.pid"
if alive "$gw_pid"; then
  echo "gateway already running"
else
  (cd "$ROOT/gateway" && nohup "$VENV/bin/gunicorn" -c gunicorn.conf.py --pid "$gw_pid" slate_gateway.wsgi:app >>"$LOG_DIR/gateway.log" 2>&1 &)
  for _ in $(seq 1 50); do [ -f "$gw_pid" ] && break; sleep 0.2; done
  echo "started gateway (pid $(cat "$gw_pid" 2>/dev/null || echo '?'))"
fi

URL="http://$GATEWAY_BIND"
for _ in $(seq 1 120); do
  if curl -fsS "$URL/status" 2>/dev/null | grep -q '"database-up": true'; then break; fi
  sleep 0.5
done
curl -fsS "$URL/status" >/dev/null || { echo "gateway not healthy; see $LOG_DIR" >&2; exit 1; }

"$PY" -m slate_auth.cli create-admin --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD"
echo "Slate is up at $URL (also $URL/api). Admin: $ADMIN_EMAIL, password in $ENV_FILE"
