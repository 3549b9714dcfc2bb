from __future__ import annotations

import factory

from accounts.tests.factories import WorkspaceFactory
from content.models import Template


class TemplateFactory(factory.django.DjangoModelFactory[Template]):
    class Meta:
        model = Template

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    subject = "Hello {first_name|there}"
    html_body = "<p>Hello {first_name|there}</p>"
    text_body = "Hello {first_name|there}"
