"""The VERP return-path domain of a sending account, set in the UI and the API: a domain name
only (normalised), shown on the account's page, with help that says which DNS it needs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns import links
from sending.forms import RETURN_PATH_HELP, AccountForm, domain_refusal
from sending.models import SendingAccount
from sending.tests.factories import SendingAccountFactory
from sending.tests.test_views import smtp_form

pytestmark = pytest.mark.django_db
URL = "/api/email-accounts/"


@pytest.mark.parametrize(
    ("value", "refused", "stored"),
    [
        ("bounces.example.com", False, "bounces.example.com"),
        ("  Bounces.Example.COM. ", False, "bounces.example.com"),
        ("почта.пример.рф", False, "xn--80a1acny.xn--e1afmkfd.xn--p1ai"),
        ("", False, ""),
        ("example", True, None),
        ("bounces@example.com", True, None),
        ("https://example.com", True, None),
        ("-bad.example.com", True, None),
        ("bad_name.example.com", True, None),
        ("10.0.0.1", True, None),
        ("a" * 64 + ".example.com", True, None),
        ("x.y", False, "x.y"),
    ],
)
def test_domain_rule(value, refused, stored):
    why, domain = domain_refusal(value)
    assert bool(why) is refused
    if stored is not None:
        assert domain == stored


def test_the_help_names_the_dns_records_and_carries_no_markup():
    shown = str(AccountForm().fields["return_path_domain"].help_text)
    assert shown == str(RETURN_PATH_HELP)
    assert "MX record" in shown
    assert "SPF" in shown
    assert "<" not in shown  # Django renders help text unescaped


def test_an_owner_sets_it_in_the_form_and_sees_it(personas, owner_client):
    owner_client.post(
        reverse("sending:account_create"), smtp_form(return_path_domain="Bounces.Acme.Example")
    )
    account = SendingAccount.objects.get(workspace=personas.workspace, name="Newsletter")
    assert account.return_path_domain == "bounces.acme.example"
    assert str(links.return_path_for(account.return_path_domain, 7)).endswith(
        "@bounces.acme.example"
    )
    kwargs = {"account_id": account.pk}
    page = owner_client.get(reverse("sending:account_detail", kwargs=kwargs)).content.decode()
    assert "bounces+…@bounces.acme.example" in page
    edit = owner_client.get(reverse("sending:account_edit", kwargs=kwargs)).content.decode()
    assert 'name="return_path_domain"' in edit
    assert "MX record" in edit


def test_the_form_refuses_an_address_and_says_why(personas, owner_client):
    response = owner_client.post(
        reverse("sending:account_create"), smtp_form(return_path_domain="bounces@acme.example")
    )
    assert response.status_code == 200
    assert "Give only the domain" in response.content.decode()
    assert not SendingAccount.objects.filter(name="Newsletter").exists()


def test_the_api_sets_clears_and_refuses_it(personas, api_for):
    owner = api_for("owner")
    account = SendingAccountFactory.create(workspace=personas.workspace)
    url = f"{URL}{account.pk}/"
    body = owner.patch(url, {"return_path_domain": "bounces.acme.example."}, format="json")
    assert body.status_code == 200, body.json()
    assert body.json()["return_path_domain"] == "bounces.acme.example"
    assert api_for("viewer").get(url).json()["return_path_domain"] == "bounces.acme.example"
    refused = owner.patch(url, {"return_path_domain": "not a domain"}, format="json")
    assert refused.status_code == 400
    assert "return_path_domain" in str(refused.json())
    cleared = owner.patch(url, {"return_path_domain": ""}, format="json")
    assert cleared.json()["return_path_domain"] == ""
    account.refresh_from_db()
    assert account.return_path_domain == ""
