"""CSV import: inspect an uploaded file, map its columns, and write its rows in batches.

Three stages, each with its own failure mode:

1. `inspect_file` reads only the first block of the file: encoding (BOM, UTF-8, then
   charset-normalizer among the encodings people's spreadsheets really produce), delimiter
   (csv.Sniffer), header and preview. A file that cannot be read at all fails here with
   ImportFileError and nothing is changed.
2. `auto_mapping` proposes a target per column from its name; the user adjusts it.
3. `import_rows` streams the file (constant memory) and hands batches to `write_batch`, which
   validates in bulk and writes with bulk_create. Each batch is its own transaction, counted
   in the job, so a cancelled or failed import leaves every earlier batch whole and the job
   says at which line it stopped.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes
from django.conf import settings

from audience.emails import InvalidEmail, normalize_email
from audience.fields import FieldValueError, JsonValue, coerce_value
from audience.models import CustomFieldType

SAMPLE_BYTES = 64 * 1024
PREVIEW_ROWS = 5
# Encodings charset-normalizer may choose from when the file is not UTF-8.
# Few on purpose: with many candidates a short Cyrillic sample is taken for Central European.
CANDIDATE_ENCODINGS = ["cp1251", "cp1252", "latin_1"]
IMPORT_FIELDS = ("email", "first_name", "last_name", "company", "country", "city", "comment")
MAX_TEXT = 200

# Column names (lower case, letters and digits only) that map to a standard field.
ALIASES = {
    "email": {"email", "emailaddress", "mail", "emails", "почта", "электроннаяпочта", "адрес"},
    "first_name": {"firstname", "first", "givenname", "forename", "name", "имя"},
    "last_name": {"lastname", "last", "surname", "familyname", "фамилия"},
    "company": {"company", "companyname", "organization", "organisation", "компания"},
    "country": {"country", "страна"},
    "city": {"city", "town", "город"},
    "comment": {"comment", "comments", "note", "notes", "комментарий"},
}


class ImportFileError(ValueError):
    """The file cannot be imported at all; the message tells the user why and what to do."""


@dataclass
class FileInfo:
    encoding: str
    delimiter: str
    header: list[str]
    preview: list[list[str]] = field(default_factory=list)


def inspect_file(path: Path) -> FileInfo:
    """Encoding, delimiter, header and first rows; raise ImportFileError if unreadable."""
    size = path.stat().st_size
    limit = settings.AUDIENCE_IMPORT_MAX_BYTES
    if size > limit:
        raise ImportFileError(
            f"The file is {size / 1e6:.1f} MB; the largest file Postroom imports is "
            f"{limit / 1e6:.0f} MB. Split it into smaller files and import them one by one."
        )
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise ImportFileError("The file is empty: there is nothing to import.")
    encoding = detect_encoding(sample)
    text = _decode_sample(sample, encoding)
    delimiter = detect_delimiter(text)
    rows = list(_rows(text, delimiter, PREVIEW_ROWS + 1))
    header = [cell.strip() for cell in rows[0]] if rows else []
    if not any(header):
        raise ImportFileError("The first line is empty: the file needs a header row.")
    if any("@" in cell for cell in header):
        raise ImportFileError(
            "The first line holds an e-mail address, not column names. Add a header row "
            "(for example: email,first_name,last_name) and upload the file again."
        )
    return FileInfo(encoding=encoding, delimiter=delimiter, header=header, preview=rows[1:])


def detect_encoding(sample: bytes) -> str:
    """The file's encoding from its first block; raise ImportFileError for binary data."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "This is a spreadsheet workbook (XLSX or ODS), not a CSV file. Save it as "
            "“CSV UTF-8” in your spreadsheet program and upload that."
        )
    if b"\x00" in sample or _control_ratio(sample) > 0.05:
        raise ImportFileError(
            "This file holds binary data, not text. Upload a CSV file (comma- or "
            "semicolon-separated text)."
        )
    try:
        # A multi-byte character may be cut at the end of the block: decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        best = from_bytes(sample, cp_isolation=CANDIDATE_ENCODINGS).best()
        return best.encoding if best is not None else "latin_1"
    return "utf-8"


def _control_ratio(sample: bytes) -> float:
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls / len(sample)


def _decode_sample(sample: bytes, encoding: str) -> str:
    text = sample.decode(encoding, errors="ignore")
    if len(sample) == SAMPLE_BYTES:
        # Drop the last, probably incomplete, line of the block.
        text = text[: text.rfind("\n") + 1] or text
    return text


