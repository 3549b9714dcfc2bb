"""One signed POST to an endpoint: to an address that passed the checks, no redirects, short
timeouts, and only a short excerpt of the answer kept."""

from __future__ import annotations

from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, NewConnectionError

from sending.network import tls_context
from webhooks.targets import Target, UrlRefused, parse, resolve

EXCERPT_BYTES = 500
USER_AGENT = "Postroom-Webhooks/1"


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""


def post(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST `body`; a 2xx answer is success, anything else (3xx included) a failure.

    Never raises for network trouble: refused URLs, DNS, connection and timeout errors come
    back as a failed PostResult with the reason.
    """
    try:
        target = parse(url)
        addresses = resolve(target)
    except UrlRefused as exc:
        return PostResult(ok=False, error=str(exc))
    error = ""
    for address in addresses[:3]:
        try:
            return _post_to(address, target, body, headers)
        except NewConnectionError as exc:  # this address does not answer: try the next one
            error = f"Could not connect to {target.host} ({address}): {exc.__class__.__name__}"
        except HTTPError as exc:
            return PostResult(ok=False, error=_describe(exc))
    return PostResult(ok=False, error=error[:500])


def _post_to(address: str, target: Target, body: bytes, headers: dict[str, str]) -> PostResult:
    seconds = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    timeout = urllib3.Timeout(connect=min(seconds, 3.0), read=seconds)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        # Connect to the checked address, but speak TLS (SNI, certificate) to the host name:
        # the ssl module checks the certificate against server_hostname. No assert_hostname:
        # with it urllib3 matches the name itself and turns check_hostname off on the shared
        # context, for every SMTP, mailbox and OAuth connection after this one.
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            ssl_context=tls_context(),
            server_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)
    with pool:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={
                "Host": target.host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **headers,
            },
            redirect=False,
            retries=False,
            preload_content=False,
        )
        try:
            excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
        finally:
            response.close()
    status = response.status
    ok = 200 <= status < 300
    error = ""
    if not ok:
        error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    return PostResult(ok=ok, status_code=status, error=error, excerpt=excerpt)


def _describe(exc: HTTPError) -> str:
    name = exc.__class__.__name__
    if "Timeout" in name:
        return f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS} seconds ({name})."
    return f"{name}: {exc}"[:500]
