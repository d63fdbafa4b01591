"""The one HTTP client and retry policy for every remote source (Alpaca, SEC, ...).

A client-side rate limiter keeps each process under the provider's limit (an Airflow pool
bounds how many tasks call at once); 429 waits for the provider's reset time; 5xx, timeouts
and broken connections retry with exponential backoff; anything else fails with a one-line
message naming the URL and status. A body that cannot be decoded is an error, never an empty
result.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

import httpx

RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: an X-RateLimit-Reset above this is an epoch time, below it a number of seconds
_EPOCH_2001 = 978_307_200.0


class SourceError(RuntimeError):
    """A remote source failed for good (after retries); the message is one line."""


class NotFound(SourceError):
    """The resource does not exist (HTTP 404)."""


class OffHostRedirect(SourceError, ValueError):
    """A redirect to another host: refused, so credentials never leave the configured host
    (bad configuration or a compromised endpoint, never worth a retry)."""


class RateLimiter:
    """At most ``rate`` acquisitions per second across threads (a token bucket of ``burst``)."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)


@dataclass
class RetryPolicy:
    """How often and how long to retry a transient failure."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_rate_limit_wait: float = 120.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)


@dataclass(frozen=True)
class Answer:
    """A final HTTP answer, read whole (what :meth:`HttpClient.fetch` returns)."""

    url: str
    status: int
    reason: str
    #: as received, a name may repeat; ``body`` is already decoded (gzip, ...)
    headers: list[tuple[str, str]]
    body: bytes = field(repr=False)
    #: the decoded JSON body, when asked for
    data: Any = field(default=None, repr=False)


@dataclass
class HttpClient:
    """httpx with a rate limit and the retry policy; one per source and process."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    rate_per_second: float = 10.0
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.rate_per_second, burst=1, sleep=self.sleep)
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(self.headers),
            timeout=self.timeout,
            follow_redirects=True,
            event_hooks={"request": [self._stay_on_host]},
        )

    def _stay_on_host(self, request: httpx.Request) -> None:
        """Every request, redirected ones included, goes to the configured origin only: the
        headers carry API keys, which httpx strips from a cross-origin redirect only when
        they are ``Authorization``."""
        home = httpx.URL(self.base_url)
        if _origin(request.url) != _origin(home):
            raise OffHostRedirect(
                f"{_origin_text(home)} redirected to {_origin_text(request.url)}: refused, "
                f"credentials are only ever sent to {home.host}"
            )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self, url: str, headers: Mapping[str, str] | None = None, *, json_body: bool = False
    ) -> Answer:
        """GET an absolute ``url`` (on the configured origin) with extra ``headers``, under the
        same rate limit, retries and redirect rule as :meth:`get`, and return the final answer
        read whole: for a caller that builds its own response object (a ``requests`` adapter).

        With ``json_body``, a body that is not JSON is retried like a cut-off transfer and the
        decoded body is returned in ``Answer.data``.
        """

        def answer(response: httpx.Response) -> Answer:
            return Answer(
                url=str(response.url),
                status=response.status_code,
                reason=response.reason_phrase,
                headers=list(response.headers.multi_items()),
                body=response.content,
                data=_json_body(response) if json_body else None,
            )

        return self.get(url, headers=headers, parse=answer)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and decode its JSON body, retrying transient failures.

        A body that is not JSON (a cut-off page whose framing looked complete, e.g. a
        truncated gzip stream) is retried like a broken transfer, then fails naming the URL.
        """
        return self.get(path, params, parse=_json_body)

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        parse: Callable[[httpx.Response], Any] | None = None,
        sink: BinaryIO | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``path`` (relative to ``base_url``, or an absolute URL on its origin); with
        ``sink``, a 200 body is streamed into it (rewound on each retry) rather than held in
        memory: for archives too large for that (SEC's companyfacts.zip). ``headers`` are
        added to the client's own for this request."""
        last = ""
        for attempt in range(1, self.retry.attempts + 1):
            self.limiter.acquire()
            try:
                if sink is None:
                    response = self._client.get(path, params=params, headers=headers)
                    # read the whole body now so a truncated transfer is a retryable failure
                    response.read()
                else:
                    response = self._stream(path, params, sink, headers)
            except (httpx.TimeoutException, httpx.TransportError, httpx.DecodingError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                if attempt < self.retry.attempts:
                    self.sleep(self.retry.delay(attempt))
                continue
            if response.status_code == 429:
                last = "HTTP 429 Too Many Requests"
                if attempt < self.retry.attempts:
                    self.sleep(self._rate_limit_wait(response, attempt))
                continue
            if response.status_code in RETRY_STATUSES:
                last = f"HTTP {response.status_code}"
                if attempt < self.retry.attempts:
                    self.sleep(self.retry.delay(attempt))
                continue
            if response.status_code == 404:
                raise NotFound(f"GET {response.request.url}: HTTP 404 not found")
            if response.status_code >= 400:
                raise SourceError(
                    f"GET {response.request.url}: HTTP {response.status_code} "
                    f"{_snippet(response.text)}"
                )
            if parse is None:
                return response
            try:
                return parse(response)
            except _BadBody as exc:
                last = f"GET {response.request.url} {exc}"
                if attempt < self.retry.attempts:
                    self.sleep(self.retry.delay(attempt))
                continue
        raise SourceError(
            f"GET {self._label(path)} failed after "
            f"{self.retry.attempts} attempts: {_snippet(last, 400)}"
        )

    def _label(self, path: str) -> str:
        """The URL a failure names (an absolute ``path`` without its query string)."""
        if path.startswith(("http://", "https://")):
            return path.partition("?")[0]
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def _stream(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        sink: BinaryIO,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        with self._client.stream("GET", path, params=params, headers=headers) as response:
            if response.status_code != 200:
                response.read()
                return response
            sink.seek(0)
            sink.truncate()
            for chunk in response.iter_bytes(1 << 20):
                sink.write(chunk)
            sink.flush()
        return response

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float:
        """Seconds to wait after a 429: Retry-After, or X-RateLimit-Reset (epoch seconds)."""
        wait = None
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            try:
                wait = float(retry_after)
            except ValueError:
                try:
                    wait = parsedate_to_datetime(retry_after).timestamp() - time.time()
                except (TypeError, ValueError):
                    wait = None
        reset = response.headers.get("X-RateLimit-Reset")
        if wait is None and reset:
            try:
                value = float(reset)
            except ValueError:
                value = None
            if value is not None:
                # epoch seconds (Alpaca); a small number is seconds from now
                wait = value - time.time() if value > _EPOCH_2001 else value
        if wait is None or wait <= 0:
            # no usable hint, or a reset already past (clock skew): back off rather than
            # spend every attempt within milliseconds
            wait = self.retry.delay(attempt)
        return max(0.0, min(wait, self.retry.max_rate_limit_wait))


class _BadBody(ValueError):
    """A response body that could not be decoded (retried like a broken transfer)."""


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise _BadBody(
            f"returned a body that is not valid JSON ({len(response.content)} bytes): {exc}"
        ) from None


def _snippet(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _origin_text(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
