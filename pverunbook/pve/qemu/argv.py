"""Find the QEMU argv in what an operator pastes: ps lines, /proc cmdline, qm showcmd.

Also the ``swtpm`` process qemu-server starts beside a VM with a TPM (``start_swtpm`` in
``PVE/QemuServer.pm``), whose ``--tpmstate`` names the TPM state volume.
"""

from __future__ import annotations

import quopri
import re
import shlex


class CmdlineError(ValueError):
    """The input is not a usable QEMU command line (message says why and what to do)."""



NOARG = {
    "-no-shutdown", "-daemonize", "-nodefaults", "-no-hpet", "-nographic", "-snapshot",
    "-no-acpi", "-no-reboot", "-S", "-enable-kvm", "-no-kvm", "-no-user-config",
    "-full-screen", "-no-fd-bootchk", "-localtime", "-usb", "-s",
}
_EXE_RE = re.compile(r"(?:^|/)(kvm|qemu-system-[\w.-]+|qemu-kvm)$")


def is_exe(tok: str) -> bool:
    return bool(_EXE_RE.search(tok))


def rejoin(tokens: list[str]) -> list[str]:
    """Rejoin a space-split (``ps``) command line: option values may have contained spaces."""
    out: list[str] = [tokens[0]]
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        out.append(tok)
        i += 1
        if tok.startswith("-") and tok not in NOARG and i < len(tokens):
            parts = [tokens[i]]
            i += 1
            while i < len(tokens) and not re.match(r"-[a-zA-Z]", tokens[i]):
                parts.append(tokens[i])
                i += 1
            out.append(" ".join(parts))
    return out


_SMART = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u00a0": " ", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
# A line that starts a new record rather than continuing a wrapped one: a `ps aux`/`ps -eo`
# row, a shell prompt, or a fenced-code marker.
_NEW_RECORD = re.compile(r"\s*(?:\S+\s+\d+\s+\d+\.\d+\s+\d+\.\d+\s|\d+\s+/|[\w.-]+@[\w.-]+:.*[#$]|"
                         r"[#$]\s|```|\[/?code\])", re.I)


def unwrap(text: str) -> str:
    """Undo what mail clients, forums and terminals do to a long command line.

    Quoted-printable soft breaks (``=`` at a line end, ``=3D``), ``>`` reply quoting, non-
    breaking spaces and typographic quotes/dashes are undone; a kvm line broken over several
    lines is joined again.  A break at a fixed width (terminal wrap) or inside an option
    value (the line ends in ``,``/``=``/``:``/``/`` or the next starts with one) is joined
    without a space, a break between options (mail clients wrap at spaces) with one.
    Lines ending in ``\\`` (``qm showcmd --pretty``) are left to the shell-style reader.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_SMART)
    if re.search(r"=\n", text) and re.search(r"=3D|=20", text):
        text = quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
    lines = text.split("\n")
    quoted = [ln for ln in lines if ln.strip()]
    if quoted and sum(ln.lstrip().startswith(">") for ln in quoted) * 2 > len(quoted):
        lines = [re.sub(r"^\s*(?:>\s?)+", "", ln) for ln in lines]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not _EXE_TOKEN.search(line) or line.rstrip().endswith("\\"):
            out.append(line)
            continue
        cont: list[str] = []
        while i < len(lines) and lines[i].strip() and not _NEW_RECORD.match(lines[i]) \
                and not _EXE_TOKEN.search(lines[i]) and not lines[i].startswith("swtpm"):
            cont.append(lines[i])
            i += 1
        if not cont:
            out.append(line)
            continue
        widths = {len(x) for x in [line] + cont[:-1]}
        fixed = len(widths) == 1 and len(line) >= 60
        joined = line
        for c in cont:
            c_body = c if fixed else c.lstrip()
            if fixed:
                joined += c_body
            elif joined.endswith(" "):
                joined += c_body.lstrip()
            elif _ENDS_IN_OPTION.search(joined):
                # `-readconfig` / `/usr/share/...`: the break is where the space between an
                # option and its value was (a mail client wraps there), not inside the value
                joined += " " + c_body
            elif fixed or joined.endswith((",", "=", ":", "/")) or c_body.startswith(
                    (",", "=", ":", "/", ".")):
                joined += c_body
            else:
                joined += " " + c_body
        out.append(joined)
    return "\n".join(out)


_EXE_TOKEN = re.compile(r"(?:^|\s)(?:\S*/)?(?:kvm|qemu-system-[\w.-]+|qemu-kvm)\s+-")
#: A joined line whose last word is a whole option name (``... -readconfig``): no value of an
#: option qemu-server writes is a word of its own that starts with ``-``.
_ENDS_IN_OPTION = re.compile(r"(?:^|\s)-[A-Za-z][\w-]*$")


def split_all(text: str | bytes) -> list[list[str]]:
    """Every QEMU argv found in ``text``: ``ps`` lines, NUL-separated ``/proc/<pid>/cmdline``,
    ``qm showcmd [--pretty]`` output, also as wrapped by a mail client or forum (see
    :func:`unwrap`).  One argv per kvm process, each starting with the binary."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if "\0" in text:
        argv = [a for a in text.split("\0")]
        while argv and argv[-1] == "":
            argv.pop()
        if argv and is_exe(argv[0]):
            return [argv]
        for i, a in enumerate(argv):
            if is_exe(a):
                return [argv[i:]]
        return []
    text = unwrap(text)
    logical = re.sub(r"\\[ \t]*\n", " ", text).split("\n")
    result: list[list[str]] = []
    for line in logical:
        if not _EXE_TOKEN.search(line):
            continue
        toks: list[str] = []
        if "'" in line or '"' in line:
            try:
                toks = shlex.split(line, comments=False, posix=True)
            except ValueError:
                toks = []
        quoted = bool(toks)
        if not toks:
            toks = line.split()
        for i, tok in enumerate(toks):
            if is_exe(tok) and i + 1 < len(toks) and toks[i + 1].startswith("-"):
                result.append(toks[i:] if quoted else rejoin(toks[i:]))
                break
    return result


