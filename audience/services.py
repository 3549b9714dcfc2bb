"""Writes for the audience: recipients, custom fields, lists, segments, suppression, jobs.

Every service is keyword-only and atomic. Validation errors are raised as Django's
ValidationError with a message for people, so views can show them next to the form.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.audit import services as audit
from accounts.models import User, Workspace
from audience import selectors
from audience.bulkwrite import (
    CHANGED,
    NEW,
    PRESENT,
    WRITTEN,
    as_row,
    compare_stored,
    copy_if_all_new,
    existing_recipients,
    write_rows,
)
from audience.emails import InvalidEmail, normalize_email
from audience.fields import FieldValueError, JsonValue, coerce_value
from audience.importer import (
    IMPORT_FIELDS,
    ImportFileError,
    ParsedRow,
    Rejection,
    inspect_file,
    slug_for,
    too_large,
)
from audience.models import (
    DEFAULT_CUSTOM_FIELDS,
    LINK_PLACEHOLDERS,
    STANDARD_FIELDS,
    AudienceJob,
    Consent,
    CustomField,
    CustomFieldType,
    ImportRejection,
    JobKind,
    JobStatus,
    ListMembership,
    Recipient,
    RecipientList,
    RecipientStatus,
    Segment,
    Suppression,
    SuppressionReason,
    field_key_validator,
)
from audience.segments import SegmentError
from audience.upsert import UpsertOutcome, parse_rows
from core import reasons
from core.one_ahead import Turn
from core.reasons import Reason

# Marked for the catalog; the recipients page translates them.
BULK_ACTIONS = {
    "add_to_list": gettext_noop("Add to list"),
    "remove_from_list": gettext_noop("Remove from list"),
    "unsubscribe": gettext_noop("Unsubscribe"),
    "delete": gettext_noop("Delete"),
}


@transaction.atomic
def workspace_initialize(*, workspace: Workspace) -> None:
    """Give a new workspace the custom fields of the djangoMailer CSV (free_field1..3)."""
    CustomField.objects.bulk_create(
        [
            CustomField(workspace=workspace, key=key, label=key.replace("_", " ").capitalize())
            for key in DEFAULT_CUSTOM_FIELDS
        ],
        ignore_conflicts=True,
    )


# --------------------------------------------------------------------------- recipients


class EmailTaken(ValidationError):
    """The address belongs to another recipient of the workspace (the API answers 409)."""

    def __init__(self, address: str) -> None:
        super().__init__({"email": f"{address} is already a recipient in this workspace."})
        self.address = address


def _clean_email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidEmail as exc:
        raise ValidationError({"email": str(exc)}) from exc


def clean_custom_values(workspace: Workspace, raw: dict[str, str]) -> dict[str, JsonValue]:
    """Convert form text to typed custom values; ValidationError names every bad field."""
    values: dict[str, JsonValue] = {}
    errors: dict[str, str] = {}
    for cf in selectors.custom_fields(workspace):
        if cf.key not in raw:
            continue
        try:
            value = coerce_value(cf.key, cf.type, list(cf.choices), raw[cf.key])
        except FieldValueError as exc:
            errors[f"field_{cf.key}"] = str(exc)
            continue
        if value is not None:
            values[cf.key] = value
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def recipient_create(
    *, workspace: Workspace, email: str, values: dict[str, str], fields: dict[str, JsonValue]
) -> Recipient:
    """Create one recipient. Raises ValidationError for an invalid or already present e-mail."""
    address = _clean_email(email)
    if Recipient.objects.filter(workspace=workspace, email=address).exists():
        raise EmailTaken(address)
    recipient = Recipient(workspace=workspace, email=address, fields=fields)
    _assign(recipient, values)
    recipient.full_clean(exclude=["workspace"])
    recipient.save()
    selectors.recipients_total_forget(workspace)
    return recipient


def _assign(recipient: Recipient, values: dict[str, str]) -> None:
    for name in (*STANDARD_FIELDS[1:], "status"):
        if name in values:
            setattr(recipient, name, values[name])


@transaction.atomic
def recipient_update(
    *, recipient: Recipient, email: str, values: dict[str, str], fields: dict[str, JsonValue]
) -> Recipient:
    """Change a recipient; custom values not given are kept. Raises ValidationError."""
    address = _clean_email(email)
    taken = Recipient.objects.filter(workspace=recipient.workspace, email=address)
    if taken.exclude(pk=recipient.pk).exists():
        raise EmailTaken(address)
    recipient.email = address
    _assign(recipient, values)
    recipient.fields = {**recipient.fields, **fields}
    recipient.updated_at = timezone.now()
    recipient.full_clean(exclude=["workspace"])
    recipient.save()
    return recipient


@transaction.atomic
def recipient_delete(*, recipient: Recipient) -> None:
    """Delete a recipient and its list memberships (its suppression entry stays)."""
    workspace = recipient.workspace
    recipient.delete()
    selectors.recipients_total_forget(workspace)


@transaction.atomic
def recipient_erase(*, recipient: Recipient, keep_blocked: bool) -> None:
    """Erase everything stored about a recipient (right to erasure).

    The row, its list memberships, its events (opens, clicks, bounces…) and pending sign-ups
    go; its deliveries and attempts keep their place in the campaigns' figures with the
    address blanked (the layers above, through settings.RECIPIENT_ERASERS), and so do the
    lines of import reports that named it. The suppression entry for the address is the one thing
    that may stay, and only when `keep_blocked` is chosen: it then holds the bare address so
    that a later import cannot mail the person again. Without it, no trace stays.
    """
    workspace, email = recipient.workspace, recipient.email
    # What the layers above keep (deliveries and attempts, events, sign-ups), before the row
    # goes: its deliveries are found by it.
    for path in settings.RECIPIENT_ERASERS:
        import_string(path)(workspace=workspace, email=email)
    recipient.delete()
    _erase_from_import_reports(workspace, email)
    entries = Suppression.objects.filter(workspace=workspace, email=email)
    if keep_blocked:
        if not entries.exists():
            Suppression.objects.create(
                workspace=workspace, email=email, reason=SuppressionReason.MANUAL, source="erasure"
            )
        entries.update(source="erasure")
    else:
        entries.delete()
    selectors.recipients_total_forget(workspace)
    audit.person_erase(workspace=workspace, email=email)
    # The address goes into the log only when it stays blocked anyway.
    audit.record("privacy.erased", workspace=workspace, target_label=email if keep_blocked else "")


def _erase_from_import_reports(workspace: Workspace, email: str) -> None:
    """The address out of the import reports' rejected and duplicate lines (the lines stay,
    so that a report's counts still add up)."""
    selectors.import_lines_naming(workspace, email).update(email="")


