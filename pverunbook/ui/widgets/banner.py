"""The mode banner: LIVE, DRY-RUN, REHEARSAL or LOCAL, impossible to miss."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from pverunbook.inventory import Cluster
from pverunbook.session import Mode

MODE_WORDS: dict[Mode, tuple[str, str]] = {
    Mode.LIVE: ("● LIVE", "commands change REAL nodes"),
    Mode.DRY_RUN: ("DRY-RUN", "nothing is executed; commands are only shown"),
    Mode.REHEARSAL: ("REHEARSAL", "simulated cluster; safe to practise"),
    Mode.LOCAL: ("LOCAL", "commands run on this machine"),
}

#: The same meaning in fewer columns, for a narrow console (80 columns and less).
MODE_SHORT: dict[Mode, str] = {
    Mode.LIVE: "changes REAL nodes",
    Mode.DRY_RUN: "nothing is executed",
    Mode.REHEARSAL: "safe to practise",
    Mode.LOCAL: "runs on this machine",
}

#: Columns the screen's title keeps beside the banner when the console is narrow.
TITLE_MIN = 20


def describe_targets(mode: Mode, cluster: Cluster | None) -> str:
    if cluster is None:
        return "connecting…"
    nodes = ", ".join(cluster.names)
    return f"cluster {cluster.name}: {nodes}"


def banner_variants(mode: Mode, cluster: Cluster | None) -> list[str]:
    """The banner's text, longest first: each keeps the mode and what it means (LIVE changes
    real nodes), then the cluster with its nodes, its name and size, its name, or nothing of
    it."""
    word, what = MODE_WORDS[mode]
    short = MODE_SHORT[mode]
    full = describe_targets(mode, cluster)
    out = [f" {word} │ {full} │ {what} ", f" {word} │ {full} │ {short} "]
    if cluster is not None:
        out.append(f" {word} │ {cluster.name}: {', '.join(cluster.names)} │ {short} ")
        out.append(f" {word} │ {cluster.name} ({len(cluster.names)} nodes) │ {short} ")
        # 60 columns: the cluster's name still (it was dropped first, the header naming no
        # cluster at all), then what the mode means
        out.append(f" {word} │ {cluster.name} │ {short} ")
    out.append(f" {word} │ {short} ")
    return out


def fit_banner(mode: Mode, cluster: Cluster | None, width: int) -> str:
    """The longest variant that fits in ``width`` columns (the shortest when none does)."""
    variants = banner_variants(mode, cluster)
    return next((v for v in variants if len(v) + 2 <= width), variants[-1])


class ModeBanner(Static):
    """A one-line badge whose colour and words depend on the mode. On a narrow console it
    says the same in fewer words (the mode, what it means, the cluster), leaving the screen's
    title a few columns; the tooltip always has the whole text."""

    def __init__(self, mode: Mode, cluster: Cluster | None = None, *, room: int = 10_000,
                 **kwargs: object) -> None:
        # The words from the start (``room``: the columns it may take), not only from
        # on_mount: the first frame is painted before the handlers' updates.
        super().__init__(fit_banner(mode, cluster, room), **kwargs)  # type: ignore[arg-type]
        self.mode = mode
        self.cluster = cluster
        self.add_class(f"-{mode.value}")

    def on_mount(self) -> None:
        self._update()

    def on_resize(self) -> None:
        self._update()

    def set_cluster(self, cluster: Cluster | None) -> None:
        self.cluster = cluster
        self._update()

    def _update(self) -> None:
        room = self.app.size.width - TITLE_MIN if self.is_mounted else 10_000
        text = fit_banner(self.mode, self.cluster, room)
        self.tooltip = banner_variants(self.mode, self.cluster)[0].strip()
        if str(self.content) != text:
            self.update(text)


class AppHeader(Horizontal):
    """Docked at the top of every screen: the mode banner and the screen's title."""

    def __init__(self, mode: Mode, cluster: Cluster | None, title: str) -> None:
        super().__init__(id="app-header")
        self._mode = mode
        self._cluster = cluster
        self._title = title

    def compose(self) -> ComposeResult:
        yield ModeBanner(self._mode, self._cluster, room=self.app.size.width - TITLE_MIN,
                         id="mode-banner")
        yield Static(self._title, id="header-title")

    def set_title(self, title: str) -> None:
        self.query_one("#header-title", Static).update(title)

    def set_cluster(self, cluster: Cluster | None) -> None:
        self.query_one(ModeBanner).set_cluster(cluster)
