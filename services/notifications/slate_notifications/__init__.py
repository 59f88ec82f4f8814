"""Slate notifications service."""
