"""The one retry policy and the shared defaults of every equity-lake DAG."""

from __future__ import annotations

import datetime as dt

#: transient failures (network, S3, a worker lost) are retried with backoff; data failures
#: (a partition that fails its expectation suite) fail at once: retrying cannot fix the data.
DEFAULT_ARGS = {
    "owner": "equity-lake",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=15),
}

#: the sample market starts here; backfills may go back this far
START_DATE = dt.datetime(2009, 1, 2, tzinfo=dt.UTC)
