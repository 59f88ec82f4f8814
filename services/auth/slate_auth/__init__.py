"""The auth service: identity and people (owner `auth` in zou-routes.tsv)."""
