"""The shared HTTP client against a local server speaking Alpaca's wire format.

Each fault is produced on the wire (status codes and headers, a slow response, a body cut
short, a corrupt gzip body); the client's ``sleep`` is the only seam, so waits can be read
without spending them (one test spends them for real and checks the server's clock).
"""

from __future__ import annotations

import email.utils
import gzip
import json
import threading
import time
from urllib.parse import urlencode

import pytest

from equity_lake.sources.http import (
    HttpClient,
    NotFound,
    OffHostRedirect,
    RateLimiter,
    RetryPolicy,
    SourceError,
)
from standins.alpaca import AlpacaServer
from standins.base import Fault

BARS = "/v2/stocks/bars"
PARAMS = {
    "symbols": "AAPL,NIO",
    "timeframe": "1Day",
    "start": "2021-10-13",
    "end": "2021-10-15",
    "feed": "iex",
}


@pytest.fixture(scope="module")
def server():
    with AlpacaServer(prefix="/proxy/alpaca") as running:
        yield running


@pytest.fixture
def alpaca(server):
    server.reset()
    yield server
    server.reset()


class Sleeps(list):
    """Records the waits the client asks for instead of spending them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(server, *, attempts=3, timeout=5.0, rate=1000.0, sleep=None) -> HttpClient:
    return HttpClient(
        base_url=server.url,
        headers={"APCA-API-KEY-ID": server.key_id, "APCA-API-SECRET-KEY": server.secret_key},
        rate_per_second=rate,
        timeout=timeout,
        retry=RetryPolicy(attempts=attempts, backoff=0.2, max_backoff=1.0),
        sleep=sleep if sleep is not None else Sleeps(),
    )


def test_a_page_is_decoded_and_the_base_path_is_kept(alpaca):
    with client(alpaca) as http:
        page = http.get_json(BARS, PARAMS)
    assert sorted(page["bars"]) == ["AAPL", "NIO"]
    assert page["bars"]["AAPL"][0] == {
        "t": "2021-10-13T04:00:00Z",
        "o": 141.21,
        "h": 141.4,
        "l": 139.2,
        "c": 140.91,
        "v": 78993712,
        "n": 595435,
        "vw": 140.361873,
    }
    assert page["next_page_token"] is None
    [request] = alpaca.requests
    assert request.path == BARS and request.params == PARAMS  # /proxy/alpaca prefix was kept


def test_429_waits_for_x_ratelimit_reset_in_epoch_seconds(alpaca):
    reset = int(time.time()) + 2
    alpaca.inject(Fault(status=429, headers={"X-RateLimit-Reset": str(reset)}))
    with client(alpaca, sleep=time.sleep) as http:  # spend the wait for real
        assert "AAPL" in http.get_json(BARS, PARAMS)["bars"]
    first, second = alpaca.requests
    assert second.at >= reset - 0.05, "retried before the rate-limit window reset"
    assert second.at - first.at < 3.5


def test_429_honours_retry_after_seconds_and_http_dates(alpaca):
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    alpaca.inject(
        Fault(status=429, headers={"Retry-After": "7"}),
        Fault(status=429, headers={"Retry-After": later}),
    )
    sleeps = Sleeps()
    with client(alpaca, sleep=sleeps) as http:
        http.get_json(BARS, PARAMS)
    assert sleeps[0] == 7.0
    assert 27 <= sleeps[1] <= 31
    assert len(alpaca.requests) == 3


def test_429_with_a_reset_already_past_backs_off_instead_of_spinning(alpaca):
    alpaca.inject(Fault(status=429, headers={"X-RateLimit-Reset": str(int(time.time()) - 60)}))
    sleeps = Sleeps()
    with client(alpaca, sleep=sleeps) as http:
        http.get_json(BARS, PARAMS)
    assert len(sleeps) == 1 and 0.1 <= sleeps[0] <= 0.2


def test_429_waits_are_capped(alpaca):
    alpaca.inject(Fault(status=429, headers={"Retry-After": "86400"}))
    sleeps = Sleeps()
    with client(alpaca, sleep=sleeps) as http:
        http.get_json(BARS, PARAMS)
    assert sleeps == [RetryPolicy().max_rate_limit_wait]


def test_429_every_time_fails_after_the_attempts(alpaca):
    alpaca.inject(Fault(status=429, headers={"Retry-After": "1"}, times=10))
    with client(alpaca) as http, pytest.raises(SourceError) as err:
        http.get_json(BARS, PARAMS)
    assert "failed after 3 attempts: HTTP 429" in str(err.value)
    assert len(alpaca.requests) == 3


def test_5xx_retries_with_growing_backoff(alpaca):
    alpaca.inject(Fault(status=500, times=1), Fault(status=503, times=1))
    sleeps = Sleeps()
    with client(alpaca, sleep=sleeps) as http:
        assert "NIO" in http.get_json(BARS, PARAMS)["bars"]
    assert len(alpaca.requests) == 3
    assert 0.1 <= sleeps[0] <= 0.2 and 0.2 <= sleeps[1] <= 0.4


def test_5xx_that_persists_fails_with_one_line_naming_the_url(alpaca):
    alpaca.inject(Fault(status=502, body=b"<html>\n<b>Bad gateway</b>\n</html>", times=10))
    with client(alpaca) as http, pytest.raises(SourceError) as err:
        http.get_json(BARS, PARAMS)
    message = str(err.value)
    assert "\n" not in message
    assert f"{alpaca.url}{BARS}" in message and "HTTP 502" in message


def test_a_truncated_body_is_retried(alpaca):
    alpaca.inject(Fault(truncate=True))
    with client(alpaca) as http:
        page = http.get_json(BARS, PARAMS)
    assert len(page["bars"]["AAPL"]) == 3
    assert len(alpaca.requests) == 2


def test_a_body_truncated_every_time_fails(alpaca):
    alpaca.inject(Fault(truncate=True, times=10))
    with client(alpaca) as http, pytest.raises(SourceError) as err:
        http.get_json(BARS, PARAMS)
    assert "RemoteProtocolError" in str(err.value)


def test_a_cut_off_gzip_page_is_retried_not_taken_as_a_short_answer(alpaca):
    whole = gzip.compress(b'{"bars": {"AAPL": [], "NIO": []}, "next_page_token": null}')
    cut = whole[: len(whole) // 2]  # framing complete, content cut: decodes to a JSON prefix
    gz = {"Content-Encoding": "gzip"}
    alpaca.inject(Fault(status=200, headers=gz, body=cut), Fault(status=200, headers=gz, body=b"x"))
    with client(alpaca) as http:
        page = http.get_json(BARS, PARAMS)
    assert len(page["bars"]["AAPL"]) == 3
    assert len(alpaca.requests) == 3


def test_a_body_that_is_never_json_fails_naming_it(alpaca):
    alpaca.inject(Fault(bad_page=True, times=10))
    with client(alpaca) as http, pytest.raises(SourceError) as err:
        http.get_json(BARS, PARAMS)
    assert "not valid JSON" in str(err.value) and BARS in str(err.value)


def test_a_slow_response_times_out_and_is_retried(alpaca):
    alpaca.inject(Fault(delay=1.0))
    with client(alpaca, timeout=0.3) as http:
        assert "AAPL" in http.get_json(BARS, PARAMS)["bars"]
    assert len(alpaca.requests) == 2


def test_always_slow_fails_as_a_timeout(alpaca):
    alpaca.inject(Fault(delay=0.6, times=10))
    with client(alpaca, attempts=2, timeout=0.2) as http, pytest.raises(SourceError) as err:
        http.get_json(BARS, PARAMS)
    assert "ReadTimeout" in str(err.value)


def test_404_is_not_found_at_once(alpaca):
    with client(alpaca) as http, pytest.raises(NotFound, match="404"):
        http.get_json("/v2/stocks/nope", PARAMS)
    assert len(alpaca.requests) == 1


@pytest.mark.parametrize(
    "headers, params, status, text",
    [
        ({"APCA-API-KEY-ID": "wrong"}, PARAMS, 401, "unauthorized"),
        (None, {**PARAMS, "timeframe": "2Weeks"}, 422, "invalid timeframe"),
    ],
)
def test_client_errors_fail_at_once_with_the_providers_message(
    alpaca, headers, params, status, text
):
    http = client(alpaca)
    if headers:
        http._client.headers.update(headers)
    with http, pytest.raises(SourceError) as err:
        http.get_json(BARS, params)
    assert f"HTTP {status}" in str(err.value) and text in str(err.value)
    assert len(alpaca.requests) == 1


def test_the_rate_limit_spaces_requests_across_threads(alpaca):
    rate = 10.0
    with client(alpaca, rate=rate) as http:
        threads = [
            threading.Thread(target=lambda: [http.get_json(BARS, PARAMS) for _ in range(3)])
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    stamps = sorted(r.at for r in alpaca.requests)
    assert len(stamps) == 9
    # a bucket of one token: 9 requests need at least 8 intervals of 1/rate
    # (less a margin: the first request may reach the server late, opening its connection)
    assert stamps[-1] - stamps[0] >= 8 / rate - 0.1


def test_rate_limiter_tokens_follow_the_clock():
    now = [100.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(rate=4.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        limiter.acquire()
    assert sum(waits) == pytest.approx(1.0)  # 2 from the burst, then 4 at 0.25 s each
    now[0] += 10  # an idle spell refills no more than the burst
    waits.clear()
    for _ in range(3):
        limiter.acquire()
    assert sum(waits) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="rate must be positive"):
        RateLimiter(rate=0)


def test_a_redirect_to_another_host_is_refused_and_the_keys_never_leave(alpaca):
    """The endpoint answers 302 to a server on another loopback address: the client stops,
    names both hosts, and the other server never sees a request (nor the API key)."""
    from equity_lake.sources.http import OffHostRedirect
    from standins.files import FileServer

    with FileServer(host="127.0.0.2") as elsewhere:
        elsewhere.add(BARS, b'{"bars": {}, "next_page_token": null}')
        alpaca.inject(Fault(status=302, headers={"Location": elsewhere.url + BARS}, path=BARS))
        with client(alpaca) as http, pytest.raises(OffHostRedirect) as refused:
            http.get_json(BARS, PARAMS)
        assert elsewhere.paths() == []
    message = str(refused.value)
    assert "http://127.0.0.1:" in message and "http://127.0.0.2:" in message
    assert alpaca.key_id not in message and alpaca.secret_key not in message


def test_a_redirect_on_the_same_host_is_followed(alpaca):
    from urllib.parse import urlencode

    moved = f"{alpaca.url}{BARS}?{urlencode(PARAMS)}"
    alpaca.inject(Fault(status=302, headers={"Location": moved}, path=BARS, times=1))
    with client(alpaca) as http:
        body = http.get_json(BARS, PARAMS)
    assert set(body["bars"]) == {"AAPL", "NIO"}
    assert len(alpaca.requests_to(BARS)) == 2


def test_fetch_gets_an_absolute_url_with_the_callers_headers_and_retries_a_bad_body(alpaca):
    """What a ``requests`` adapter needs: the final answer whole, decoded JSON checked."""
    keys = {"APCA-API-KEY-ID": alpaca.key_id, "APCA-API-SECRET-KEY": alpaca.secret_key}
    alpaca.inject(Fault(bad_page=True))
    with HttpClient(base_url=alpaca.url, retry=RetryPolicy(attempts=3), sleep=Sleeps()) as http:
        answer = http.fetch(f"{alpaca.url}{BARS}?{urlencode(PARAMS)}", keys, json_body=True)
    assert (answer.status, answer.reason) == (200, "OK")
    assert sorted(answer.data["bars"]) == ["AAPL", "NIO"] and json.loads(answer.body) == answer.data
    assert ("content-type", "application/json") in [(k.lower(), v) for k, v in answer.headers]
    assert alpaca.secret_key not in repr(answer)
    first, second = alpaca.requests
    assert first.params == second.params == PARAMS
    assert second.header("APCA-API-SECRET-KEY") == alpaca.secret_key


def test_fetch_stays_on_the_origin_and_names_the_url_without_its_query(alpaca):
    with client(alpaca) as http, pytest.raises(OffHostRedirect, match="127.0.0.2"):
        http.fetch(f"http://127.0.0.2:{alpaca.port}{BARS}")
    assert alpaca.requests == []
    alpaca.inject(Fault(status=503, times=10))
    with client(alpaca) as http, pytest.raises(SourceError) as err:
        http.fetch(f"{alpaca.url}{BARS}?{urlencode(PARAMS)}")
    assert str(err.value).startswith(f"GET {alpaca.url}{BARS} failed after 3 attempts: HTTP 503")
