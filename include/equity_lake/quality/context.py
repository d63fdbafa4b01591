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
#: batch-level checks judge a batch only with at least this many compared rows
MIN_COMPARED_ROWS = 20
#: reject a batch whose median move leaves these bounds (a feed in cents, a level jump)
MEDIAN_MOVE = (0.5, 2.0)
#: reject a batch whose median volume ratio leaves these bounds (shares vs lots of 100)
MEDIAN_VOLUME_RATIO = (1 / 20, 20.0)
#: reject a batch in which more than this share of the compared rows is stale
MAX_STALE_SHARE = 0.10
