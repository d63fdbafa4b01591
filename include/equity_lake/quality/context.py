"""What the daily-ticks gate knows of yesterday: the context columns it validates beside a batch.

The columns are computed outside Great Expectations (``datasets/daily_context.py`` reads each
security's previous bar and, where needed, its corporate actions from the lake) and appended to
the validated frame, row for row; they are never published. This module holds their schema and
the thresholds the builder and the suite (``suites.daily_ticks``) share, and imports neither GX
nor the lake store, so both sides can import it cheaply.
"""

from __future__ import annotations

import pyarrow as pa

#: one row per bar, null where the bar has no previous bar to compare with (a new listing, a
#: lake without earlier bars) or either bar is unusable (the schema checks report those)
DAILY_CONTEXT = pa.schema(
    [
        # the session of the security's previous bar (the batch's own, or the lake's)
        ("prev_date", pa.date32()),
        # its close in this bar's terms: divided by the ratio of each split and less each
        # dividend with an ex-date in (prev_date, timestamp] (corporate actions are read only
        # for bars whose raw move is beyond the warning bounds: others cannot need them)
        ("prev_close_adj", pa.float64()),
        # close / prev_close_adj
        ("move", pa.float64()),
        # volume / previous volume (times the split ratios); null when that traded < 100 shares
        ("volume_ratio", pa.float64()),
        # open, high, low, close and volume all equal to the previous bar's, volume > 0
        ("stale", pa.bool_()),
        # the same (timestamp, open, high, low, close, volume), volume > 0, under another
        # security in the batch (never null: needs no previous bar)
        ("duplicate_bar", pa.bool_()),
        # volume 0, yet the close differs from prev_close_adj or high differs from low
        ("zero_volume_move", pa.bool_()),
        # the same for every row of one trading date (``timestamp``): that day's aggregates, so
        # a batch of several days (a range backfill's month) is judged day by day, as daily
        # runs are. ``day_compared``: the day's rows with a volume ratio (as ``compared_rows``
        # counts them; null only for a row without a timestamp). The three others are null on
        # a day with fewer than MIN_COMPARED_ROWS of them (too few for a verdict):
        ("day_compared", pa.int64()),
        # the median of the day's non-null ``move``
        ("day_median_move", pa.float64()),
        # the median of the day's non-null ``volume_ratio``
        ("day_median_volume_ratio", pa.float64()),
        # the share of the day's non-null ``stale`` that is True
        ("day_stale_share", pa.float64()),
    ]
)

#: warn when close / previous close leaves [1 - max_move, 1 + max_move] unexplained
DEFAULT_MAX_MOVE = 0.5
#: reject beyond [1/x, x]: no session moves a price 25x; 100x is a unit error (cents)
MAX_SESSION_MOVE = 25.0
#: a volume ratio counts only when the previous bar traded at least this many shares
MIN_PREV_VOLUME = 100
#: warn when one security's volume is more than this multiple of its previous bar's
MAX_VOLUME_RATIO = 100.0
#: batch-level checks judge a day only with at least this many compared rows
MIN_COMPARED_ROWS = 20
#: reject a day whose median move leaves these bounds (a feed in cents, a level jump)
MEDIAN_MOVE = (0.5, 2.0)
#: reject a day whose median volume ratio leaves these bounds (shares vs lots of 100)
MEDIAN_VOLUME_RATIO = (1 / 20, 20.0)
#: reject a day on which more than this share of the compared rows is stale
MAX_STALE_SHARE = 0.10


#: what the minute-ticks gate validates beside a chunk's minute bars, row for row
#: (``datasets/minute_ticks.py`` builds it; never published)
MINUTE_CONTEXT = pa.schema(
    [
        # minutes from the start of the run's session (regular or extended, by the calendar):
        # a bar outside the session is outside [0, session_minutes - 1]
        ("session_minute", pa.float64()),
        # how many bars the row's security has in the batch (at most the session's minutes)
        ("security_minutes", pa.int64()),
        # null when the security's regular-session minutes agree with its daily bar in the
        # lake (first open, last close, max high, min low, summed volume) or it has none there;
        # else which of them differ, e.g. "high 101.5 != daily 101.2"
        ("daily_mismatch", pa.string()),
    ]
)
