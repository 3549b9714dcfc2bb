"""Why an audience job stopped (core.reasons): English in the API, the reader's language on
the job's page and in notifications."""

from django.utils.translation import gettext_noop

from core.reasons import register

UNEXPECTED = register("job.unexpected", gettext_noop("Unexpected error: %(error)s"))
CANCELLED_BEFORE_ROWS = register(
    "job.cancelled_before_rows", gettext_noop("Cancelled before any row was imported.")
)
CANCELLED_AFTER_LINE = register(
    "job.cancelled_after_line",
    gettext_noop(
        "Cancelled after line %(line)s: rows up to line %(line)s were handled, none after it."
    ),
)
NOT_IN_ENCODING = register(
    "job.not_in_encoding",
    gettext_noop(
        "Stopped after line %(line)s: the file is not entirely in %(encoding)s. Rows up to line "
        "%(line)s were handled; nothing after it was imported."
    ),
)
NOT_CSV = register(
    "job.not_csv",
    gettext_noop(
        "Stopped after line %(line)s: the file is not valid CSV there (%(error)s). Rows up to "
        "line %(line)s were handled; nothing after it was imported."
    ),
)
CANCELLED_AFTER_RECIPIENTS = register(
    "job.cancelled_after_recipients",
    gettext_noop("Cancelled after %(count)s recipients; the rest were not changed."),
)
