"""`manage.py seed_database`: the seeds' name for `seed_demo` (same options, same result)."""

from campaigns.management.commands.seed_demo import Command as SeedDemo


class Command(SeedDemo):
    help = "The same as seed_demo: " + SeedDemo.help
