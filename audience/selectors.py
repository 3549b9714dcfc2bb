"""Reads for the audience. Every selector takes the workspace first."""

from __future__ import annotations

import operator
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Func, Q, QuerySet, Sum, TextField, Value
from django.db.models.lookups import IContains
from django.utils.module_loading import import_string

from accounts.models import Workspace
from audience.models import (
    LINK_PLACEHOLDERS,
    STANDARD_FIELDS,
    AudienceJob,
    Consent,
    CustomField,
    ImportRejection,
    JobKind,
    JobStatus,
    ListMembership,
    Recipient,
    RecipientList,
    Segment,
    Suppression,
)
from audience.segments import compile_definition
from core import soft_cache
from core.keyset import keyset_page


def custom_fields(workspace: Workspace) -> QuerySet[CustomField]:
    return CustomField.objects.filter(workspace=workspace)


def placeholder_names(workspace: Workspace) -> list[str]:
    """Every name a template of this workspace may use: standard fields, custom fields, links."""
    keys = list(custom_fields(workspace).values_list("key", flat=True))
    return [*STANDARD_FIELDS, *keys, *LINK_PLACEHOLDERS]


def recipient_values(recipient: Recipient, field_keys: list[str] | None = None) -> dict[str, str]:
    """A recipient's values as text, standard and custom fields alike (missing ones empty).

    `field_keys` are the workspace's custom field keys; pass them when rendering many
    recipients so that they are read once, not per recipient.
    """
    values = {name: str(getattr(recipient, name) or "") for name in STANDARD_FIELDS}
    keys = (
        field_keys
        if field_keys is not None
        else list(custom_fields(recipient.workspace).values_list("key", flat=True))
    )
    stored = recipient.fields or {}
    for key in keys:
        value = stored.get(key)
        values[key] = "" if value is None else _as_text(value)
    return values


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def recipient_get(workspace: Workspace, recipient_id: int) -> Recipient | None:
    return Recipient.objects.filter(workspace=workspace, pk=recipient_id).first()


def recipient_of_address(workspace: Workspace, email: str) -> Recipient | None:
    """The workspace's recipient with this address, any case: recipients are stored
    lowercased, so the unique (workspace, email) index finds it (email__iexact would read
    every recipient of the workspace)."""
    address = email.strip().lower()
    return Recipient.objects.filter(workspace=workspace, email=address).first() if address else None


def import_lines_naming(workspace: Workspace, email: str) -> QuerySet[ImportRejection]:
    """The workspace's import report lines (rejected or duplicate) that name this address, any
    case: a line keeps the address as the file wrote it, so it is matched by the lines'
    UPPER(email) index, whatever their number."""
    return ImportRejection.objects.filter(job__workspace=workspace, email__iexact=email)


# --------------------------------------------------------------------------- filtering

# The columns the recipients table may be sorted by, each served by an index that starts with
# (workspace, column) (see Recipient.Meta): sorting by any other column would sort every
# recipient of the workspace for every page, a million rows in a large one.
SORTABLE = ("email", "last_name", "company", "created_at", "updated_at")
PAGE_SIZE = 50


