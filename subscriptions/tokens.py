"""The signed token of a confirmation link: which pending sign-up, and its nonce (so that a
newer sign-up for the same address voids older links). Signed with SECRET_KEY; its age is
checked against SIGNUP_CONFIRM_MAX_AGE."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_SALT = "subscriptions.confirm"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


@dataclass(frozen=True)
class ConfirmToken:
    pending_id: int
    nonce: str


def make_token(pending_id: int, nonce: str) -> str:
    return signing.dumps([pending_id, nonce], salt=_SALT, compress=False)


def read_token(token: str) -> ConfirmToken:
    """The token's contents; TokenExpired when too old, TokenInvalid when forged or garbled."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.SIGNUP_CONFIRM_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise TokenExpired from exc
    except signing.BadSignature as exc:
        raise TokenInvalid from exc
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not isinstance(data[0], int)
        or not isinstance(data[1], str)
    ):
        raise TokenInvalid
    return ConfirmToken(data[0], data[1])
