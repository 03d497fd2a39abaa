"""Exceptions a user may see. Every layer raises these; the CLI and TUI turn them into messages.

Each carries a message fit to show as is (it names the field, the value and what would be accepted)
and an exit code for the CLI.
"""


class CrmError(Exception):
    """Base of every error meant for the user. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(CrmError):
    """A value that a field refuses. Nothing was written."""

    exit_code = 2

    def __init__(self, field: str, value, reason: str):
        self.field = field
        self.value = value
        self.reason = reason
        shown = value if isinstance(value, str) else repr(value)
        super().__init__(f"{field}: {shown!r} is not valid: {reason}" if isinstance(value, str)
                         else f"{field}: {shown} is not valid: {reason}")


class NotFoundError(CrmError):
    """A project, list, field, record, tag or user that does not exist."""

    exit_code = 3


class ConflictError(CrmError):
    """Someone else changed the record since it was read (stale version)."""

    exit_code = 4


class PermissionDenied(CrmError):
    """The acting user may not do this."""

    exit_code = 5


class ConfigError(CrmError):
    """A bad database URL, config file or environment setting."""

    exit_code = 6
