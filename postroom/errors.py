"""Error reports to Sentry, set up only when SENTRY_DSN is set (settings.py calls this).

sentry_sdk is imported here, inside the function, so that an install without a DSN never
loads it. No personal data is sent (send_default_pii=False): no user e-mails, no cookies, no
request bodies.
"""

from __future__ import annotations


def sentry_init(dsn: str, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        # Request bodies may be message contents or imported addresses.
        max_request_body_size="never",
    )
