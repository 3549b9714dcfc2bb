import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_csu_creates_a_superuser_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.test")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-root-passphrase")
    call_command("csu")
    user = User.objects.get()
    assert user.email == "root@example.test"
    assert user.is_superuser
    assert user.is_staff
    assert user.is_verified
    assert user.check_password("a-long-root-passphrase")
    assert Membership.objects.filter(user=user).exists()
    assert "created" in capsys.readouterr().out


def test_csu_leaves_an_existing_user_alone_unless_asked(monkeypatch):
    UserFactory.create(email="root@example.test")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.test")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-root-passphrase")
    call_command("csu")
    assert not User.objects.get().is_superuser
    call_command("csu", "--update")
    user = User.objects.get()
    assert user.is_superuser
    assert user.check_password("a-long-root-passphrase")


def test_csu_explains_what_is_missing(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_EMAIL"):
        call_command("csu")


def test_csu_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.test")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "123")
    with pytest.raises(CommandError, match="too weak"):
        call_command("csu")
    assert not User.objects.exists()


def test_demo_admin_is_created_once_and_its_password_printed_again(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("demo_admin")
    first = capsys.readouterr().out
    password = (tmp_path / "demo-admin-password.txt").read_text().strip()
    assert password in first
    assert User.objects.get().check_password(password)

    call_command("demo_admin")
    second = capsys.readouterr().out
    assert "Created" not in second
    assert password in second
    assert User.objects.count() == 1

    user = User.objects.get()
    user.set_password("changed-by-the-admin-1")
    user.save()
    call_command("demo_admin")
    assert password not in capsys.readouterr().out


def test_demo_admin_names_the_configured_site_address(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    settings.SITE_URL = "https://mail.example.org"
    call_command("demo_admin")
    out = capsys.readouterr().out
    assert "Sign in at https://mail.example.org/" in out
    assert "8000" not in out
