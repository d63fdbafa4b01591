"""The project's HTTP policy under alpaca-py.

alpaca-py sends through a ``requests.Session``; :class:`PolicyAdapter`, mounted on that
session, hands every request to the shared ``HttpClient`` (per-process rate limit, 429 waits
for the provider's reset, 5xx, timeouts and cut-off bodies retried with backoff, no redirect to
another host, a one-line ``SourceError`` after the attempts). ``under_policy`` mounts it and
switches alpaca-py's own retry loop off, so nothing retries on top. The adapter also refuses a
``next_page_token`` repeated within one call (alpaca-py would follow it forever) and bounds the
pages per call.
"""

from __future__ import annotations

import io
import threading
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
from alpaca.common.rest import RESTClient
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from equity_lake.sources.http import Answer, HttpClient, SourceError

#: pages one call may take before it is taken for a loop
MAX_PAGES = 100_000
_Client = TypeVar("_Client", bound=RESTClient)
#: request headers the adapter leaves to httpx (framing and encodings are its business)
_HOP_HEADERS = frozenset({"connection", "content-length", "accept-encoding", "host"})
#: answer headers that no longer describe the body httpx handed over (decoded, read whole)
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class PolicyAdapter(BaseAdapter):
    """A ``requests`` transport that sends through the project's :class:`HttpClient`.

    Every request alpaca-py makes is fetched by ``http`` (rate limit, retries, same-origin
    redirects only); its failures propagate as the project's ``SourceError`` / ``NotFound``.
    Per call and thread, a page without ``page_token`` starts the call; a ``next_page_token``
    seen before in it, or more than ``max_pages`` pages, fail the call.
    """

    def __init__(self, http: HttpClient, max_pages: int = MAX_PAGES) -> None:
        super().__init__()
        self.http = http
        self.max_pages = max_pages
        self._call = threading.local()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: object = None,
    ) -> requests.Response:
        """GET ``request`` through the policy; a 2xx JSON object answer or an exception."""
        url = request.url or ""
        where = f"{request.method} {url.partition('?')[0]}"
        if request.method != "GET":
            raise SourceError(f"{where}: only GET is sent to Alpaca's data API")
        if not _page_token(url) or not hasattr(self._call, "tokens"):
            self._call.tokens, self._call.pages = set(), 0
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        answer = self.http.fetch(url, headers, json_body=True)
        if not 200 <= answer.status < 300:
            raise SourceError(f"{where}: HTTP {answer.status} {answer.reason}")
        if not isinstance(answer.data, dict):
            raise SourceError(f"{where}: expected a JSON object, got {type(answer.data).__name__}")
        self._next_page(where, answer.data.get("next_page_token"))
        return _requests_response(request, answer)

    def _next_page(self, where: str, token: object) -> None:
        """Count the page and remember its token; a repeat or too many pages is an error."""
        self._call.pages += 1
        if self._call.pages > self.max_pages:
            raise SourceError(f"{where}: more than {self.max_pages} pages")
        if token is None:
            return
        if not isinstance(token, str) or not token:
            raise SourceError(f"{where}: next_page_token {token!r} is not a token")
        if token in self._call.tokens:
            raise SourceError(f"{where}: next_page_token {token!r} repeated")
        self._call.tokens.add(token)

    def close(self) -> None:
        """Nothing to release: the ``HttpClient`` is closed by its owner."""


def _page_token(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("page_token", [""])[-1]


def _requests_response(request: requests.PreparedRequest, answer: Answer) -> requests.Response:
    """``answer`` as the ``requests.Response`` alpaca-py reads (a JSON body is UTF-8)."""
    response = requests.Response()
    response.status_code = answer.status
    response.reason = answer.reason
    response.url = answer.url
    response.request = request
    response.headers = CaseInsensitiveDict(
        (k, v) for k, v in answer.headers if k.lower() not in _BODY_HEADERS
    )
    response.encoding = "utf-8"
    response.raw = io.BytesIO(answer.body)
    return response


def under_policy(client: _Client, adapter: PolicyAdapter) -> _Client:
    """Route ``client``'s session through ``adapter`` and switch off alpaca-py's retries
    (``RESTClient._request`` loops ``while retry >= 0``; 0 means one attempt)."""
    client._retry = 0
    client._retry_codes = []
    session = client._session
    session.trust_env = False  # no proxy or .netrc credentials from the environment
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return client
