"""Business cards in: CSV and vCard readers, and the import engine.

A reader turns a file's bytes into "cards": plain dicts
`{file, line|card, name, company, title, emails, phones, fields, notes, error}`
(`fields` may hold department, fax, note, website and custom fields; `notes`
say what was left out; `error` says why the card cannot be used). The engine
(`importers.engine`) cleans and de-duplicates them into leads.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from crmcli.errors import CrmError
from crmcli.models import IMPORT_FORMATS

FORMATS = IMPORT_FORMATS
_EXT = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".vcf": "vcf", ".vcard": "vcf"}


def detect_format(name: str, data: bytes, given: str | None = None) -> str:
    """csv or vcf: --input-format, else the file's extension, else its first line."""
    if given:
        return given
    ext = PurePath(name).suffix.lower()
    if ext in _EXT:
        return _EXT[ext]
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").upper()
    return "vcf" if head.startswith(b"BEGIN:VCARD") or head.startswith(b"B\x00E\x00G") else "csv"


def read_source(
    name: str,
    data: bytes,
    fmt: str,
    mapping: dict[str, str] | None = None,
    *,
    encoding: str | None = None,
    no_header: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(cards, info) of one file's bytes in format `fmt`; `encoding` (--encoding)
    reads it in that encoding, `no_header` (CSV) has no header row."""
    try:
        return _read(name, data, fmt, mapping, encoding, no_header)
    except CrmError as e:
        if name == "-" and e.message.startswith("-: "):
            raise CrmError("standard input: " + e.message[3:], e.details) from None
        raise


def _read(
    name: str,
    data: bytes,
    fmt: str,
    mapping: dict[str, str] | None,
    encoding: str | None,
    no_header: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if fmt == "vcf":
        from crmcli.importers.vcard import read_vcf

        return read_vcf(data, name, encoding), {"format": "vcf"}
    if fmt == "csv":
        from crmcli.importers.csvreader import read_csv

        cards, info = read_csv(data, name, mapping, encoding=encoding, no_header=no_header)
        return cards, {"format": "csv", **info}
    raise CrmError(f"unknown input format '{fmt}' (csv or vcf)")
