"""Headless Chromium for tests: what a person would see, with no network.

Pages we publish (Data Docs, the lake-health page) must work where the lake is read, which
may have no internet access. So a page is loaded with every host but 127.0.0.1 unreachable:
a script or stylesheet pulled from a CDN fails exactly as it would offline, and the test sees
the DOM as it stands after the page's own scripts ran, plus a screenshot for a human.

Two independent locks keep the network out: every host name resolves to nothing except
127.0.0.1, and every request that is not to loopback goes to a proxy on a closed port.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

# Names the binary has in Debian (chromium), Ubuntu (chromium-browser) and Google's builds.
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Port 9 (discard) is closed on test machines: a request sent to this proxy fails at once.
_NO_PROXY = "http://127.0.0.1:9"
_NO_NETWORK = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--proxy-server={_NO_PROXY}",
)


# Chromium's log line of a console message: ...:INFO:CONSOLE:12] "message", source: ...
_CONSOLE = re.compile(r':CONSOLE(?:\(\d+\))?:\d+\] "(.*)", source: ', re.MULTILINE)


class ChromiumMissing(RuntimeError):
    """No Chromium on this machine: the browser tests cannot run."""


def chromium() -> str:
    """Path of the Chromium binary ($CHROMIUM first), or a ChromiumMissing that says how to
    install it."""
    candidates = [os.environ.get("CHROMIUM", ""), *_NAMES]
    for name in filter(None, candidates):
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissing(
        "no Chromium binary found (tried $CHROMIUM and "
        + ", ".join(_NAMES)
        + "); `make install` installs it, or run `apt-get install -y chromium`"
    )


def _url(target: str | Path) -> str:
    """A file path becomes a file:// URL, keeping a "#fragment" after the file's name (a page
    that reads its filters from location.hash); a URL passes through unchanged."""
    text = str(target)
    if "://" in text:
        return text
    path, mark, fragment = text.partition("#")
    if not mark or Path(text).exists():
        return Path(text).resolve().as_uri()
    return f"{Path(path).resolve().as_uri()}#{fragment}"


def render(
    target: str | Path,
    screenshot: Path,
    *,
    wait_ms: int = 8000,
    width: int = 1400,
    height: int = 1000,
    console: list[str] | None = None,
) -> str:
    """Load target (a file path, or an http://127.0.0.1 URL) in headless Chromium with every
    other host unreachable (no network), let its scripts run, save a PNG screenshot at
    `screenshot`, and return the DOM as it stands after the scripts ran (outer HTML).

    Virtual time makes the wait deterministic and cheap: timers and animations run up to
    wait_ms of page time, and Chromium returns as soon as the page is idle. One call takes
    both the DOM and the screenshot, so they show the same state. Given a list as console,
    appends what the page logged to its console (an uncaught error reads "Uncaught ...").
    """
    screenshot = Path(screenshot).resolve()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    # A profile of its own per call: parallel tests never share a Chromium lock or cache.
    with tempfile.TemporaryDirectory(prefix="equity-lake-chromium-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *_NO_NETWORK,
            f"--virtual-time-budget={wait_ms}",
            f"--window-size={width},{height}",
            f"--screenshot={screenshot}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            _url(target),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60 + wait_ms / 1000, check=False
        )
    if done.returncode != 0 or not screenshot.exists():
        raise RuntimeError(
            f"chromium failed on {target} (exit {done.returncode}): {done.stderr[-2000:]}"
        )
    if console is not None:
        console.extend(_CONSOLE.findall(done.stderr))
    return done.stdout


@dataclass
class Row:
    """A table body row as a person reads it: cell texts, links and the row's attributes."""

    attrs: dict[str, str]
    cells: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def rows(dom: str, table_id: str | None = None) -> list[Row]:
    """The body rows of the table with id table_id (of every table when None) in a DOM from
    `render`: only what the page's scripts left in the document (a filtered-out row is gone)."""
    parser = _RowParser(table_id)
    parser.feed(dom)
    parser.close()
    return parser.rows


@dataclass
class _Table:
    """An open <table> while parsing: whether it is read, and its open body, row and cell."""

    read: bool
    in_body: bool = False
    row: Row | None = None
    cell: list[str] | None = None


class _RowParser(HTMLParser):
    """Collects <tbody> rows by the standard library (no parser dependency for tests); a
    cell's text includes the text of any table nested in it, as a person reads it."""

    def __init__(self, table_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.table_id = table_id
        self.rows: list[Row] = []
        self._open: list[_Table] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "table":
            wanted = self.table_id is None or values.get("id") == self.table_id
            self._open.append(_Table(read=wanted))
            return
        table = self._open[-1] if self._open else None
        if table is None or not table.read:
            return
        if tag == "tbody":
            table.in_body = True
        elif tag == "tr" and table.in_body:
            table.row = Row(attrs=values)
            self.rows.append(table.row)
        elif tag in ("td", "th") and table.row is not None:
            table.cell = []
        elif tag == "a" and table.row is not None and "href" in values:
            table.row.links.append(values["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._open:
            self._open.pop()
            return
        table = self._open[-1] if self._open else None
        if table is None:
            return
        if tag == "tbody":
            table.in_body = False
        elif tag == "tr":
            table.row = None
        elif tag in ("td", "th") and table.row is not None and table.cell is not None:
            table.row.cells.append(" ".join("".join(table.cell).split()))
            table.cell = None

    def handle_data(self, data: str) -> None:
        for table in self._open:
            if table.cell is not None:
                table.cell.append(data)