@dataclass(frozen=True)
class RecipientFilter:
    """What the recipients table, the export and a bulk job select: all parts combine with AND.

    It is plain data (see `as_params`/`from_params`) so that a background job can carry it.
    """

    q: str = ""
    status: str = ""
    list_id: int | None = None
    segment_id: int | None = None
    field: str = ""
    op: str = ""
    value: str = ""
    ids: tuple[int, ...] = ()

    def as_params(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RecipientFilter:
        return cls(
            q=str(params.get("q") or ""),
            status=str(params.get("status") or ""),
            list_id=_int_or_none(params.get("list_id")),
            segment_id=_int_or_none(params.get("segment_id")),
            field=str(params.get("field") or ""),
            op=str(params.get("op") or ""),
            value=str(params.get("value") or ""),
            ids=tuple(int(i) for i in params.get("ids") or ()),
        )

    @property
    def is_empty(self) -> bool:
        return self == RecipientFilter()


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def custom_field_types(workspace: Workspace) -> dict[str, str]:
    return dict(custom_fields(workspace).values_list("key", "type"))


def segment_q(workspace: Workspace, definition: Any) -> Q:
    """The Q of a segment definition in this workspace; raises SegmentError when malformed."""
    return compile_definition(definition, custom_field_types(workspace))


SEARCHED = ("email", "first_name", "last_name", "company")
SEARCH_SEPARATOR = "\x01"


class SearchText(Func):
    """A recipient's searched columns as one text: e-mail, first and last name, company.

    On PostgreSQL `UPPER(<this>) LIKE` (what icontains writes) is served by ONE trigram index
    on the same expression (migration audience 0010): four indexes, one a column, cost an
    import 34 µs a row, this one 13 µs (bench/bench_import.py). The columns are apart by
    SEARCH_SEPARATOR, a control character, so that a term without it only matches inside
    one column, as four separate LIKEs would.
    """

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = TextField()

    def __init__(self) -> None:
        parts: list[Any] = []
        for name in SEARCHED:
            parts += [F(name), Value(SEARCH_SEPARATOR)]
        super().__init__(*parts[:-1])


def search_q(text: str) -> Q:
    """Recipients whose e-mail, first or last name or company contains `text`, any case.

    On PostgreSQL served by the trigram index of SearchText when the text has three characters
    or more; shorter ones read the workspace in e-mail order until a page is full.
    """
    term = text.strip()
    if SEARCH_SEPARATOR in term:  # could match across two columns: ask each (no index)
        return reduce(operator.or_, (Q(**{f"{name}__icontains": term}) for name in SEARCHED))
    return Q(IContains(SearchText(), term))


def recipients_matching(workspace: Workspace, flt: RecipientFilter) -> QuerySet[Recipient]:
    """Recipients of the workspace that pass every part of the filter, as ONE query.

    Raises SegmentError when the filter's condition or its segment cannot be compiled; a
    segment or list of another workspace matches nobody.
    """
    qs = Recipient.objects.filter(workspace=workspace)
    if flt.q:
        qs = qs.filter(search_q(flt.q))
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.list_id is not None:
        members = ListMembership.objects.filter(
            recipient_list_id=flt.list_id, recipient_list__workspace=workspace
        )
        qs = qs.filter(pk__in=members.values("recipient_id"))
    if flt.segment_id is not None:
        segment = segment_get(workspace, flt.segment_id)
        qs = qs.filter(segment_q(workspace, segment.definition)) if segment else qs.none()
    if flt.field and flt.op:
        cond = {"field": flt.field, "op": flt.op, "value": flt.value}
        qs = qs.filter(segment_q(workspace, {"match": "all", "conditions": [cond]}))
    if flt.ids:
        qs = qs.filter(pk__in=flt.ids)
    return qs


@dataclass
class Page:
    rows: list[Recipient]
    next_cursor: str
    sort: str
    descending: bool


def recipients_page(
    qs: QuerySet[Recipient], *, sort: str, descending: bool, cursor: str, size: int = PAGE_SIZE
) -> Page:
    """One page by keyset (sort value, id): no COUNT and no OFFSET, so page 1,000 costs page 1.

    `cursor` is the opaque value of the previous page's `next_cursor` ("" for the first page).
    Raises ValueError for a `sort` outside SORTABLE: callers refuse it (API) or say so (UI).
    """
    if sort not in SORTABLE:
        raise ValueError(f"recipients are not sorted by {sort!r}: one of {', '.join(SORTABLE)}")
    page = keyset_page(qs, key=sort, cursor=cursor, size=size, descending=descending)
    return Page(rows=page.rows, next_cursor=page.next_cursor, sort=sort, descending=descending)


def recipient_ids_after(qs: QuerySet[Recipient], after: int, size: int) -> list[int]:
    """The next `size` ids of `qs` after id `after` (keyset over the primary key)."""
    return list(qs.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size])


