"""Print what a workspace holds: rows per kind (recipients, lists, …, attempts)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from campaigns.demo import seeded_counts
from campaigns.management.commands.seed_demo import add_workspace_arguments, workspace_from


class Command(BaseCommand):
    help = "Show how many recipients, lists, templates, campaigns, … a workspace has."

    def add_arguments(self, parser: CommandParser) -> None:
        add_workspace_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_from(options)
        self.stdout.write(f"Workspace “{workspace.name}” (id {workspace.pk})")
        for label, count in seeded_counts(workspace).items():
            self.stdout.write(f"  {label:<18} {count}")