def split_cmdline(text: str | bytes) -> list[str]:
    """The argv of the one QEMU process in ``text``; errors if there is none or several VMs."""
    found = split_all(text)
    if not found:
        if not (text.strip() if isinstance(text, str) else text.strip()):
            raise CmdlineError("input is empty; paste `ps -ww -o args= -p <pid>` or "
                               "/proc/<pid>/cmdline of the kvm process")
        raise CmdlineError("no kvm/qemu-system command line found; give the full `ps auxww` "
                           "line, /proc/<pid>/cmdline or `qm showcmd <vmid> --pretty` output")
    if len(found) > 1:
        ids = sorted({opt_value(a, "-id") or "?" for a in found})
        raise CmdlineError(f"found {len(found)} QEMU processes (VM ids {', '.join(ids)}); "
                           "select one with split_all() or --vmid")
    return found[0]


def opt_value(argv: list[str], opt: str) -> str | None:
    for i, a in enumerate(argv[:-1]):
        if a == opt:
            return argv[i + 1]
    return None



_SWTPM_STATE = re.compile(r"--tpmstate[= ]+(?:backend-uri=)?file://([^,\s]+)")
_SWTPM_VMID = re.compile(r"/run/qemu-server/(\d+)(?:\.swtpm|-swtpm\.log)")


def find_swtpm(text: str | bytes) -> dict[int, tuple[str, bool]]:
    """The swtpm processes in ``text``: VM id -> (TPM state path, TPM 2.0?).

    qemu-server's start_swtpm (QemuServer.pm) runs ``swtpm socket --tpmstate
    backend-uri=file://<path>,mode=0600 --ctrl type=unixio,path=/var/run/qemu-server/
    <vmid>.swtpm,... --log file=/run/qemu-server/<vmid>-swtpm.log,...`` plus ``--tpm2`` for
    version v2.0; it is its own process, so its ``ps`` line is separate from the kvm line.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    found: dict[int, tuple[str, bool]] = {}
    for line in text.replace("\0", " ").splitlines():
        if "swtpm" not in line or "--tpmstate" not in line:
            continue
        st = _SWTPM_STATE.search(line)
        vm = _SWTPM_VMID.search(line)
        if st and vm:
            found[int(vm.group(1))] = (st.group(1), "--tpm2" in line.split())
    return found
