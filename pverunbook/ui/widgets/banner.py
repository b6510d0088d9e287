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


def describe_targets(mode: Mode, cluster: Cluster | None) -> str:
    if cluster is None:
        return "connecting…"
    nodes = ", ".join(cluster.names)
    return f"cluster {cluster.name}: {nodes}"


class ModeBanner(Static):
    """A one-line badge whose colour and words depend on the mode."""

    def __init__(self, mode: Mode, cluster: Cluster | None = None, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.mode = mode
        self.cluster = cluster
        self.add_class(f"-{mode.value}")

    def on_mount(self) -> None:
        self._update()

    def set_cluster(self, cluster: Cluster | None) -> None:
        self.cluster = cluster
        self._update()

    def _update(self) -> None:
        word, what = MODE_WORDS[self.mode]
        self.update(f" {word} │ {describe_targets(self.mode, self.cluster)} │ {what} ")


class AppHeader(Horizontal):
    """Docked at the top of every screen: the mode banner and the screen's title."""

    def __init__(self, mode: Mode, cluster: Cluster | None, title: str) -> None:
        super().__init__(id="app-header")
        self._mode = mode
        self._cluster = cluster
        self._title = title

    def compose(self) -> ComposeResult:
        yield ModeBanner(self._mode, self._cluster, id="mode-banner")
        yield Static(self._title, id="header-title")

    def set_title(self, title: str) -> None:
        self.query_one("#header-title", Static).update(title)

    def set_cluster(self, cluster: Cluster | None) -> None:
        self.query_one(ModeBanner).set_cluster(cluster)