UPSERT_MAX = 10_000
# Columns a bulk upsert may change on an existing recipient (custom values are merged).
UPSERT_COLUMNS = (*STANDARD_FIELDS[1:], "fields")


@transaction.atomic
def recipients_upsert(
    *,
    workspace: Workspace,
    rows: Sequence[Any],
    update_existing: bool,
    recipient_lists: Sequence[RecipientList] = (),
) -> UpsertOutcome:
    """Create or update up to UPSERT_MAX recipients in a few statements; count what happened.

    Rows are checked by the importer's rules (`audience.upsert`); a bad row is reported with
    its index and the others are written. An existing recipient is changed only when
    `update_existing` is set and a given value differs: columns a row leaves out keep their
    value, custom values are merged. Every valid row's recipient joins `recipient_lists`.
    Raises ValidationError when there are more than UPSERT_MAX rows.
    """
    if len(rows) > UPSERT_MAX:
        raise ValidationError(
            {
                "recipients": _(
                    "At most %(most)s recipients per call; this one has %(given)s. Send them in "
                    "several calls."
                )
                % {"most": f"{UPSERT_MAX:,}", "given": f"{len(rows):,}"}
            }
        )
    types = {f.key: (f.type, list(f.choices)) for f in selectors.custom_fields(workspace)}
    good, rejected = parse_rows(rows, types)
    existing = selectors.recipients_by_email(workspace, [r.email for r in good])
    outcome = UpsertOutcome(rejected=rejected)
    new, changed = [], []
    for row in good:
        stored = existing.get(row.email)
        if stored is None:
            new.append(as_row(row.email, row.values, row.custom))
            continue
        merged = {**stored, **row.values, "fields": {**stored["fields"], **row.custom}}
        if not update_existing or merged == stored:
            outcome.unchanged += 1
        else:
            changed.append(as_row(row.email, merged, merged["fields"]))
    stamp = timezone.now()
    write_rows(workspace.pk, new, stamp)
    write_rows(workspace.pk, changed, stamp, UPSERT_COLUMNS)
    outcome.created, outcome.updated = len(new), len(changed)
    for recipient_list in recipient_lists:
        _add_to_list(workspace, recipient_list.pk, [r.email for r in good])
    if new:
        selectors.recipients_total_forget(workspace)
    return outcome


