# Shared shell helpers for up/down/status. Sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
RUN_DIR="${SLATE_RUN_DIR:-$ROOT/var/run}"
LOG_DIR="${SLATE_LOG_DIR:-$ROOT/var/log}"
ENV_FILE="$ROOT/var/slate.env"
mkdir -p "$RUN_DIR" "$LOG_DIR"

# Services started by `make up`, in start order: every services/<name> with a service module.
services() {
  for d in "$ROOT"/services/*/; do
    name="$(basename "$d")"
    [ -f "$d/slate_$name/service.py" ] && echo "$name"
  done
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

load_env() {
  # A secret generated once per checkout (never a default), kept out of git.
  if [ ! -f "$ENV_FILE" ]; then
    umask 077
    {
      echo "SECRET_KEY=${SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_hex(32))')}"
      echo "ADMIN_EMAIL=${ADMIN_EMAIL:-admin@example.com}"
      echo "ADMIN_PASSWORD=${ADMIN_PASSWORD:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')}"
    } > "$ENV_FILE"
  fi
  set -a; . "$ENV_FILE"; set +a
  export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/slate}"
  export AMQP_URI="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
  export GATEWAY_BIND="${GATEWAY_BIND:-127.0.0.1:8080}"
  export SLATE_ENV="${SLATE_ENV:-development}"
}
