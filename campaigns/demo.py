"""Demo data for a workspace (`manage.py seed_demo` and the seeds' names for it).

Everything is deterministic (the n-th recipient is always the same person) and found again by
name or address, so running it twice adds nothing twice. The finished campaign really goes
through the engine and the workspace's local capture account: nothing leaves the machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Model

from accounts.models import Role, User, Workspace
from accounts.services import workspace_create
from audience.models import ListMembership, Recipient, RecipientList, RecipientStatus, Segment
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Campaign, CampaignStatus, Delivery
from campaigns.services import campaign_start
from content import gallery
from content.models import Template
from content.services import template_from_starter
from sending.models import AccountKind, AccountStatus, CapturedMessage, SendingAccount
from sending.services import workspace_initialize as sending_initialize

FIRST = (
    "Anna", "Ben", "Chloé", "David", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kemal", "Lena", "Mateo", "Nora", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
)  # fmt: skip
LAST = (
    "Müller", "Rossi", "García", "Dubois", "Novak", "Jensen", "Silva", "Kowalski", "Okafor",
    "Tanaka", "Larsen", "Moreau", "Costa", "Nieminen", "Horvat", "Byrne", "Schmidt",
)  # fmt: skip
COMPANIES = (
    ("Northwind Traders", "Germany", "Hamburg"),
    ("Blue Harbor Foods", "Italy", "Genoa"),
    ("Alder & Finch", "United Kingdom", "Leeds"),
    ("Kestrel Logistics", "Netherlands", "Rotterdam"),
    ("Cobalt Studio", "France", "Lyon"),
    ("Tidewater Labs", "Spain", "Valencia"),
    ("Granite Peak Outfitters", "Austria", "Innsbruck"),
    ("Lumen Bookshop", "Germany", "Leipzig"),
)
DOMAINS = ("example.com", "example.net", "example.org")
CAMPAIGN_NAME = "Welcome to Postroom (demo)"
DEMO_WORKSPACE_NAME = "Postroom demo"
DRAFT_NAME = "Spring offer for Germany (demo draft)"
LISTS = ("Customers", "Newsletter")
SEGMENT_NAME = "Customers in Germany"
STARTERS = ("newsletter", "announcement")


def demo_person(n: int) -> Recipient:
    """The n-th demo recipient (not saved): always the same name, company and address."""
    first = FIRST[n % len(FIRST)]
    last = LAST[(n // len(FIRST)) % len(LAST)]
    company, country, city = COMPANIES[n % len(COMPANIES)]
    local = f"{first}.{last}".lower().translate(str.maketrans("éüíçá", "euica"))
    return Recipient(
        email=f"{local}.{n}@{DOMAINS[n % len(DOMAINS)]}",
        first_name=first,
        last_name=last,
        company=company,
        country=country,
        city=city,
        # A few who left: the campaign page shows them as left out.
        status=RecipientStatus.UNSUBSCRIBED if n % 37 == 36 else RecipientStatus.ACTIVE,
    )


@dataclass(frozen=True)
class SeedResult:
    recipients_added: int
    campaign: Campaign
    sent: int


@transaction.atomic
def demo_audience(*, workspace: Workspace, recipients: int) -> int:
    """Recipients 0..n-1, the two lists and the segment; returns how many recipients are new."""
    before = Recipient.objects.filter(workspace=workspace).count()
    people = [demo_person(n) for n in range(recipients)]
    for person in people:
        person.workspace = workspace
    Recipient.objects.bulk_create(people, batch_size=500, ignore_conflicts=True)
    emails = [p.email for p in people]
    ids = list(
        Recipient.objects.filter(workspace=workspace, email__in=emails).values_list("pk", flat=True)
    )
    customers, newsletter = (
        RecipientList.objects.get_or_create(workspace=workspace, name=name)[0] for name in LISTS
    )
    members = [ListMembership(recipient_list=newsletter, recipient_id=pk) for pk in ids]
    members += [ListMembership(recipient_list=customers, recipient_id=pk) for pk in ids[::3]]
    ListMembership.objects.bulk_create(members, batch_size=500, ignore_conflicts=True)
    definition = {
        "match": "all",
        "conditions": [
            {"field": "list", "op": "in_list", "value": customers.pk},
            {"field": "country", "op": "equals", "value": "Germany"},
        ],
    }
    Segment.objects.get_or_create(
        workspace=workspace, name=SEGMENT_NAME, defaults={"definition": definition}
    )
    return Recipient.objects.filter(workspace=workspace).count() - before


def demo_templates(*, workspace: Workspace) -> list[Template]:
    """Two templates from the content gallery, made once (found again by the starter's name)."""
    found = []
    for key in STARTERS:
        starter = gallery.starter(key)
        assert starter is not None  # noqa: S101 - STARTERS names the gallery's own keys
        template = Template.objects.filter(workspace=workspace, name=starter.name).first()
        found.append(template or template_from_starter(workspace=workspace, key=key))
    return found


def capture_account(*, workspace: Workspace) -> SendingAccount:
    """The workspace's local capture account (made here for workspaces older than it)."""
    account = SendingAccount.objects.filter(
        workspace=workspace, kind=AccountKind.CAPTURE, status=AccountStatus.ACTIVE
    ).first()
    if account is None:
        sending_initialize(workspace=workspace)
        account = SendingAccount.objects.get(workspace=workspace, kind=AccountKind.CAPTURE)
    return account


def demo_draft(
    *, workspace: Workspace, template: Template, account: SendingAccount, user: User | None
) -> Campaign:
    """A draft to a segment, so the editor and its audience figures have something to show."""
    draft = Campaign.objects.filter(workspace=workspace, name=DRAFT_NAME).first()
    if draft is None:
        draft = Campaign.objects.create(
            workspace=workspace, name=DRAFT_NAME, template_id=template.pk, created_by=user
        )
        draft.segments.set(Segment.objects.filter(workspace=workspace, name=SEGMENT_NAME))
        draft.accounts.set([account])
    return draft


class DemoRefused(Exception):
    """The workspace holds data of its own: demo data would mix with it."""


def own_data(workspace: Workspace) -> dict[str, int]:
    """What the workspace holds that a user made (not what every new workspace starts with,
    nor a demo seeded before): empty when demo data may go in."""
    if Campaign.objects.filter(workspace=workspace, name=CAMPAIGN_NAME).exists():
        return {}  # seeded before: running again adds nothing twice
    held = {
        "recipients": Recipient.objects.filter(workspace=workspace).count(),
        "lists": RecipientList.objects.filter(workspace=workspace).count(),
        "segments": Segment.objects.filter(workspace=workspace).count(),
        "templates": Template.objects.filter(workspace=workspace).count(),
        "campaigns": Campaign.objects.filter(workspace=workspace).count(),
    }
    return {label: n for label, n in held.items() if n}


@transaction.atomic
def demo_workspace_for(*, owner: User) -> Workspace:
    """The owner's demo workspace: made the first time, found again by name afterwards."""
    found = Workspace.objects.filter(
        name=DEMO_WORKSPACE_NAME, memberships__user=owner, memberships__role=Role.OWNER
    ).first()
    return found or workspace_create(name=DEMO_WORKSPACE_NAME, owner=owner)


def seed_demo(
    *, workspace: Workspace, recipients: int = 200, user: User | None = None
) -> SeedResult:
    """Fill `workspace` with demo data, a draft and a finished campaign; safe to run again.

    The campaign is started and the engine run until nothing is left to send, through the
    capture account (its daily limit bounds how many go out today; the rest wait).
    Raises DemoRefused, before writing anything, when the workspace holds data of its own
    (its lists and contacts are real people: a demo campaign must never reach them), and
    CampaignError if the campaign cannot start (it then stays a draft).
    """
    held = own_data(workspace)
    if held:
        what = ", ".join(f"{n} {label}" for label, n in held.items())
        raise DemoRefused(
            f"The workspace “{workspace.name}” already holds {what}. Demo data goes into a "
            "workspace of its own, so that no demo campaign reaches real contacts."
        )
    added = demo_audience(workspace=workspace, recipients=recipients)
    newsletter_template, announcement = demo_templates(workspace=workspace)
    account = capture_account(workspace=workspace)
    demo_draft(workspace=workspace, template=announcement, account=account, user=user)
    campaign = Campaign.objects.filter(workspace=workspace, name=CAMPAIGN_NAME).first()
    if campaign is None:
        campaign = Campaign.objects.create(
            workspace=workspace,
            name=CAMPAIGN_NAME,
            template_id=newsletter_template.pk,
            created_by=user,
        )
        campaign.lists.set(RecipientList.objects.filter(workspace=workspace, name="Newsletter"))
        campaign.accounts.set([account])
    if campaign.status == CampaignStatus.DRAFT:
        campaign_start(campaign=campaign)
    engine = Engine()
    while engine.step():
        pass
    campaign.refresh_from_db()
    sent = Delivery.objects.filter(campaign=campaign, status="sent").count()
    return SeedResult(recipients_added=added, campaign=campaign, sent=sent)


def seeded_counts(workspace: Workspace) -> dict[str, int]:
    """How many rows of each kind the workspace has (`manage.py show_seeded_data`)."""
    models: dict[str, type[Model]] = {
        "recipients": Recipient,
        "lists": RecipientList,
        "segments": Segment,
        "templates": Template,
        "sending accounts": SendingAccount,
        "campaigns": Campaign,
        "deliveries": Delivery,
        "attempts": Attempt,
        "captured messages": CapturedMessage,
    }
    return {
        label: model._default_manager.filter(workspace=workspace).count()
        for label, model in models.items()
    }
