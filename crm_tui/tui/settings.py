"""The TUI's side of the user's settings file: write it back (``tomllib`` only reads), resolve the
theme and the low-bandwidth switch, and read the keymap.

>>> save_setting("theme", "light")              # merged into config.toml, other keys kept
>>> toml_dumps({"theme": "dark", "keys": {"table.sort": "S"}})
'theme = "dark"\\n\\n[keys]\\n"table.sort" = "S"\\n'

Settings the TUI reads: ``theme``; ``date_order`` (YMD, DMY or MDY — how ``03/04/2026`` typed in a
date field is read; ``CRM_TUI_DATE_ORDER`` overrides it for one run; chosen in the app with the palette's
"Date order"); ``low_bandwidth`` (true/false — fewer frames, slower polls, no mouse-motion or
focus reports; ``--low-bandwidth`` or ``CRM_TUI_LOW_BANDWIDTH=1`` for one run; toggled with the palette's
"Low-bandwidth mode"); ``[keys]`` — binding id → keys, e.g. ``"board.move_next" = "shift+right,L"`` (ids are
listed by ``?`` in the app).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile

from ..config import config_path, load_settings

DEFAULT_THEME = "dark"
DATE_ORDERS = ("YMD", "DMY", "MDY")
DEFAULT_DATE_ORDER = "YMD"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    return _string(str(value))


def toml_dumps(data: dict, _prefix: str = "") -> str:
    """TOML text for ``data``: scalars and arrays first, then one ``[table]`` per nested dict."""
    lines = [f"{_key(str(k))} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for name, table in tables:
        full = f"{_prefix}.{_key(str(name))}" if _prefix else _key(str(name))
        body = toml_dumps(table, full)
        text += ("\n" if text else "") + f"[{full}]\n" + body
    return text


def save_setting(key: str, value) -> None:
    """Set one top-level setting in the config file, keeping everything else; written atomically."""
    settings = load_settings()
    settings[key] = value
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(toml_dumps(settings))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def theme_name(explicit: str | None = None) -> str:
    """``--theme``, else ``CRM_TUI_THEME``, else the saved choice, else ``dark``."""
    return (explicit or os.environ.get("CRM_TUI_THEME") or str(load_settings().get("theme") or "")
            or DEFAULT_THEME)


def keymap() -> dict[str, str]:
    """Binding id → keys from the ``[keys]`` table of the settings."""
    keys = load_settings().get("keys")
    if not isinstance(keys, dict):
        return {}
    return {str(k): str(v) for k, v in keys.items() if isinstance(v, (str, list))
            } | {str(k): ",".join(map(str, v)) for k, v in keys.items() if isinstance(v, list)}


def date_order() -> str:
    """``CRM_TUI_DATE_ORDER``, else the saved ``date_order``, else YMD (an unknown value counts as unset)."""
    for candidate in (os.environ.get("CRM_TUI_DATE_ORDER"), load_settings().get("date_order")):
        order = str(candidate or "").strip().upper()
        if order in DATE_ORDERS:
            return order
    return DEFAULT_DATE_ORDER


def save_date_order(order: str) -> str:
    """Check and save the date order; returns it upper-cased. ``ValueError`` for anything but the three."""
    order = str(order).strip().upper()
    if order not in DATE_ORDERS:
        raise ValueError(f"date order {order!r}: expected one of {', '.join(DATE_ORDERS)}")
    save_setting("date_order", order)
    return order


def _switch(value) -> bool | None:
    """``value`` read as on/off (``true``, ``1``, ``yes``, ``on`` and their opposites); None when it is
    neither (unset, or a value that means nothing: it counts as unset)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value if value is not None else "").strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def low_bandwidth(explicit: bool | None = None) -> bool:
    """``--low-bandwidth`` (``explicit``), else ``CRM_TUI_LOW_BANDWIDTH``, else the saved
    ``low_bandwidth``, else off."""
    if explicit is not None:
        return bool(explicit)
    for candidate in (os.environ.get("CRM_TUI_LOW_BANDWIDTH"), load_settings().get("low_bandwidth")):
        on = _switch(candidate)
        if on is not None:
            return on
    return False