# --------------------------------------------------------------------------- custom fields


@transaction.atomic
def custom_field_create(
    *, workspace: Workspace, key: str, label: str, type: str, choices: Sequence[str] = ()
) -> CustomField:
    """Define a custom field. Raises ValidationError for a bad, standard or taken key."""
    key = key.strip().lower()
    field_key_validator(key)
    if key in STANDARD_FIELDS or key == "status":
        raise ValidationError({"key": _("%(key)s is a standard field already.") % {"key": key}})
    if key in LINK_PLACEHOLDERS:  # the message's own link would hide the recipient's value
        raise ValidationError(
            {"key": _("%(key)s is the name of a link every message has.") % {"key": key}}
        )
    if CustomField.objects.filter(workspace=workspace, key=key).exists():
        raise ValidationError({"key": _("A field called %(key)s exists already.") % {"key": key}})
    if type not in CustomFieldType.values:
        raise ValidationError({"type": _("Choose a type.")})
    field = CustomField.objects.create(
        workspace=workspace,
        key=key,
        label=label.strip() or key,
        type=type,
        choices=[c.strip() for c in choices if c.strip()],
    )
    audit.record("custom_field.created", workspace=workspace, target=field, key=key, type=type)
    return field


@transaction.atomic
def custom_field_update(
    *, field: CustomField, label: str, type: str, choices: Sequence[str] = ()
) -> CustomField:
    """Change a field's label, type or choices (its key stays: templates use it)."""
    if type not in CustomFieldType.values:
        raise ValidationError({"type": _("Choose a type.")})
    given = {
        "label": label.strip() or field.key,
        "type": type,
        "choices": [c.strip() for c in choices if c.strip()],
    }
    changed = sorted(name for name, value in given.items() if getattr(field, name) != value)
    for name, value in given.items():
        setattr(field, name, value)
    field.save(update_fields=["label", "type", "choices"])
    if changed:
        audit.record(
            "custom_field.changed", workspace=field.workspace, target=field, fields=changed
        )
    return field


@transaction.atomic
def custom_field_delete(*, field: CustomField) -> None:
    """Remove the definition; values stay in recipients' JSON but are no longer shown."""
    audit.record("custom_field.deleted", workspace=field.workspace, target=field, key=field.key)
    field.delete()


# --------------------------------------------------------------------------- lists, segments


