"""Slate's shared kit: infrastructure only, never domain code.

Never import `services/` or `gateway/` from here; a test walks the imports.
"""