def detect_delimiter(text: str) -> str:
    """csv.Sniffer on the sample; when it cannot decide, the most frequent of , ; tab |."""
    try:
        return csv.Sniffer().sniff(text[:16384], delimiters=",;\t|").delimiter
    except csv.Error:
        first = text.split("\n", 1)[0]
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _rows(text: str, delimiter: str, limit: int) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for n, row in enumerate(reader):
            if n >= limit:
                return
            yield row
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from exc


def _simple(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.lower())


def slug_for(name: str) -> str:
    """A custom field key proposed for an unknown column name ('' when none can be made)."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if key and not key[0].isalpha():
        key = f"f_{key}"
    return key[:63]


def auto_mapping(header: list[str], custom_keys: dict[str, str]) -> list[str]:
    """A target per column: a standard field, 'field:<key>', or '' (skip). Each target once.

    `custom_keys` maps custom field keys to labels; a column matches a key or a label.
    """
    by_name = {_simple(alias): std for std, aliases in ALIASES.items() for alias in aliases}
    for key, label in custom_keys.items():
        by_name.setdefault(_simple(key), f"field:{key}")
        by_name.setdefault(_simple(label), f"field:{key}")
    for std in IMPORT_FIELDS:
        by_name[_simple(std)] = std
    used: set[str] = set()
    mapping: list[str] = []
    for name in header:
        target = by_name.get(_simple(name), "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append(target)
    return mapping


@dataclass
class ParsedRow:
    line: int
    email: str
    values: dict[str, str]
    custom: dict[str, JsonValue]


@dataclass
class Rejection:
    line: int
    email: str
    reason: str


@dataclass
class Plan:
    """How each column is used: `mapping[i]` is the target of column i (see auto_mapping).

    The columns are sorted once into e-mail, standard and custom ones, so that parsing a row
    (done a million times) is a few list lookups.
    """

    mapping: list[str]
    custom_types: dict[str, tuple[str, list[str]]]  # key -> (type, choices)
    email_index: int = field(init=False)
    standard: list[tuple[int, str]] = field(init=False)
    custom: list[tuple[int, str, str, list[str]]] = field(init=False)

    def __post_init__(self) -> None:
        self.email_index = self.mapping.index("email")
        self.standard = [
            (i, t) for i, t in enumerate(self.mapping) if t in IMPORT_FIELDS and t != "email"
        ]
        self.custom = [
            (i, t[6:], *self.custom_types[t[6:]])
            for i, t in enumerate(self.mapping)
            if t.startswith("field:")
        ]

    def parse(self, line: int, row: list[str]) -> ParsedRow | Rejection:
        """Validate one row; a Rejection carries the reason shown in the report."""
        width = len(self.mapping)
        if len(row) != width:
            if any(c.strip() for c in row[width:]):
                return Rejection(line, "", f"The row has {len(row)} cells, the header {width}.")
            row = (row + [""] * width)[:width]
        raw_email = row[self.email_index].strip()
        if not raw_email:
            return Rejection(line, "", "No e-mail address.")
        try:
            email = normalize_email(raw_email)
        except InvalidEmail as exc:
            return Rejection(line, raw_email[:200], f"Invalid e-mail address: {exc}")
        values = {target: row[i].strip() for i, target in self.standard}
        for target, text in values.items():
            if len(text) > MAX_TEXT and target != "comment":
                return Rejection(line, email, f"{target} is longer than {MAX_TEXT} characters.")
        custom: dict[str, JsonValue] = {}
        for i, key, kind, choices in self.custom:
            if kind == CustomFieldType.TEXT:
                text = row[i].strip()
                if text:
                    custom[key] = text
                continue
            try:
                value = coerce_value(key, kind, choices, row[i])
            except FieldValueError as exc:
                return Rejection(line, email, str(exc))
            if value is not None:
                custom[key] = value
        return ParsedRow(line, email, values, custom)


def read_batches(
    path: Path, encoding: str, delimiter: str, batch_size: int
) -> Iterator[tuple[list[tuple[int, list[str]]], int]]:
    """Yield (rows with their first line number, bytes read so far), header skipped.

    Streams: memory holds one batch. Raises UnicodeDecodeError or csv.Error mid-file; the
    caller turns them into a failed job that says where it stopped.
    """
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        next(reader, None)
        batch: list[tuple[int, list[str]]] = []
        previous = reader.line_num
        try:
            for row in reader:
                start, previous = previous + 1, reader.line_num
                if row and any(cell.strip() for cell in row):
                    batch.append((start, row))
                if len(batch) >= batch_size:
                    yield batch, raw.tell()
                    batch = []
        except (UnicodeDecodeError, csv.Error):
            # Keep what was read before the bad spot, then let the caller report it.
            if batch:
                yield batch, raw.tell()
            raise
        if batch:
            yield batch, raw.tell()
