"""djangoMailer's addresses lead to Postroom's pages for the same things."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/recipients/upload/", "audience:import"),
        ("/templates/create/", "content:create"),
        ("/profile/edit/", "sending:index"),
    ],
)
def test_djangomailer_addresses_redirect(owner_client, old, new):
    response = owner_client.get(old)
    assert response.status_code == 302
    assert response["Location"] == reverse(new)
    assert owner_client.get(old, follow=True).status_code == 200
