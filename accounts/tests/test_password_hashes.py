"""Passwords are stored as Argon2id with OWASP's parameters (accounts.hashers); a hash made
before, by PBKDF2, still signs in and is replaced at that sign-in.

The other tests hash with MD5 for speed (conftest.py): these use the project's own list."""

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from postroom import settings as project

pytestmark = pytest.mark.django_db

ARGON2ID = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(autouse=True)
def _project_hashers(settings):
    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS


def login(client, email: str, password: str = PASSWORD):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_a_new_password_is_stored_as_argon2id_with_owasps_parameters():
    user = UserFactory.create(email="ada@example.test")
    user.set_password("a-long-passphrase-of-ada")
    user.save()

    user.refresh_from_db()
    assert user.password.startswith(ARGON2ID), user.password
    assert user.check_password("a-long-passphrase-of-ada")
    assert not user.check_password("a-long-passphrase-of-eve")


def test_a_pbkdf2_password_signs_in_and_is_stored_as_argon2id_from_then_on(client):
    user = UserFactory.create(email="ada@example.test")
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))

    assert login(client, "ada@example.test", "wrong").status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")  # a wrong password changes nothing

    assert login(client, "ada@example.test").status_code == 302
    user.refresh_from_db()
    assert user.password.startswith(ARGON2ID), user.password
    client.post(reverse("accounts:logout"))
    assert login(client, "ada@example.test").status_code == 302  # the new hash signs in
