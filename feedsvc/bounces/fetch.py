"""The one HTTP GET the webhooks make: an SNS signing certificate or SubscribeURL (checked by the caller)."""

from __future__ import annotations

import urllib.request

MAX_BYTES = 64 * 1024  # a certificate is about 2 KB; a confirmation answer a few hundred bytes
TIMEOUT = 5.0  # seconds: SNS waits 15 for our answer, and retries


class FetchError(OSError):
    """The URL could not be fetched (refused, timed out, not 200, too large)."""


def fetch_url(url: str) -> bytes:
    """GET `url` over https (the system's trust store), at most MAX_BYTES; FetchError otherwise."""
    request = urllib.request.Request(url, headers={"User-Agent": "feedsvc"})
    try:
        # The caller has checked the URL is https on an SNS host; redirects are followed by urllib
        # only to http(s), and the answer is a certificate checked by signature, not trusted as is.
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            if response.status != 200:
                raise FetchError(f"{url}: HTTP {response.status}")
            data: bytes = response.read(MAX_BYTES + 1)
    except OSError as exc:
        if isinstance(exc, FetchError):
            raise
        raise FetchError(f"{url}: {exc}") from None
    if len(data) > MAX_BYTES:
        raise FetchError(f"{url}: more than {MAX_BYTES} bytes")
    return data
