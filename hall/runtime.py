"""Small facts about this installation that every device program needs (stdlib only)."""

from __future__ import annotations

import os
from pathlib import Path


def software_version() -> str:
    """This installation's version (from pyproject.toml), shown in every device's status."""
    try:
        from importlib.metadata import version
        return version("motcua")
    except Exception:   # running from a checkout that was never installed
        return ""


def kivy_environment() -> None:
    """Environment Kivy reads when first imported: call before any `import kivy` (kiosk, display)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")            # our argv is argparse's, not Kivy's
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")      # log through `logging`, as the rest of motcua
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(Path.home() / ".cache" / "motcua" / "kivy"))
    Path(os.environ["KIVY_HOME"]).parent.mkdir(parents=True, exist_ok=True)   # Kivy makes only the last level
