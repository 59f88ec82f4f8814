"""Environment variables only the gateway reads, beyond ``slatekit.config.SETTINGS``.

Mostly Zou's public settings that ``GET /config`` and ``/data/user/context``
return. They are listed in docs/specs/configuration.md with the others
(scripts/gen_docs.py reads this list).
"""

from __future__ import annotations

from slatekit import config
from slatekit.config import Setting

SETTINGS: list[Setting] = [
    Setting("IS_SELF_HOSTED", "true", "`GET /config` → `is_self_hosted` (Zou's flag for Kitsu's hosted-service UI)."),
    Setting("CRISP_TOKEN", "", "`GET /config` → `crisp_token` (Kitsu's support chat widget; empty disables it)."),
    Setting("DARK_THEME_BY_DEFAULT", "false", "`GET /config` → `dark_theme_by_default`."),
    Setting("DEFAULT_LOCALE", "en_US", "`GET /config` → `default_locale`."),
    Setting("DEFAULT_TIMEZONE", "Europe/Paris", "`GET /config` → `default_timezone`."),
    Setting("ENFORCE_2FA", "false", "`GET /config` → `enforce_2fa`."),
    Setting("MOVIE_HIGHDEF_BITRATE", "28", "`GET /config` → `movie_highdef_bitrate` (Mb/s)."),
    Setting("MOVIE_LOWDEF_BITRATE", "6", "`GET /config` → `movie_lowdef_bitrate` (Mb/s)."),
    Setting("PREVIEW_ACCOUNTS_ENABLED", "true", "`GET /config` → `preview_accounts_enabled`."),
    Setting("USER_LIMIT", "100", "Active human accounts allowed; shown to admins as `user_limit` in `/data/user/context`."),
    Setting("TRUSTED_PROXIES", "127.0.0.1,::1", "Peers whose `X-Real-Ip` / `X-Forwarded-For` give the client's address (login rate limit, login logs). From anyone else the headers are ignored."),
    Setting("PROMETHEUS_MULTIPROC_DIR", None, "Directory where gateway workers share Prometheus samples; `gateway/gunicorn.conf.py` makes a temporary one when unset."),
]
_DEFAULTS = {s.name: s.default for s in SETTINGS}


def get(name: str) -> str:
    return config.get(name, _DEFAULTS.get(name)) or ""


def get_bool(name: str) -> bool:
    return get(name).lower() in {"1", "true", "yes", "on"}


def get_int(name: str) -> int:
    try:
        return int(get(name))
    except ValueError:
        return int(_DEFAULTS[name] or 0)
