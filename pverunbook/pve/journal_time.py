"""When a journal line was written, as a UTC instant, from the stamp journalctl printed.

``journalctl``'s default ``short`` output stamps each line ``Dec 07 05:47:36``: the node's local
time (its time zone, strftime ``%b %d %H:%M:%S``) without year or zone (systemd
src/shared/logs-show.c ``output_timestamp_realtime``). To compare a line with an instant (the
start of a run that changed the cluster), the stamp needs both: the zone is the node's UTC
offset (``date +%z``, read by the health check's clock step with the node's epoch), the year
is the one that puts the stamp at or before the node's own "now" — a line cannot be written
after the moment it is read, so on 2 January a line stamped ``Dec 31`` is from the year before.
ISO stamps (``-o short-iso``: ``2026-12-07T05:47:36+0100``) carry both and are used as they are.

Pure: no clock is read here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pverunbook.pve.outputs.journal import parse_timestamp

#: How far a stamp may lie after the node's "now" and still be this year's: the journal step
#: and the clock step run a few seconds apart.
CLOCK_SLACK = timedelta(minutes=5)
_SYSLOG = re.compile(r"^([A-Za-z]{3})\.?\s+\d{1,2} \d{2}:\d{2}:\d{2}")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def stamp_of(line: str) -> str:
    """The stamp at the start of a journal line (``Dec 07 05:47:36``, fractions dropped, or an
    ISO stamp with its zone), "" when it has none."""
    m = _SYSLOG.match(line)
    if m:
        return m.group(0)
    m = re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?",
                 line)
    return m.group(0) if m else ""


def utc_offset_s(text: str) -> int | None:
    """``+0100`` / ``-05:30`` (``date +%z``) in seconds east of UTC, None when not an offset."""
    m = _OFFSET.match(text.strip())
    if not m:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 14 or minutes > 59:
        return None
    return (1 if m.group(1) == "+" else -1) * (hours * 3600 + minutes * 60)


def resolve(stamp: str, now_epoch: float, offset_s: int) -> datetime | None:
    """The UTC instant of ``stamp`` on a node whose clock read ``now_epoch`` with UTC offset
    ``offset_s`` (seconds east); None for what is no stamp.

    A stamp without a year is given the latest year that puts it no later than the node's local
    now (plus :data:`CLOCK_SLACK`): the journal's hour across New Year keeps its December lines
    in the old year. ``Feb 29`` goes back to the last leap year. An ISO stamp without a zone is
    local time too.
    """
    zone = timedelta(seconds=offset_s)
    if _ISO.match(stamp):
        parsed = parse_timestamp(stamp + " ")
        if parsed is None:
            return None
        if re.search(r"(Z|[+-]\d{2}:?\d{2})$", stamp):
            return parsed.replace(tzinfo=UTC)  # parse_timestamp gave naive UTC
        return (parsed - zone).replace(tzinfo=UTC)
    if not _SYSLOG.match(stamp):
        return None
    local_now = datetime.fromtimestamp(now_epoch, UTC).replace(tzinfo=None) + zone
    for year in range(local_now.year + 1, local_now.year - 8, -1):
        parsed = parse_timestamp(stamp + " ", year)
        if parsed is None:
            continue  # Feb 29 in a year without it, or no date at all
        if parsed <= local_now + CLOCK_SLACK:
            return (parsed - zone).replace(tzinfo=UTC)
    return None
