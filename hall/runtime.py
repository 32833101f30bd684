"""Small facts about this installation that every device program needs (stdlib only)."""

from __future__ import annotations


def software_version() -> str:
    """This installation's version (from pyproject.toml), shown in every device's status."""
    try:
        from importlib.metadata import version
        return version("motcua")
    except Exception:   # running from a checkout that was never installed
        return ""

