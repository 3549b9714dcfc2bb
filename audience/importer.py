"""CSV import: inspect an uploaded file, map its columns, and write its rows in batches.

Three stages, each with its own failure mode:

1. `inspect_file` finds the encoding (BOM, UTF-8, then charset-normalizer among the
   encodings people's spreadsheets really produce) over the whole file, since the first
   accented name may come after a thousand plain lines; the delimiter (csv.Sniffer), header
   and preview come from the first block. The user may name the encoding and the delimiter
   instead. A file that cannot be read at all fails here with ImportFileError and nothing
   is changed.
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
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audience.emails import InvalidEmail, normalize_email
from audience.fields import FieldValueError, JsonValue, coerce_value
from audience.models import VALUE_MAX_CHARS, CustomFieldType
from core.spreadsheet import restore

SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
PREVIEW_ROWS = 5
# Encodings charset-normalizer may choose from when the file is not UTF-8.
# Few on purpose: with many candidates a short Cyrillic sample is taken for Central European.
CANDIDATE_ENCODINGS = ["cp1251", "cp1252", "latin_1"]
IMPORT_FIELDS = ("email", "first_name", "last_name", "company", "country", "city", "comment")
MAX_TEXT = 200
# The longest cell a row may hold (the csv module's default field limit). The reader itself
# accepts any cell the file can hold, so that a longer one is one rejected row, not the end
# of the import.
CELL_MAX_CHARS = 131_072
# What the user may choose instead of detection: codec name -> label.
ENCODINGS = {
    "utf-8": "UTF-8",
    "cp1251": gettext_noop("Windows-1251 (Cyrillic)"),
    "cp1252": gettext_noop("Windows-1252 (Western European)"),
    "latin_1": "Latin-1 (ISO-8859-1)",
    "utf-16": "UTF-16",
}
# Labels marked for the catalog; the upload form translates them.
DELIMITERS = {
    ",": gettext_noop("Comma"),
    ";": gettext_noop("Semicolon"),
    "\t": gettext_noop("Tab"),
    "|": gettext_noop("Vertical bar"),
}

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


def too_large(size: float, limit: float) -> str:
    """The refusal of a file of `size` bytes when at most `limit` are imported."""
    return _(
        "The file is %(size)s MB; the largest file Postroom imports is %(limit)s MB. Split it "
        "into smaller files and import them one by one."
    ) % {"size": f"{size / 1e6:.1f}", "limit": f"{limit / 1e6:.0f}"}


def inspect_file(path: Path, encoding: str = "", delimiter: str = "") -> FileInfo:
    """Encoding, delimiter, header and first rows; raise ImportFileError if unreadable.

    `encoding` and `delimiter`, when given, are the user's choice (keys of ENCODINGS and
    DELIMITERS) and replace detection; a file that is not entirely in the chosen encoding
    is refused with the line where it stops being so.
    """
    size = path.stat().st_size
    limit = settings.AUDIENCE_IMPORT_MAX_BYTES
    if size > limit:
        raise ImportFileError(too_large(size, limit))
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise ImportFileError(_("The file is empty: there is nothing to import."))
    if encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"  # the mark is not part of the first column's name
    if encoding:
        _check_chosen_encoding(path, sample, encoding)
    else:
        encoding = file_encoding(path, sample)
    if delimiter and delimiter not in DELIMITERS:
        raise ImportFileError(
            _("Choose a comma, a semicolon, a tab or a vertical bar as delimiter.")
        )
    text = _decode_sample(sample, encoding)
    delimiter = delimiter or detect_delimiter(text)
    rows = list(_rows(text, delimiter, PREVIEW_ROWS + 1))
    header = [cell.strip() for cell in rows[0]] if rows else []
    if not any(header):
        raise ImportFileError(_("The first line is empty: the file needs a header row."))
    if any("@" in cell for cell in header):
        raise ImportFileError(
            _(
                "The first line holds an e-mail address, not column names. Add a header row "
                "(for example: email,first_name,last_name) and upload the file again."
            )
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
            _(
                "This is a spreadsheet workbook (XLSX or ODS), not a CSV file. Save it as "
                "“CSV UTF-8” in your spreadsheet program and upload that."
            )
        )
    if b"\x00" in sample or _control_ratio(sample) > 0.05:
        raise ImportFileError(
            _(
                "This file holds binary data, not text. Upload a CSV file (comma- or "
                "semicolon-separated text)."
            )
        )
    try:
        # A multi-byte character may be cut at the end of the block: decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        best = from_bytes(sample, cp_isolation=CANDIDATE_ENCODINGS).best()
        return best.encoding if best is not None else "latin_1"
    return "utf-8"


def file_encoding(path: Path, sample: bytes) -> str:
    """The encoding of the whole file: the first block's guess, checked to the last byte.

    When the guess fails later on (a plain-ASCII start, then a Windows-1251 name at line
    3,000), charset-normalizer judges the lines that hold non-ASCII bytes, wherever they are.
    Latin-1, which decodes any byte, is the last resort, so that no line is ever lost.
    """
    guess = detect_encoding(sample)
    if guess in ("utf-8-sig", "utf-16"):
        return guess
    bad = first_bad_line(path, guess)
    if bad is None:
        return guess
    lines = _non_ascii_lines(path)
    if guess == "utf-8" and any(_is_utf8(line) for line in lines.split(b"\n") if line):
        # Names in UTF-8 and a stray byte: read as Windows-1252 every name would be garbled.
        raise ImportFileError(
            _(
                "The file is in UTF-8, except line %(line)s, which holds bytes that are not. "
                "Correct that line and upload the file again, or choose the file's encoding "
                "under “Encoding and delimiter”."
            )
            % {"line": f"{bad:,}"}
        )
    best = from_bytes(lines, cp_isolation=CANDIDATE_ENCODINGS).best()
    if best is not None and best.encoding != guess and first_bad_line(path, best.encoding) is None:
        return str(best.encoding)
    return "latin_1"


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_chosen_encoding(path: Path, sample: bytes, encoding: str) -> None:
    if encoding not in ENCODINGS and encoding != "utf-8-sig":
        raise ImportFileError(
            _("Postroom does not read %(encoding)s; choose one of the list.")
            % {"encoding": repr(encoding)}
        )
    if encoding != "utf-16":
        detect_encoding(sample)  # refuses workbooks and binary data, whatever was chosen
    bad = first_bad_line(path, encoding)
    if bad is not None:
        raise ImportFileError(
            _(
                "The file is not entirely in %(name)s (%(encoding)s): line %(line)s holds "
                "bytes that encoding does not have. Choose another encoding, or let Postroom "
                "detect it."
            )
            % {
                "name": _(ENCODINGS.get(encoding, "UTF-8")),
                "encoding": encoding,
                "line": f"{bad:,}",
            }
        )


def first_bad_line(path: Path, encoding: str) -> int | None:
    """The line (from 1) of the first byte `encoding` cannot decode; None if there is none.

    Reads the file in chunks through an incremental decoder: memory stays flat, and a
    character cut between two chunks is decoded whole.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the bytes held back from the previous chunk (never a line
                # break) followed by this chunk.
                return lines + exc.object[: exc.start].count(b"\n") + 1
            except UnicodeError:  # UTF-16 with no byte-order mark: it cannot even start
                return lines + 1
            if not chunk:
                return None
            lines += chunk.count(b"\n")


def _non_ascii_lines(path: Path) -> bytes:
    """Up to SAMPLE_BYTES of the file's lines that hold non-ASCII bytes, for detection."""
    found = bytearray()
    tail = b""
    with path.open("rb") as handle:
        while len(found) < SAMPLE_BYTES:
            chunk = handle.read(CHUNK_BYTES)
            data = tail + chunk
            if chunk:
                cut = data.rfind(b"\n") + 1
                data, tail = data[:cut], data[cut:]
            if not data.isascii():
                for line in data.split(b"\n"):
                    if not line.isascii():
                        found += line + b"\n"
            if not chunk:
                break
    return bytes(found[:SAMPLE_BYTES])


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
        raise ImportFileError(
            _("The file is not valid CSV: %(reason)s.") % {"reason": exc}
        ) from exc


def _simple(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.lower())


# Cyrillic letters in Latin (Russian and Ukrainian, as in passports), for keys from headers.
_CYRILLIC = str.maketrans(
    dict(zip("абвгдезийклмнопрстуфыэґі", "abvgdeziyklmnoprstufyegi", strict=True))
    | {"ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch"}  # noqa: RUF001
    | {"ъ": "", "ь": "", "ю": "yu", "я": "ya", "є": "ye", "ї": "yi", "ß": "ss"}
)


def slug_for(name: str) -> str:
    """A custom field key proposed for a column name ('' when none can be made).

    Keys stay ASCII because templates write them ({tarif}) and people type them on any
    keyboard; a Cyrillic name is transliterated (тариф -> tarif) and accents are dropped
    (Prénom -> prenom), so that a column is never left without a key to offer.
    """
    text = unicodedata.normalize("NFKD", name.lower().translate(_CYRILLIC))
    text = text.encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if key and not key[0].isalpha():
        key = f"f_{key}"
    return key[:63].rstrip("_")


def column_key(name: str, index: int) -> str:
    """The key offered for column `index` (from 0) named `name`: always one."""
    return slug_for(name) or f"column_{index + 1}"


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
    # An address met earlier in the file: counted and listed apart from rejected rows.
    duplicate: bool = False


@dataclass
class Plan:
    """How each column is used: `mapping[i]` is the target of column i (see auto_mapping).

    The columns are sorted once into e-mail, standard and custom ones, so that parsing a row
    (done a million times) is a few list lookups.
    """

    mapping: list[str]
    custom_types: dict[str, tuple[str, list[str]]]  # key -> (type, choices)
    header: list[str] = field(default_factory=list)  # column names, for messages
    # Take off the apostrophe our exports put before formula-like cells (audience.formulas):
    # for files, not for API values, which no spreadsheet has touched.
    restore_formulas: bool = False
    email_index: int = field(init=False)
    standard: list[tuple[int, str]] = field(init=False)
    custom: list[tuple[int, str, bool, str, list[str]]] = field(init=False)

    def __post_init__(self) -> None:
        self.email_index = self.mapping.index("email")
        self.standard = [
            (i, t) for i, t in enumerate(self.mapping) if t in IMPORT_FIELDS and t != "email"
        ]
        # (column, key, plain text?, type, choices): the type's enum is compared once here.
        self.custom = []
        for i, target in enumerate(self.mapping):
            if target.startswith("field:"):
                kind, choices = self.custom_types[target[6:]]
                text_only = kind == CustomFieldType.TEXT
                self.custom.append((i, target[6:], text_only, kind, choices))

    def parse(self, line: int, row: list[str]) -> ParsedRow | Rejection:
        """Validate one row; a Rejection carries the reason shown in the report."""
        width = len(self.mapping)
        # One join answers the two rare cases cheaply (a million rows pass here).
        joined = "".join(row)
        if len(joined) > CELL_MAX_CHARS and max(map(len, row)) > CELL_MAX_CHARS:
            return self._oversized(line, row, max(map(len, row)))
        if "\x00" in joined:
            return self._zero_byte(line, row)
        if len(row) != width:
            if any(c.strip() for c in row[width:]):
                shown = row[self.email_index].strip()[:200] if self.email_index < len(row) else ""
                return Rejection(
                    line,
                    shown,
                    f"{len(row)} cells, header has {width}: a value that holds the delimiter "
                    "must be in double quotes.",
                )
            row = (row + [""] * width)[:width]
        if self.restore_formulas and "'" in joined:
            row = [restore(cell) for cell in row]
        raw_email = row[self.email_index].strip()
        if not raw_email:
            return Rejection(line, "", "No e-mail address.")
        try:
            email = normalize_email(raw_email)
        except InvalidEmail as exc:
            return Rejection(line, raw_email[:200], f"Invalid e-mail address: {exc}")
        values = {target: row[i].strip() for i, target in self.standard}
        if max(map(len, values.values()), default=0) > MAX_TEXT:  # rare: look closer
            for target, text in values.items():
                limit = VALUE_MAX_CHARS if target == "comment" else MAX_TEXT
                if len(text) > limit:
                    return Rejection(line, email, f"{target} is longer than {limit:,} characters.")
        custom: dict[str, JsonValue] = {}
        for i, key, text_only, kind, choices in self.custom:
            if text_only:
                text = row[i].strip()
                if len(text) > VALUE_MAX_CHARS:
                    message = f"{key}: longer than {VALUE_MAX_CHARS:,} characters"
                    return Rejection(line, email, message)
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

    def _zero_byte(self, line: int, row: list[str]) -> Rejection:
        """A NUL character fits no text column on PostgreSQL (SQLite would store it): the row
        is refused alone, on both, instead of failing the import's batch there.

        The first block of a file is refused whole for one (`detect_encoding`); this is for
        one further down, in a file damaged there.
        """
        index = next(i for i, cell in enumerate(row) if "\x00" in cell)
        return Rejection(
            line,
            self._shown_email([cell.replace("\x00", "") for cell in row]),
            f"Column “{self._column_name(index)}” holds a NUL character (a zero byte), which "
            "no value may hold: the file may be damaged at this line.",
        )

    def _oversized(self, line: int, row: list[str], longest: int) -> Rejection:
        index = next(i for i, cell in enumerate(row) if len(cell) == longest)
        reason = (
            f"Column “{self._column_name(index)}” holds {longest:,} characters; a cell may hold "
            f"{CELL_MAX_CHARS:,}."
        )
        last = line + sum(cell.count("\n") for cell in row)
        if last > line:
            reason += (
                f" The row runs from lines {line:,} to {last:,}: a double quote left open "
                "makes the lines after it part of one cell."
            )
        return Rejection(line, self._shown_email(row), reason)

    def _column_name(self, index: int) -> str:
        return self.header[index][:60] if index < len(self.header) else f"column {index + 1}"

    def _shown_email(self, row: list[str]) -> str:
        """The row's address cell for the report; none when it is too long to be one."""
        email = row[self.email_index].strip() if self.email_index < len(row) else ""
        return email[:200] if len(email) <= 254 else ""


def read_batches(
    path: Path, encoding: str, delimiter: str, batch_size: int
) -> Iterator[tuple[list[tuple[int, list[str]]], int]]:
    """Yield (rows with their first line number, bytes read so far), header skipped.

    Streams: memory holds one batch. Raises UnicodeDecodeError or csv.Error mid-file; the
    caller turns them into a failed job that says where it stopped.
    """
    # The reader may take a cell as large as the file; Plan.parse rejects the row.
    csv.field_size_limit(max(csv.field_size_limit(), settings.AUDIENCE_IMPORT_MAX_BYTES))
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        next(reader, None)
        batch: list[tuple[int, list[str]]] = []
        previous = reader.line_num
        try:
            for row in reader:
                start, previous = previous + 1, reader.line_num
                if row and "".join(row).strip():
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
