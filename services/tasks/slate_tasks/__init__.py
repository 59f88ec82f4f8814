"""Slate tasks service."""
