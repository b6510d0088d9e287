"""Find the QEMU argv in what an operator pastes: ps lines, /proc cmdline, qm showcmd."""

from __future__ import annotations

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


def split_all(text: str | bytes) -> list[list[str]]:
    """Every QEMU argv found in ``text`` (ps lines, /proc cmdline or ``qm showcmd`` output)."""
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
    if re.search(r"\\\r?\n", text) or "'" in text:
        joined = re.sub(r"\\\r?\n", " ", text)
        try:
            toks = shlex.split(joined, comments=False, posix=True)
        except ValueError:
            toks = []
        for i, t in enumerate(toks):
            if is_exe(t) and i + 1 < len(toks) and toks[i + 1].startswith("-"):
                return [toks[i:]]
    result: list[list[str]] = []
    for line in text.splitlines():
        toks = line.split()
        for i, t in enumerate(toks):
            if is_exe(t):
                rest = toks[i:]
                if len(rest) > 1 and rest[1].startswith("-"):
                    result.append(rejoin(rest))
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
