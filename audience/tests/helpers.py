"""Helpers for audience tests: upload a CSV as a user would, and run its job to the end."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from audience import jobs, services
from audience.importer import auto_mapping
from audience.models import AudienceJob, RecipientList

HEADER = "first_name,last_name,company,email,country,city,free_field1,free_field2,free_field3"


def upload(workspace: Any, content: bytes | str, name: str = "people.csv") -> AudienceJob:
    data = content.encode() if isinstance(content, str) else content
    return services.import_upload(
        workspace=workspace, user=None, upload=SimpleUploadedFile(name, data, "text/csv")
    )


def import_csv(
    workspace: Any,
    content: bytes | str,
    *,
    mode: str = "add",
    recipient_list: RecipientList | None = None,
    mapping: list[str] | None = None,
    new_fields: dict[str, str] | None = None,
) -> AudienceJob:
    """Upload, map automatically (or as given), queue and run the import; return the job."""
    job = upload(workspace, content)
    keys = dict(workspace.custom_fields.values_list("key", "label"))
    services.import_start(
        job=job,
        mapping=mapping if mapping is not None else auto_mapping(job.params["header"], keys),
        new_fields=new_fields or {},
        mode=mode,
        recipient_list=recipient_list,
    )
    assert jobs.run_next_job()
    job.refresh_from_db()
    return job


def start(job: AudienceJob, mapping: list[str], mode: str = "add") -> AudienceJob:
    """Queue an uploaded import with this mapping and no target list."""
    return services.import_start(
        job=job, mapping=mapping, new_fields={}, mode=mode, recipient_list=None
    )