def recipients_by_email(workspace: Workspace, emails: list[str]) -> dict[str, dict[str, Any]]:
    """The stored standard columns and custom values of those `emails` that are recipients.

    Read in chunks, so that ten thousand addresses never make one statement with ten
    thousand parameters.
    """
    columns = (*STANDARD_FIELDS, "fields")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(emails), 2000):
        chunk = emails[start : start + 2000]
        rows = Recipient.objects.filter(workspace=workspace, email__in=chunk).values(*columns)
        for row in rows:
            found[row["email"]] = row
    return found


def recipients_total(workspace: Workspace) -> int:
    """The workspace's recipient count, cached for a minute so that pages do not COUNT(*)."""
    key = f"audience:total:{workspace.pk}"
    total = soft_cache.get(key)
    if total is None:
        total = Recipient.objects.filter(workspace=workspace).count()
        soft_cache.set(key, total, 60)
    return int(total)


def recipients_total_forget(workspace: Workspace) -> None:
    soft_cache.delete(f"audience:total:{workspace.pk}")


# --------------------------------------------------------------------------- lookups


def custom_field_get(workspace: Workspace, field_id: int) -> CustomField | None:
    return custom_fields(workspace).filter(pk=field_id).first()


def custom_field_value_count(workspace: Workspace, key: str) -> int:
    """How many recipients hold a value for the field `key` (what deleting it hides)."""
    return (
        Recipient.objects.filter(workspace=workspace, fields__has_key=key)
        .exclude(**{f"fields__{key}": ""})
        .count()
    )


def list_member_count(recipient_list: RecipientList) -> int:
    return ListMembership.objects.filter(recipient_list=recipient_list).count()


def lists_of(workspace: Workspace) -> QuerySet[RecipientList]:
    return RecipientList.objects.filter(workspace=workspace)


def lists_with_counts(workspace: Workspace) -> QuerySet[RecipientList]:
    return lists_of(workspace).annotate(size=Count("listmembership"))


def list_get(workspace: Workspace, list_id: int) -> RecipientList | None:
    return lists_of(workspace).filter(pk=list_id).first()


def segments_of(workspace: Workspace) -> QuerySet[Segment]:
    return Segment.objects.filter(workspace=workspace)


def segment_get(workspace: Workspace, segment_id: int) -> Segment | None:
    return segments_of(workspace).filter(pk=segment_id).first()


def segment_count(workspace: Workspace, definition: Any) -> int:
    """How many recipients a definition selects (one COUNT query); raises SegmentError."""
    return (
        Recipient.objects.filter(workspace=workspace)
        .filter(segment_q(workspace, definition))
        .count()
    )


def consents_of(recipient: Recipient) -> QuerySet[Consent]:
    """The proofs of consent of one recipient, newest first."""
    return Consent.objects.filter(workspace_id=recipient.workspace_id, recipient=recipient)


def suppressions_of(workspace: Workspace) -> QuerySet[Suppression]:
    return Suppression.objects.filter(workspace=workspace)


# Looks like one address (its domain unchecked: lists keep whatever was sent to or imported).
WHOLE_ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def whole_address(q: str) -> str | None:
    """A search for one whole address, in the form addresses are stored (stripped, lower
    case), to be looked up as that address alone; None for part of one (or nothing)."""
    text = q.strip().lower()
    return text if WHOLE_ADDRESS.fullmatch(text) else None


def suppressions_matching(qs: QuerySet[Suppression], q: str) -> QuerySet[Suppression]:
    """The entries a search asks for: a whole address is that entry alone, read through the
    unique index (a person checking whether an address is blocked); part of one is matched
    anywhere, any case, which on PostgreSQL a trigram index serves (migration audience 0015:
    at 1,000,000 entries a rare part took 189 ms without it, 5 ms with it)."""
    if address := whole_address(q):
        return qs.filter(email=address)
    text = q.strip().lower()
    return qs.filter(email__icontains=text) if text else qs


