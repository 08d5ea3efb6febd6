"""The few named errors the core raises. The CLI turns each into `Error: ...` and exit 1."""

from __future__ import annotations


class CrmError(Exception):
    """A user or data error: the message is shown as one `Error:` line, exit code 1.

    `details` are extra lines printed after the message (e.g. ambiguous candidates).
    """

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NoCrmError(CrmError):
    """No CRM directory could be found."""


class NotFoundError(CrmError):
    """A REF matched no record."""


class AmbiguousError(CrmError):
    """A REF matched several records: `candidates` (each a record, or the fields of
    one that resolution read) and the `level` of crmcli.refs that found them."""

    level = 1

    def __init__(
        self, message: str, details: list[str] | None = None, candidates: list | None = None
    ) -> None:
        super().__init__(message, details)
        self.candidates = candidates or []


class RecordError(CrmError):
    """A record file is broken: bad YAML or a field of the wrong type."""


class SettingsError(CrmError):
    """crm.yaml is malformed."""


class DateError(CrmError):
    """A date or duration could not be understood."""
