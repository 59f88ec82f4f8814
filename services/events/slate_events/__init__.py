"""Slate events service."""