@transaction.atomic
def list_create(
    *, workspace: Workspace, name: str, description: str = "", single_opt_in: bool = False
) -> RecipientList:
    """Create a list. Raises ValidationError when the name is empty or taken."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the list a name.")})
    if RecipientList.objects.filter(workspace=workspace, name=name).exists():
        raise ValidationError(
            {"name": _("A list called %(name)s exists already.") % {"name": name}}
        )
    created = RecipientList.objects.create(
        workspace=workspace, name=name, description=description, single_opt_in=single_opt_in
    )
    audit.record("list.created", workspace=workspace, target=created)
    return created


@transaction.atomic
def list_update(
    *,
    recipient_list: RecipientList,
    name: str,
    description: str,
    single_opt_in: bool | None = None,
) -> RecipientList:
    """Rename a list (and, when given, change how sign-up forms add people to it). Raises
    ValidationError when the name is empty or taken."""
    name = name.strip()
    others = RecipientList.objects.filter(workspace=recipient_list.workspace, name=name)
    if not name or others.exclude(pk=recipient_list.pk).exists():
        raise ValidationError({"name": _("Choose a name no other list has.")})
    given: dict[str, Any] = {"name": name, "description": description}
    if single_opt_in is not None:
        given["single_opt_in"] = single_opt_in
    changed = sorted(key for key, value in given.items() if getattr(recipient_list, key) != value)
    for key, value in given.items():
        setattr(recipient_list, key, value)
    recipient_list.save(update_fields=list(given))
    if changed:
        audit.record(
            "list.changed", workspace=recipient_list.workspace, target=recipient_list,
            fields=changed,
        )  # fmt: skip
    return recipient_list


@transaction.atomic
def list_delete(*, recipient_list: RecipientList) -> None:
    """Delete a list and its memberships; the recipients stay."""
    audit.record("list.deleted", workspace=recipient_list.workspace, target=recipient_list)
    recipient_list.delete()


def _clean_definition(workspace: Workspace, definition: Any) -> Any:
    try:
        selectors.segment_q(workspace, definition)
    except SegmentError as exc:
        raise ValidationError({"definition": str(exc)}) from exc
    return definition


@transaction.atomic
def segment_save(
    *, workspace: Workspace, name: str, definition: Any, segment: Segment | None = None
) -> Segment:
    """Create or change a segment. Raises ValidationError for a bad name or definition."""
    name = name.strip()
    others = Segment.objects.filter(workspace=workspace, name=name)
    if segment is not None:
        others = others.exclude(pk=segment.pk)
    if not name or others.exists():
        raise ValidationError({"name": _("Choose a name no other segment has.")})
    definition = _clean_definition(workspace, definition)
    if segment is None:
        segment = Segment.objects.create(workspace=workspace, name=name, definition=definition)
        audit.record("segment.created", workspace=workspace, target=segment)
        return segment
    changed = [
        key
        for key, value in (("name", name), ("definition", definition))
        if getattr(segment, key) != value
    ]
    segment.name, segment.definition = name, definition
    segment.save(update_fields=["name", "definition"])
    if changed:
        audit.record("segment.changed", workspace=workspace, target=segment, fields=changed)
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    audit.record("segment.deleted", workspace=segment.workspace, target=segment)
    segment.delete()


# --------------------------------------------------------------------------- suppression


@transaction.atomic
def suppression_add(
    *, workspace: Workspace, email: str, reason: str = SuppressionReason.MANUAL, source: str = ""
) -> Suppression:
    """Block an address (idempotent: an existing entry is kept as it is). ValidationError."""
    address = _clean_email(email)
    entry, _ = Suppression.objects.get_or_create(
        workspace=workspace, email=address, defaults={"reason": reason, "source": source[:200]}
    )
    return entry


@transaction.atomic
def suppression_remove(*, suppression: Suppression) -> None:
    """Unblock an address. Owners only: the view enforces the role."""
    audit.record(
        "suppression.removed", workspace=suppression.workspace, target_label=suppression.email
    )
    suppression.delete()


def suppression_import(
    *, workspace: Workspace, lines: Iterable[str], reason: str, source: str
) -> tuple[int, list[str]]:
    """Block every address in `lines` (the first cell of each); return (added, invalid).

    Written in batches of 1,000 with ignore_conflicts, so already blocked addresses are kept.
    """
    added, invalid, batch = 0, [], []
    for line in lines:
        cell = line.replace(";", ",").split(",", 1)[0].strip().strip('"')
        if not cell or cell.lower() in ("email", "e-mail"):
            continue
        try:
            batch.append(normalize_email(cell))
        except InvalidEmail:
            invalid.append(cell[:200])
        if len(batch) >= 1000:
            added += _suppress_many(workspace, batch, reason, source)
            batch = []
    return added + _suppress_many(workspace, batch, reason, source), invalid


@transaction.atomic
def _suppress_many(workspace: Workspace, emails: list[str], reason: str, source: str) -> int:
    before = Suppression.objects.filter(workspace=workspace, email__in=emails).count()
    Suppression.objects.bulk_create(
        [Suppression(workspace=workspace, email=e, reason=reason, source=source) for e in emails],
        ignore_conflicts=True,
    )
    return len(set(emails)) - before


# --------------------------------------------------------------------------- consent


@dataclass(frozen=True)
class ConsentFacts:
    """How a person asked to join lists, as audience.Consent records it."""

    method: str  # ConsentMethod
    source: str
    signed_up_at: datetime
    signed_up_ip: str | None = None
    confirmed_at: datetime | None = None
    confirmed_ip: str | None = None


@transaction.atomic
def recipient_subscribe(
    *,
    workspace: Workspace,
    email: str,
    values: dict[str, str],
    fields: dict[str, JsonValue],
    lists: Sequence[RecipientList],
    consent: ConsentFacts,
) -> Recipient:
    """Add the person who signed up to `lists`, with a Consent row per list.

    A new address becomes a recipient with the values given; a known one keeps its values and
    only gains those it lacked (a public form must not overwrite what the workspace knows), and
    an unsubscribed one is active again, since it has just asked for mail. The caller checks
    suppression first. Raises ValidationError for an invalid address.
    """
    address = _clean_email(email)
    recipient = Recipient.objects.select_for_update().filter(workspace=workspace, email=address)
    found = recipient.first()
    if found is None:
        found = recipient_create(workspace=workspace, email=address, values=values, fields=fields)
    else:
        _fill_blanks(found, values, fields)
    ListMembership.objects.bulk_create(
        [ListMembership(recipient_list=item, recipient=found) for item in lists],
        ignore_conflicts=True,
    )
    Consent.objects.bulk_create(
        [
            Consent(
                workspace=workspace,
                recipient=found,
                recipient_list=item,
                list_name=item.name,
                method=consent.method,
                source=consent.source[:200],
                signed_up_at=consent.signed_up_at,
                signed_up_ip=consent.signed_up_ip,
                confirmed_at=consent.confirmed_at,
                confirmed_ip=consent.confirmed_ip,
            )
            for item in lists
        ]
    )
    return found


def _fill_blanks(
    recipient: Recipient, values: dict[str, str], fields: dict[str, JsonValue]
) -> None:
    changed = [n for n in STANDARD_FIELDS[1:] if values.get(n) and not getattr(recipient, n)]
    for name in changed:
        setattr(recipient, name, values[name])
    missing = {k: v for k, v in fields.items() if k not in recipient.fields}
    if missing:
        recipient.fields = {**recipient.fields, **missing}
        changed.append("fields")
    if recipient.status == RecipientStatus.UNSUBSCRIBED:
        recipient.status = RecipientStatus.ACTIVE
        changed.append("status")
    if changed:
        recipient.updated_at = timezone.now()
        recipient.save(update_fields=[*changed, "updated_at"])


# --------------------------------------------------------------------------- bulk actions


@transaction.atomic
def recipients_bulk_apply(
    *, workspace: Workspace, action: str, ids: Sequence[int], recipient_list: RecipientList | None
) -> int:
    """Apply one bulk action to recipients `ids` of the workspace; return how many it touched.

    Raises ValidationError for an unknown action or a list action without a list.
    """
    rows = Recipient.objects.filter(workspace=workspace, pk__in=ids)
    if action in ("add_to_list", "remove_from_list") and recipient_list is None:
        raise ValidationError(_("Choose a list."))
    if action == "add_to_list" and recipient_list is not None:
        pks = list(rows.values_list("pk", flat=True))
        ListMembership.objects.bulk_create(
            [ListMembership(recipient_list=recipient_list, recipient_id=pk) for pk in pks],
            ignore_conflicts=True,
        )
        return len(pks)
    if action == "remove_from_list" and recipient_list is not None:
        ListMembership.objects.filter(recipient_list=recipient_list, recipient__in=rows).delete()
        return len(ids)
    if action == "unsubscribe":
        emails = list(rows.values_list("email", flat=True))
        rows.update(status=RecipientStatus.UNSUBSCRIBED, updated_at=timezone.now())
        _suppress_many(workspace, emails, SuppressionReason.UNSUBSCRIBED, "bulk action")
        return len(emails)
    if action == "delete":
        count = rows.count()
        rows.delete()
        selectors.recipients_total_forget(workspace)
        return count
    raise ValidationError(_("Unknown bulk action."))


@transaction.atomic
def bulk_job_create(
    *,
    workspace: Workspace,
    user: User | None,
    action: str,
    flt: selectors.RecipientFilter,
    recipient_list: RecipientList | None,
) -> AudienceJob:
    """Queue a bulk action over everything the filter matches (counted once, for progress)."""
    if action not in BULK_ACTIONS:
        raise ValidationError(_("Unknown bulk action."))
    if action in ("add_to_list", "remove_from_list") and recipient_list is None:
        raise ValidationError(_("Choose a list."))
    total = selectors.recipients_matching(workspace, flt).count()
    return AudienceJob.objects.create(
        workspace=workspace,
        kind=JobKind.BULK,
        created_by=user,
        total=total,
        params={
            "action": action,
            "list_id": recipient_list.pk if recipient_list else None,
            "filter": flt.as_params(),
        },
    )


# --------------------------------------------------------------------------- imports


def uploads_root() -> Path:
    """Where uploaded CSV files wait for their import, one folder per workspace."""
    return Path(settings.MEDIA_ROOT) / "imports"


def _upload_dir(workspace: Workspace) -> Path:
    path = uploads_root() / str(workspace.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_upload_room(workspace: Workspace, size: int) -> None:
    """Raise ImportFileError when the workspace's waiting uploads and this one together pass
    AUDIENCE_UPLOADS_MAX_BYTES: every file stays on disk until its import ends."""
    limit = settings.AUDIENCE_UPLOADS_MAX_BYTES
    waiting = selectors.uploads_waiting_bytes(workspace)
    if waiting + size > limit:
        raise ImportFileError(
            _(
                "This workspace already holds %(waiting)s MB of uploaded files waiting to be "
                "imported, and may hold %(limit)s MB. Start or discard those imports first, "
                "then upload this file again."
            )
            % {"waiting": f"{waiting / 1e6:.1f}", "limit": f"{limit / 1e6:.0f}"}
        )


def import_upload(
    *,
    workspace: Workspace,
    user: User | None,
    upload: File[Any],
    encoding: str = "",
    delimiter: str = "",
) -> AudienceJob:
    """Store an uploaded CSV under MEDIA_ROOT and inspect it; the job waits for its mapping.

    `encoding` and `delimiter` are the user's choice (see importer.ENCODINGS, DELIMITERS);
    empty, they are detected.

    Raises ImportFileError (and keeps nothing) for a file too large, empty, binary, without a
    header or without any column that could hold e-mail addresses, or when the workspace's
    uploads waiting to be imported leave no room for it.
    """
    limit = settings.AUDIENCE_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ImportFileError(too_large(upload.size, limit))
    _check_upload_room(workspace, upload.size or 0)
    path = _upload_dir(workspace) / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        info = inspect_file(path, encoding=encoding, delimiter=delimiter)
    except ImportFileError:
        path.unlink(missing_ok=True)
        raise
    return _import_draft(workspace, user, upload.name or "upload.csv", path, info)


@transaction.atomic
def _import_draft(
    workspace: Workspace, user: User | None, name: str, path: Path, info: Any
) -> AudienceJob:
    return AudienceJob.objects.create(
        workspace=workspace,
        kind=JobKind.IMPORT,
        status=JobStatus.DRAFT,
        created_by=user,
        file_name=name[:255],
        total=path.stat().st_size,
        params={
            "path": str(path),
            "encoding": info.encoding,
            "delimiter": info.delimiter,
            "header": info.header,
            "preview": info.preview,
        },
    )


@transaction.atomic
def import_start(
    *,
    job: AudienceJob,
    mapping: list[str],
    new_fields: dict[str, str],
    mode: str,
    recipient_list: RecipientList | None,
) -> AudienceJob:
    """Create the chosen new custom fields and queue the import.

    `mapping[i]` is column i's target ('email', a standard field, 'field:<key>', 'new:<key>'
    or ''); `new_fields` maps new keys to their type. Raises ValidationError when no column is
    the e-mail, a target is used twice, or a new key is not allowed.
    """
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import has started already."))
    # A new key is made the way the import page proposes keys (тариф -> tarif), whoever asks:
    # the API takes a column's own name as readily as the page does.
    keys = {t: _new_key(t[4:]) for t in mapping if t.startswith("new:")}
    mapping = [f"new:{keys[t]}" if t in keys else t for t in mapping]
    new_fields = {_new_key(key): kind for key, kind in new_fields.items()}
    targets = [t for t in mapping if t]
    if "email" not in targets:
        raise ValidationError(_("Choose the column that holds the e-mail addresses."))
    if len(set(targets)) != len(targets):
        raise ValidationError(_("Each field may be filled from one column only."))
    final: list[str] = []
    for target in mapping:
        if target.startswith("new:"):
            key = target[4:]
            if not CustomField.objects.filter(workspace=job.workspace, key=key).exists():
                custom_field_create(
                    workspace=job.workspace,
                    key=key,
                    label=key.replace("_", " ").capitalize(),
                    type=new_fields.get(key, CustomFieldType.TEXT),
                )
            target = f"field:{key}"
        final.append(target)
    job.params = {
        **job.params,
        "mapping": final,
        "mode": "update" if mode == "update" else "add",
        "list_id": recipient_list.pk if recipient_list else None,
    }
    job.status = JobStatus.QUEUED
    job.save(update_fields=["params", "status"])
    audit.record("import.started", workspace=job.workspace, target=job, file=job.file_name)
    return job


def _new_key(name: str) -> str:
    key = slug_for(name)
    if not key:
        raise ValidationError(
            _(
                "“%(name)s” cannot be a field key: give the new field a name with a letter or "
                "a digit."
            )
            % {"name": name}
        )
    return key


def job_cancel(*, job: AudienceJob) -> AudienceJob:
    """Ask a job to stop. A queued or draft job stops at once; a running one after its batch."""
    with transaction.atomic():
        AudienceJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        stopped = AudienceJob.objects.filter(
            pk=job.pk, status__in=(JobStatus.DRAFT, JobStatus.QUEUED)
        ).update(status=JobStatus.CANCELLED, finished_at=timezone.now())
    if stopped:
        job_discard_file(job=job)
    job.refresh_from_db()
    return job


def job_discard_file(*, job: AudienceJob) -> None:
    """Delete an import's uploaded file (kept under MEDIA_ROOT only until the job ends)."""
    path = job.params.get("path")
    if path:
        Path(path).unlink(missing_ok=True)


