"""The rehearsal shell's line editor (readline's emacs keys): the line it returns and what it
echoes must agree, for any keys, with what a terminal shows — checked by replaying the echo on
a one-row screen. An operator retyping a long ``sed`` at 3 a.m. because Up did nothing, or
running a line whose screen differs from what runs, is what this guards against."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.sim.line_edit import (
    DOWN,
    ENTER,
    ERASE,
    HOME,
    LEFT,
    UP,
    LineEditor,
    split_keys,
)


class Row:
    """A terminal row: ``\\b`` moves left, a character overwrites and moves right."""

    def __init__(self) -> None:
        self.cells: list[str] = []
        self.col = 0

    def feed(self, data: bytes) -> None:
        for ch in data.decode():
            if ch == "\b":
                assert self.col > 0, "echo moved left past the prompt"
                self.col -= 1
                continue
            assert ch >= " ", f"unexpected control {ch!r} in the echo"
            if self.col == len(self.cells):
                self.cells.append(ch)
            else:
                self.cells[self.col] = ch
            self.col += 1

    def text(self) -> str:
        return "".join(self.cells).rstrip(" ")

    def shows(self, line: str) -> bool:
        """The row starts with ``line`` and is blank after it."""
        shown = "".join(self.cells)
        return shown[:len(line)] == line and not shown[len(line):].strip(" ")


def type_keys(ed: LineEditor, row: Row, data: bytes) -> None:
    keys, rest = split_keys(data)
    assert rest == b""
    for kind, raw in keys:
        row.feed(ed.key(kind, raw))


KEYS = {
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "home": b"\x1b[H", "end": b"\x1b[F", "home~": b"\x1b[1~", "end~": b"\x1b[4~",
    "ss3-up": b"\x1bOA", "ss3-left": b"\x1bOD", "delete": b"\x1b[3~", "bs": b"\x7f",
    "ctrl-a": b"\x01", "ctrl-e": b"\x05", "ctrl-u": b"\x15", "ctrl-k": b"\x0b",
    "ctrl-w": b"\x17", "ctrl-d": b"\x04", "ctrl-b": b"\x02", "ctrl-f": b"\x06",
    "ctrl-p": b"\x10", "ctrl-n": b"\x0e",
}


@settings(deadline=500, max_examples=300)
@given(st.lists(st.one_of(st.sampled_from(sorted(KEYS)),
                          st.text(alphabet="ab c/-é\t", min_size=1, max_size=4)),
                max_size=40),
       st.lists(st.text(alphabet="xyz ", min_size=1, max_size=8), max_size=3))
def test_the_screen_shows_the_line_and_the_cursor(steps: list[str],
                                                  history: list[str]) -> None:
    ed = LineEditor([h.encode() for h in history])
    row = Row()
    for step in steps:
        data = KEYS.get(step, step.encode())
        if data == b"\x04" and not ed.line:
            continue  # Ctrl+D on an empty line ends the input: the caller's, not the editor's
        type_keys(ed, row, data)
        assert row.shows(ed.text().decode().replace("\t", " ")), (row.cells, ed.text())
        assert row.col == ed.cursor


def test_up_recalls_the_last_line_and_down_brings_back_what_was_typed() -> None:
    ed = LineEditor()
    for line in (b"pvecm status", b"systemctl status pve-cluster"):
        for ch in line:
            ed.key("char", bytes([ch]))
        assert ed.enter() == line
    row = Row()
    type_keys(ed, row, b"ls /etc/p")
    type_keys(ed, row, b"\x1b[A")
    assert (ed.text(), row.text()) == (b"systemctl status pve-cluster",
                                       "systemctl status pve-cluster")
    type_keys(ed, row, b"\x1b[A\x1b[A")  # past the oldest: stays there
    assert row.text() == "pvecm status"
    type_keys(ed, row, b"\x1b[B\x1b[B")
    assert row.text() == "ls /etc/p"


def test_history_skips_blank_repeated_and_space_led_lines() -> None:
    ed = LineEditor()
    for line in (b"pvecm status", b"pvecm status", b"   ", b" secret-thing", b"ls"):
        ed.line = [bytes([c]) for c in line]
        ed.enter()
    assert ed.history == [b"pvecm status", b"ls"]


def test_editing_in_the_middle_of_a_line() -> None:
    ed, row = LineEditor(), Row()
    type_keys(ed, row, b"qm list" + KEYS["left"] * 4 + b"x")
    assert row.text() == "qm xlist" and row.col == 4
    type_keys(ed, row, KEYS["bs"] + KEYS["ctrl-w"])
    assert row.text() == "list" and row.col == 0
    type_keys(ed, row, KEYS["ctrl-e"] + b" --full" + KEYS["home"] + KEYS["ctrl-k"])
    assert (row.text(), ed.text()) == ("", b"")


def test_a_key_split_over_two_reads_waits_for_its_rest() -> None:
    keys, rest = split_keys(b"ab\x1b[")
    assert [k for k, _ in keys] == ["char", "char"] and rest == b"\x1b["
    keys, rest = split_keys(rest + b"A")
    assert keys == [(UP, b"\x1b[A")] and rest == b""
    keys, rest = split_keys("é".encode()[:1])
    assert keys == [] and rest == "é".encode()[:1]


def test_keys_are_named_as_xterm_sends_them() -> None:
    keys, _ = split_keys(b"\r\x7f\x1bOH\x1b[1;5D\x1b[15~\x1bx")
    assert [k for k, _ in keys] == [ENTER, ERASE, HOME, LEFT, "other", "other"]
    assert split_keys(b"\x1b[B")[0] == [(DOWN, b"\x1b[B")]


def test_a_pasted_tab_is_kept_in_the_line() -> None:
    """The check's storage.cfg fix is a here-document whose option lines start with a Tab, as
    Proxmox writes the file (SectionConfig); a paste into the rehearsal shell dropped it."""
    ed, row = LineEditor(), Row()
    type_keys(ed, row, b"\tpath /var/lib/vz")
    assert ed.text() == b"\tpath /var/lib/vz" and row.text() == " path /var/lib/vz"
