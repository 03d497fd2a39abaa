"""Where things live and what the user chose: database URL, acting user, settings file.

Every setting has an environment variable, which is how tests point at fixtures:

| variable                  | meaning                                               | default                                |
| ------------------------- | ----------------------------------------------------- | -------------------------------------- |
| ``CRM_TUI_DB``            | database URL (``sqlite:///path``, ``postgresql://…``) | ``crm.db`` in the user data dir        |
| ``CRM_TUI_USER``          | acting user                                           | the OS login                           |
| ``CRM_TUI_CONFIG``        | settings file (TOML)                                  | ``config.toml`` in the user config dir |
| ``CRM_TUI_THEME``         | theme name                                            | the saved choice, else ``dark``        |
| ``CRM_TUI_LOW_BANDWIDTH`` | ``1``: the app's low-bandwidth mode, ``0``: not       | the saved choice, else off             |
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

APP_NAME = "crm-tui"


def user_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{user_data_dir() / 'crm.db'}"


def database_url(explicit: str | None = None) -> str:
    """The URL given on the command line, else ``CRM_TUI_DB``, else the data-dir file."""
    return explicit or os.environ.get("CRM_TUI_DB") or default_database_url()


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "admin"


def acting_user_name(explicit: str | None = None) -> str:
    """``--user``, else ``CRM_TUI_USER``, else the OS login. ``SSH_ORIGINAL_COMMAND`` is never read."""
    return explicit or os.environ.get("CRM_TUI_USER") or os_login()


def config_path() -> Path:
    env = os.environ.get("CRM_TUI_CONFIG")
    return Path(env) if env else user_config_dir() / "config.toml"


def load_settings() -> dict:
    """The user's settings (TOML); an unreadable file counts as empty rather than stopping the app."""
    import tomllib  # only here: most CLI commands never read the settings file

    path = config_path()
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError):
        return {}
