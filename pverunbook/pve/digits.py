"""Whether text is a plain unsigned decimal number, as the tools that print it mean one.

``str.isdigit()`` is True for ``'800¹'`` and ``'٣'`` too: the first makes ``int()`` raise
ValueError, the second silently turns Arabic-Indic digits into a number no Proxmox tool printed.
corosync (``icmap``/``totemconfig.c`` ``strtoul``), QEMU (``qemu_strtoul``) and the Perl tools
(``/^\\d+$/`` under ``use utf8``-less source) only ever write ASCII digits, so anything else is
not a number here.
"""

from __future__ import annotations


def is_uint(text: str) -> bool:
    """True when ``text`` is one or more ASCII digits ``0-9`` (and nothing else).

    A guard for ``int(text)``: after it, ``int`` cannot raise and the value is what the tool wrote.
    """
    return text.isascii() and text.isdigit()