@dataclass
class ImportBatch:
    """A batch of parsed rows sorted out before any database work (`import_prepare_batch`).

    The import prepares the next batch in its own thread while the batch before is written.
    A batch expected to be new rows (a first import) has its rows' tuples made then, so
    that its COPY starts at once and keeps the database busy, where building them first
    (their custom values as JSON) held it idle for a third of a batch. Otherwise a tuple is
    made when its row is to be written: a re-import leaves most rows as they are.
    """

    lines: Sequence[ParsedRow | Rejection]  # as parsed, in the file's order
    parsed: dict[str, ParsedRow]  # the first row of each address
    rejected: list[Rejection]
    repeated: list[Rejection]  # an address again, on a later line of the batch
    tuples: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # made so far

    def row_tuple(self, email: str) -> tuple[str, ...]:
        """The row of `email` as bulkwrite writes it."""
        made = self.tuples.get(email)
        if made is None:
            row = self.parsed[email]
            made = self.tuples[email] = as_row(email, row.values, row.custom)
        return made

    def row_tuples(self) -> list[tuple[str, ...]]:
        return [self.row_tuple(email) for email in self.parsed]


def import_defer_repeats(batch: ImportBatch, before: ImportBatch) -> None:
    """Take out of `batch` the addresses `before` (the batch just before it) writes: a later
    line of an address is a duplicate, and the two batches may be written at the same time,
    where the second would wait for the first's rows (or win over them)."""
    for email in batch.parsed.keys() & before.parsed.keys():
        row = batch.parsed.pop(email)
        batch.tuples.pop(email, None)
        batch.repeated.append(_repeated(row, f"line {before.parsed[email].line:,}"))


