"""Fetch news pages over HTTP(S): a timeout, a clear user agent, a size limit and clear errors.

Only the standard library is used (``urllib``); redirects are followed. Every failure raises
:class:`FetchError` with the URL and what went wrong (no connection, timeout, HTTP status, not
HTML, too big), so a batch job can report the row and go on.
"""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from kontak_nlp._version import __version__
from kontak_nlp.errors import DataError, InputError
from kontak_nlp.text.html import Page, extract_page

__all__ = ["DEFAULT_USER_AGENT", "FetchConfig", "FetchError", "Fetched", "fetch", "fetch_page"]

#: Sent with every request so site operators can tell who is fetching.
DEFAULT_USER_AGENT = f"kontak-nlp/{__version__} (news sentence classifier; Python urllib)"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET_RE = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.I)


class FetchError(DataError):
    """A page could not be fetched: no connection, timeout, HTTP error, not HTML or too big."""


@dataclass(frozen=True)
class FetchConfig:
    """How pages are fetched.

    Attributes:
        timeout: Seconds to wait for the connection and for each read (default 20).
        max_bytes: Largest page accepted, in bytes (default 5 MiB); larger pages raise :class:`FetchError`.
        user_agent: The ``User-Agent`` header (default :data:`DEFAULT_USER_AGENT`).

    Example:
        >>> FetchConfig(timeout=5).max_bytes
        5242880
    """

    timeout: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {self.max_bytes}")
        if not self.user_agent.strip():
            raise ValueError("user_agent must not be empty")


@dataclass(frozen=True)
class Fetched:
    """A fetched page: where it ended up (after redirects), its content type and its bytes."""

    url: str
    final_url: str
    content_type: str
    charset: str | None
    body: bytes

    def text(self) -> str:
        """The page decoded: the charset the server declared, else the page's ``<meta charset>``,
        else UTF-8 (undecodable bytes replaced)."""
        for charset in (self.charset, _meta_charset(self.body), "utf-8"):
            if charset:
                try:
                    return self.body.decode(charset, errors="replace")
                except LookupError:  # an unknown charset name
                    continue
        return self.body.decode("utf-8", errors="replace")  # pragma: no cover - utf-8 always exists


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET_RE.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _check_url(url: object) -> str:
    if not isinstance(url, str):
        raise InputError(f"url has type {type(url).__name__}; expected a str such as 'https://...'")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{url!r}: not an http:// or https:// URL")
    return url.strip()


def _read_limited(response: object, url: str, max_bytes: int) -> bytes:
    length = response.headers.get("Content-Length")  # type: ignore[attr-defined]
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{url}: page too big ({int(length)} bytes > limit {max_bytes})")
    body = response.read(max_bytes + 1)  # type: ignore[attr-defined]
    if len(body) > max_bytes:
        raise FetchError(f"{url}: page too big (more than the {max_bytes}-byte limit)")
    return body


def fetch(url: str, config: FetchConfig | None = None) -> Fetched:
    """Download one HTML page.

    Args:
        url: An ``http://`` or ``https://`` address.
        config: Timeout, size limit and user agent (default :class:`FetchConfig`).

    Returns:
        A :class:`Fetched` with the page's bytes.

    Raises:
        InputError: ``url`` is not an http(s) URL.
        FetchError: No connection, timeout, an HTTP error status, a non-HTML content type, or a page
            over ``config.max_bytes``.

    Example:
        >>> fetch("https://example.com/news/1").content_type  # doctest: +SKIP
        'text/html'
    """
    url = _check_url(url)
    config = config or FetchConfig()
    request = urllib.request.Request(
        url, headers={"User-Agent": config.user_agent, "Accept": "text/html,*/*"}
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            content_type = response.headers.get_content_type()
            charset = response.headers.get_content_charset()
            if content_type not in _HTML_TYPES:
                raise FetchError(f"{url}: not an HTML page (Content-Type: {content_type})")
            body = _read_limited(response, url, config.max_bytes)
            final_url = response.geturl()
    except urllib.error.HTTPError as err:
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from err
    except TimeoutError as err:
        raise FetchError(f"{url}: no response within {config.timeout:g} s") from err
    except urllib.error.URLError as err:
        if isinstance(err.reason, (TimeoutError, socket.timeout)):
            raise FetchError(f"{url}: no response within {config.timeout:g} s") from err
        raise FetchError(f"{url}: cannot connect ({err.reason}); check the address and the network") from err
    except OSError as err:
        raise FetchError(f"{url}: connection failed ({err})") from err
    return Fetched(url, final_url, content_type, charset, body)


def fetch_page(url: str, config: FetchConfig | None = None) -> Page:
    """Download a page and extract its article text and metadata.

    Raises:
        InputError: Not an http(s) URL, or the page has no article text.
        FetchError: See :func:`fetch`.

    Example:
        >>> fetch_page("https://example.com/news/1").title  # doctest: +SKIP
        'Menlu Tiba di Hanoi'
    """
    fetched = fetch(url, config)
    return extract_page(fetched.text(), url=fetched.final_url)
