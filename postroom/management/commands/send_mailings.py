"""`manage.py send_mailings`: the seeds' name for `send_emails` (one pass, then exit)."""

from postroom.management.commands.send_emails import Command as SendEmails


class Command(SendEmails):
    help = "The same as send_emails: " + SendEmails.help