def import_prepare_batch(
    rows: Sequence[ParsedRow | Rejection], *, expect_new: bool = False
) -> ImportBatch:
    """Sort a batch's parsed rows out in Python: no database work, any thread.

    `expect_new`: the batch is likely all new rows (see ImportBatch); make their tuples now.
    """
    parsed: dict[str, ParsedRow] = {}
    repeated: list[Rejection] = []
    for row in rows:
        if isinstance(row, ParsedRow):
            first = parsed.get(row.email)
            if first is not None:
                repeated.append(_repeated(row, f"line {first.line:,}"))
            else:
                parsed[row.email] = row
    batch = ImportBatch(
        lines=rows,
        parsed=parsed,
        rejected=[r for r in rows if isinstance(r, Rejection)],
        repeated=repeated,
    )
    if expect_new:
        batch.row_tuples()  # made now, in this thread, for the COPY to start at once
    return batch


@transaction.atomic
def import_write_batch(
    *,
    job: AudienceJob,
    rows: Sequence[ParsedRow | Rejection] | ImportBatch,
    stamp: datetime,
    bytes_read: int,
    assume_new: bool = False,
    turn: Turn | None = None,
) -> int:
    """Write one batch of parsed rows (or prepared: `import_prepare_batch`) and count it in
    the job, all in one transaction.

    Returns how many recipients it inserted or updated.

    `assume_new` (the batch before was all new rows: a first import) tries the batch's
    addresses straight into the table first (bulkwrite.copy_if_all_new); when one of them
    exists, the batch goes the way described below, as without it.

    Duplicates inside the file are recognised without remembering the file: rows this job
    wrote carry `stamp` (the job's start) as created_at or updated_at. They are counted, and
    the first AUDIENCE_DUPLICATES_LISTED are listed with their lines. New rows are inserted
    with ignore_conflicts; in "update" mode an existing row is written only when a mapped
    column or a custom value differs (custom values are merged), else counted unchanged.

    `turn` (core.one_ahead) is called before the job's row is touched: it returns once the
    batches before this one have committed, so that batches written at once commit in the
    file's order, and never wait for each other's lock on the job.
    """
    batch = rows if isinstance(rows, ImportBatch) else import_prepare_batch(rows)
    list_id = job.params.get("list_id")
    columns = _update_columns(job.params["mapping"])
    new = batch.row_tuples() if assume_new else []
    changed: list[tuple[str, ...]] = []
    present = unchanged = 0
    if not (assume_new and copy_if_all_new(job.workspace_id, new, stamp)):
        new, changed, present, unchanged = _write_looked_up(job, batch, columns, stamp)
    if list_id:
        _add_to_list(job.workspace, list_id, list(batch.parsed))
    if turn is not None:
        turn()
    _record_rejections(job, batch.rejected, batch.repeated)
    AudienceJob.objects.filter(pk=job.pk).update(
        imported=F("imported") + len(new),
        updated=F("updated") + len(changed),
        unchanged=F("unchanged") + unchanged,
        duplicates=F("duplicates") + present + len(batch.repeated),
        rejected=F("rejected") + len(batch.rejected),
        processed=bytes_read,
        last_line=batch.lines[-1].line if batch.lines else F("last_line"),
        heartbeat_at=timezone.now(),
    )
    return len(new) + len(changed)


