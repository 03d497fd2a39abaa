"""Theme files (TOML) turned into Textual themes: the ones shipped in ``crm_tui/themes/`` and the
user's own in ``<config dir>/themes/`` (a user file with a shipped name replaces it).

>>> themes, problems = load_themes()
>>> [t.name for t in themes]
['dark', 'high-contrast', 'light', 'terminal-16']

A file holds Textual's theme keys (``primary``, ``background``, ``dark``, ``ansi``…) and an optional
``[variables]`` table; ``name`` defaults to the file name. A broken file is reported, never fatal.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.theme import Theme

from ..config import config_path

PACKAGE_THEMES = Path(__file__).resolve().parent.parent / "themes"
COLOUR_KEYS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
               "background", "surface", "panel", "boost")


def theme_dirs() -> list[Path]:
    return [PACKAGE_THEMES, config_path().parent / "themes"]


def theme_from_toml(data: dict, default_name: str) -> Theme:
    """A Theme from parsed TOML. Raises ValueError naming the bad key."""
    name = str(data.get("name") or default_name)
    if not data.get("primary"):
        raise ValueError("needs a primary colour (primary = \"#4C9AFF\")")
    kwargs = {key: str(data[key]) for key in COLOUR_KEYS if data.get(key)}
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise ValueError("[variables] must be a table")
    theme = Theme(name=name, dark=bool(data.get("dark", True)), ansi=bool(data.get("ansi", False)),
                  variables={str(k): str(v) for k, v in variables.items()}, **kwargs)
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            setattr(theme, key, float(data[key]))
    theme.to_color_system()  # parse the colours now, so a typo is reported with its file
    return theme


def load_themes(dirs: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """Every theme found, by name (later folders win), and a message per file that failed."""
    found: dict[str, Theme] = {}
    problems: list[str] = []
    for folder in dirs if dirs is not None else theme_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                with open(path, "rb") as fh:
                    theme = theme_from_toml(tomllib.load(fh), path.stem)
            except Exception as exc:  # any broken theme file is skipped with a message
                problems.append(f"theme {path}: {exc}")
                continue
            found[theme.name] = theme
    return sorted(found.values(), key=lambda t: t.name), problems
