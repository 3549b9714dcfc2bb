"""Secrets at rest: SMTP passwords, API keys, OAuth tokens and DKIM keys, encrypted with Fernet.

The keys come from `settings.ENCRYPTION_KEYS`, newest first. Everything is encrypted with the
newest key; any listed key decrypts, so a new key can be put in front and the old ones kept
until `manage.py rotate_secrets` has re-encrypted every stored secret under the new one.

`EncryptedTextField` is how a model stores a secret: the Python value is the plain text, the
database column only ever holds the Fernet token. Any app may use it: `encrypted_fields()`
finds every such field of every installed model, so rotation covers later apps' secrets too.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Cast


class SecretUnreadable(Exception):
    """A stored secret could not be decrypted with any of the configured keys."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretUnreadable("ENCRYPTION_KEYS is empty: no key to encrypt or decrypt with")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    # Keyed by the current setting, so tests that override ENCRYPTION_KEYS see their keys.
    return _fernet_for(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    """The Fernet token of `plain` under the newest key."""
    return fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plain text of a token made by any configured key; SecretUnreadable otherwise."""
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted: the key it was encrypted with is not in "
            "ENCRYPTION_KEYS any more."
        ) from exc


def is_current(token: str) -> bool:
    """True when the newest key alone decrypts `token` (rotation may leave it alone)."""
    newest = Fernet(settings.ENCRYPTION_KEYS[0].encode())
    try:
        newest.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column holding only ciphertext; the model attribute is the plain text.

    "" and None are stored as they are (no secret saved). Never filter on this field: every
    encryption of the same text differs.
    """

    description = "Text encrypted at rest with the ENCRYPTION_KEYS"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def to_python(self, value: Any) -> Any:
        return value  # the attribute always holds plain text; forms never see ciphertext

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(str(value))


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every EncryptedTextField of every installed concrete model."""
    for model in apps.get_models():
        if model._meta.abstract or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def raw_tokens(model: type[models.Model], field: EncryptedTextField) -> Iterator[tuple[Any, str]]:
    """(pk, ciphertext) of every non-empty value of the column, read without decrypting."""
    raw = Cast(field.attname, output_field=models.TextField())
    rows = model._default_manager.exclude(**{f"{field.attname}__isnull": True})
    for pk, token in rows.annotate(_raw=raw).values_list("pk", "_raw").iterator():
        if token:
            yield pk, token


@transaction.atomic
def rotate_all() -> dict[str, int]:
    """Re-encrypt under the newest key every stored secret that needs it.

    Returns how many values were rewritten per "app_label.Model.field". Raises
    SecretUnreadable (and writes nothing, the transaction rolls back) if any stored secret
    cannot be decrypted with the configured keys: remove no old key before rotation succeeds.
    """
    rewritten: dict[str, int] = {}
    for model, field in encrypted_fields():
        count = 0
        for pk, token in raw_tokens(model, field):
            if is_current(token):
                continue
            decrypt(token)  # a clear error before anything is rewritten
            new = fernet().rotate(token.encode("ascii")).decode("ascii")
            # Value with a plain TextField output: written as it is, not encrypted a second time.
            model._default_manager.filter(pk=pk).update(
                **{field.attname: models.Value(new, output_field=models.TextField())}
            )
            count += 1
        rewritten[f"{model._meta.label}.{field.name}"] = count
    return rewritten