def _write_looked_up(
    job: AudienceJob, batch: ImportBatch, columns: list[str], stamp: datetime
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], int, int]:
    """Look the batch's addresses up, then insert the new rows and update the changed ones.

    Returns (new rows, changed rows, addresses present in "add" mode, unchanged rows); adds
    the duplicates of earlier batches to `batch.repeated`.
    """
    mode, parsed, repeated = job.params["mode"], batch.parsed, batch.repeated
    if mode == "update":
        compared = [(email, row.values, row.custom) for email, row in parsed.items()]
        standard = [c for c in columns if c != "fields"]
        verdicts = compare_stored(job.workspace_id, compared, standard, stamp)
    else:
        stored = existing_recipients(job.workspace_id, list(parsed), stamp)
        verdicts = {
            email: NEW if email not in stored else WRITTEN if stored[email] else PRESENT
            for email in parsed
        }
    new, changed = [], []
    present = unchanged = 0
    for email, row in parsed.items():
        verdict = verdicts.get(email)
        if verdict is None:  # stored with these very values
            unchanged += 1
        elif verdict == NEW:
            new.append(batch.row_tuple(email))
        elif verdict == WRITTEN:
            # This job wrote it from an earlier batch: a duplicate inside the file.
            repeated.append(_repeated(row, "an earlier line"))
        elif verdict == CHANGED:
            changed.append(batch.row_tuple(email))
        else:  # PRESENT: an "add" import leaves a stored address as it is
            present += 1
    write_rows(job.workspace_id, new, stamp)
    if changed:
        write_rows(job.workspace_id, changed, stamp, columns)
    return new, changed, present, unchanged


