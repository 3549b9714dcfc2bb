"""Which recipient fields a sign-up form may ask, and the placeholders of its confirmation
message."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from accounts.models import Workspace
from audience.selectors import custom_fields

# The standard recipient fields a person may give about themselves (not the comment, which is
# the workspace's own note).
# Labels marked for the catalog; the forms translate them.
STANDARD_ASKABLE = {
    "first_name": gettext_noop("First name"),
    "last_name": gettext_noop("Last name"),
    "company": gettext_noop("Company"),
    "country": gettext_noop("Country"),
    "city": gettext_noop("City"),
}
CONFIRM_PLACEHOLDERS = ("confirm_url", "email", "form_name", *STANDARD_ASKABLE)


def askable_fields(workspace: Workspace) -> dict[str, str]:
    """Field name -> label, standard fields first, then the workspace's custom fields."""
    custom = {cf.key: cf.label or cf.key for cf in custom_fields(workspace)}
    return {**STANDARD_ASKABLE, **custom}