def suppression_get(workspace: Workspace, suppression_id: int) -> Suppression | None:
    return suppressions_of(workspace).filter(pk=suppression_id).first()


def is_suppressed(workspace: Workspace, email: str) -> bool:
    """True if mail to `email` must not be sent in this workspace (compared normalised)."""
    return suppressions_of(workspace).filter(email=email.strip().lower()).exists()


def suppressed_emails_query(workspace: Workspace) -> QuerySet[Suppression, str]:
    """A subquery of the workspace's suppressed addresses, for `email__in=` in the engine."""
    return suppressions_of(workspace).values_list("email", flat=True)


def jobs_of(workspace: Workspace) -> QuerySet[AudienceJob]:
    return AudienceJob.objects.filter(workspace=workspace)


def job_get(workspace: Workspace, job_id: int) -> AudienceJob | None:
    return jobs_of(workspace).filter(pk=job_id).first()


def recipient_data(recipient: Recipient) -> dict[str, Any]:
    """Everything stored about one recipient, for a privacy (subject access) export."""
    workspace = recipient.workspace
    suppression = suppressions_of(workspace).filter(email=recipient.email).first()
    return {
        "email": recipient.email,
        **{name: getattr(recipient, name) for name in STANDARD_FIELDS if name != "email"},
        "status": recipient.status,
        "custom_fields": recipient.fields,
        "created_at": recipient.created_at.isoformat(),
        "updated_at": recipient.updated_at.isoformat(),
        "lists": [
            {"name": m.recipient_list.name, "added_at": m.added_at.isoformat()}
            for m in ListMembership.objects.filter(recipient=recipient).select_related(
                "recipient_list"
            )
        ],
        "consents": [
            {
                "list": consent.list_name,
                "method": consent.method,
                "source": consent.source,
                "signed_up_at": consent.signed_up_at.isoformat(),
                "signed_up_ip": consent.signed_up_ip,
                "confirmed_at": _iso(consent.confirmed_at),
                "confirmed_ip": consent.confirmed_ip,
            }
            for consent in Consent.objects.filter(workspace=workspace, recipient=recipient)
        ],
        "suppression": (
            {
                "reason": suppression.reason,
                "source": suppression.source,
                "created_at": suppression.created_at.isoformat(),
            }
            if suppression
            else None
        ),
        "workspace": workspace.name,
        **_data_above(workspace, recipient.email),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _data_above(workspace: Workspace, email: str) -> dict[str, Any]:
    """What the layers above keep of the address (messages sent, events, mailbox messages,
    sign-ups waiting): settings.RECIPIENT_DATA_PROVIDERS."""
    found: dict[str, Any] = {}
    for path in settings.RECIPIENT_DATA_PROVIDERS:
        found |= import_string(path)(workspace=workspace, email=email)
    return found


def uploads_waiting_bytes(workspace: Workspace) -> int:
    """The size of the workspace's uploaded files whose import has not ended (they are on disk)."""
    waiting = AudienceJob.objects.filter(
        workspace=workspace,
        kind=JobKind.IMPORT,
        status__in=(JobStatus.DRAFT, JobStatus.QUEUED, JobStatus.RUNNING),
    )
    return int(waiting.aggregate(total=Sum("total"))["total"] or 0)


def custom_field_users(field: CustomField) -> list[str]:
    """What reads this field elsewhere in Postroom (templates…), from the functions named in
    settings.CUSTOM_FIELD_USERS, which live in the layers above this one."""
    found: list[str] = []
    for path in settings.CUSTOM_FIELD_USERS:
        found += import_string(path)(workspace=field.workspace, key=field.key)
    return found