def _repeated(row: ParsedRow, where: str) -> Rejection:
    return Rejection(
        row.line, row.email, f"Duplicate: the same address is on {where} of the file.", True
    )


def _record_rejections(
    job: AudienceJob, rejected: list[Rejection], repeated: list[Rejection]
) -> None:
    """Store every rejected row, and duplicates up to AUDIENCE_DUPLICATES_LISTED per job."""
    if repeated:
        listed = ImportRejection.objects.filter(job=job, duplicate=True).count()
        repeated = repeated[: max(0, settings.AUDIENCE_DUPLICATES_LISTED - listed)]
    ImportRejection.objects.bulk_create(
        [
            ImportRejection(
                job=job, line=r.line, email=r.email, reason=r.reason, duplicate=r.duplicate
            )
            for r in [*rejected, *repeated]
        ]
    )


def _update_columns(mapping: list[str]) -> list[str]:
    """The columns an "add and update" import changes: the mapped ones, and custom values."""
    return [t for t in mapping if t in IMPORT_FIELDS and t != "email"] + ["fields"]


def _add_to_list(workspace: Workspace, list_id: int, emails: list[str]) -> None:
    pks = Recipient.objects.filter(workspace=workspace, email__in=emails).values_list(
        "pk", flat=True
    )
    ListMembership.objects.bulk_create(
        [ListMembership(recipient_list_id=list_id, recipient_id=pk) for pk in pks],
        ignore_conflicts=True,
    )


def job_finish(*, job: AudienceJob, status: str, error: str | Reason = "") -> None:
    """Record how a job ended (why, as free text or a coded Reason that pages translate) and
    drop its uploaded file."""
    text, detail = reasons.stored(error)
    AudienceJob.objects.filter(pk=job.pk).update(
        status=status, error=text[:2000], error_detail=detail, finished_at=timezone.now()
    )
    selectors.recipients_total_forget(job.workspace)
    job_discard_file(job=job)
