"""The POSIX sh a node runs when a step's rollback timer fires, and the commands around it.

Written by the engine next to the restore copies on each armed node, in
``/var/lib/pverunbook/rollback/<checkpoint>-<node>/`` (``restore/<abs path>`` = the checkpointed
file, ``rollback.sh``, ``state``, ``armed``, ``pid``, ``log``, ``claim/`` with the pid and boot id
of the process that restores). It needs nothing but a POSIX sh
and coreutils, because it must work on a node the operator can no longer reach:

- **Armed detached from the SSH session**: ``systemd-run --on-active=N`` where systemd runs as
  PID 1 (``/run/systemd/system`` exists, sd_booted(3)), else ``setsid -f nohup sh rollback.sh
  sleep`` (a new session, so the end of the SSH session, pverunbook or the terminal sends it
  nothing). Either way ``state`` must still say ``armed`` when it fires: COMMIT writes
  ``committed`` there before it stops the timer, so a timer that could not be stopped does
  nothing.
- **Fires once**: "Roll back now" runs the script at once (``rollback.sh now``, detached the
  same way, :func:`fire_now_command`); whoever first creates ``claim`` (``mkdir`` is atomic)
  restores, the other one leaves, so the timer firing at that moment cannot restore twice.
- **Restores** every checkpointed file with ``cp`` to a temporary name and ``mv`` over the
  original (never a half-written file).
- **corosync.conf** (pve-docs pvecm.adoc "Edit corosync.conf", dcdb.c
  ``dcdb_sync_corosync_conf``): the old content goes back with a config_version above the
  changed one, chosen by the engine for all nodes alike (pmxcfs refuses to distribute a lower
  version, and corosync exits when a joining node runs a different one, exec/cmap.c). First the
  local ``/etc/corosync/corosync.conf`` (what corosync reads; a cluster that lost quorum cannot
  write /etc/pve) and ``corosync-cfgtool -R`` (cluster-wide reload); then
  ``/etc/pve/corosync.conf`` once pmxcfs is writable again, retried for a while. A file that
  already carries that version or a higher one is left alone: someone changed it after the
  step, and overwriting their change would be a second outage.
- **Logs** each action to ``/var/log/pverunbook-rollback.log`` (what triage reads), the
  directory's ``log`` and syslog via ``logger`` where it exists; ``state`` ends ``done`` or
  ``failed``.

No shell functions: the rehearsal cluster's sh runs the same script.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

ROOT = "/var/lib/pverunbook/rollback"
LOG = "/var/log/pverunbook-rollback.log"
PVE_COROSYNC = "/etc/pve/corosync.conf"
LOCAL_COROSYNC = "/etc/corosync/corosync.conf"
#: How long the script keeps trying to write /etc/pve after the local restore (seconds).
PVE_WAIT = 300

_VERSION_RE = re.compile(r"^(\s*config_version\s*:\s*)(\d+)(.*)$", re.M)


def node_dir(tag: str, root: str = ROOT) -> str:
    return f"{root}/{tag}"


def config_version(text: str) -> int | None:
    """The first ``config_version`` of a corosync.conf (the totem one), or None."""
    m = _VERSION_RE.search(text)
    return int(m.group(2)) if m else None


def with_version(text: str, version: int) -> str:
    """``text`` with its config_version set to ``version`` (added to totem if missing)."""
    if _VERSION_RE.search(text):
        return _VERSION_RE.sub(lambda m: f"{m.group(1)}{version}{m.group(3)}", text, count=1)
    return re.sub(r"(totem\s*\{\s*\n)", rf"\g<1>  config_version: {version}\n", text, count=1)


@dataclass
class Plan:
    """What one node's script does when it fires."""

    node: str
    tag: str
    seconds: int
    step_id: str
    run_id: str
    checkpoint_id: str
    #: Absolute paths restored from ``restore/<path>``, in this order.
    files: list[str] = field(default_factory=list)
    #: config_version the corosync.conf copies are restored with (None: no corosync.conf).
    corosync_version: int | None = None
    reload: list[str] = field(default_factory=list)
    pve_wait: int = PVE_WAIT
    #: Where the node keeps it and logs (tests point these at a user's scratch directory).
    root: str = ROOT
    log: str = LOG

    @property
    def dir(self) -> str:
        return node_dir(self.tag, self.root)


def _say(plan: Plan, message: str) -> str:
    """Lines that log ``message`` (a double-quoted sh string body) to every log."""
    tag = plan.tag
    return (f'M="{message}"; '
            f'L="$(date -u +%Y-%m-%dT%H:%M:%SZ) {plan.node} pverunbook-rollback[$$] {tag}: $M"; '
            f'echo "$L" >>"$LOG"; echo "$L" >>"$D/log"; '
            'if command -v logger >/dev/null 2>&1; then '
            f'logger -t pverunbook-rollback "{tag}: $M"; fi\n')


def _q(s: str) -> str:
    return shlex.quote(s)


def _version_of(path: str) -> str:
    return (f"cur=$(timeout 10 sed -n 's/^[[:space:]]*config_version:[[:space:]]*"
            f"\\([0-9][0-9]*\\).*/\\1/p' {_q(path)} 2>/dev/null | head -n 1)\n")


def script(plan: Plan) -> str:
    """The rollback script of one node (see the module docstring)."""
    d = plan.dir
    out = [
        "#!/bin/sh\n",
        f"# pverunbook: restores checkpoint {plan.checkpoint_id} of step '{plan.step_id}' "
        f"(run {plan.run_id}) on {plan.node}\n",
        f"# unless the operator types COMMIT within {plan.seconds} s. Disarm by hand: "
        f"echo committed > {d}/state\n",
        f"D={_q(d)}\n", f"LOG={_q(plan.log)}\n",
        'if [ "$1" = sleep ]; then\n',
        '  echo $$ >"$D/pid"\n',
        f"  sleep {plan.seconds}\n",
        "fi\n",
        'st=$(cat "$D/state" 2>/dev/null)\n',
        'if [ "$st" != armed ]; then exit 0; fi\n',
        # One restore only: the timer and a "fire now" may both get here; mkdir is atomic, the
        # loser leaves. State again after the claim: COMMIT may have come in between.
        'mkdir "$D/claim" 2>/dev/null || exit 0\n',
        # who restores, and in which boot: the health check tells a restore still going from
        # one a reboot or a kill cut short (pids are reused after a reboot)
        'echo $$ >"$D/claim/pid"\n',
        'cat /proc/sys/kernel/random/boot_id >"$D/claim/boot" 2>/dev/null\n',
        'st=$(cat "$D/state" 2>/dev/null)\n',
        'if [ "$st" != armed ]; then exit 0; fi\n',
        'echo firing >"$D/state"\n',
        f'why="timer fired ({plan.seconds} s without COMMIT)"\n',
        'if [ "$1" = now ]; then\n',
        '  why="rolled back now by the operator"\n',
        # the waiting timer has nothing left to do: stop it (it would exit at the claim anyway)
        '  m=$(sed -n \'s/^method=//p\' "$D/armed" 2>/dev/null)\n',
        '  if [ "$m" = systemd ]; then\n',
        '    u=$(sed -n \'s/^unit=//p\' "$D/armed"); systemctl stop "$u.timer" 2>/dev/null\n',
        '  else\n',
        '    p=$(cat "$D/pid" 2>/dev/null)\n',
        '    if [ -n "$p" ]; then kill -TERM -- "-$p" 2>/dev/null || '
        'kill -TERM "$p" 2>/dev/null; fi\n',
        '  fi\n',
        'fi\n',
        "fail=0\nrestored=''\nreload_cs=0\n",
        _say(plan, f"$why: restoring checkpoint {plan.checkpoint_id} of step '{plan.step_id}'"),
    ]
    pve_files = [f for f in plan.files if f.startswith("/etc/pve/")]
    local_files = [f for f in plan.files if f not in pve_files]
    for path in local_files:
        src, tmp = _q(f"{d}/restore{path}"), _q(f"{path}.pverunbook-rollback")
        if path == LOCAL_COROSYNC and plan.corosync_version is not None:
            v = plan.corosync_version
            out.append(_version_of(path))
            # Another node's rollback may have got here first: it wrote /etc/pve/corosync.conf
            # with this same content and version, and pmxcfs copied it to this node's local
            # file (dcdb.c dcdb_sync_corosync_conf) before this script ran. That is restored,
            # not "changed again" — and this node's corosync must still reload it: the other
            # node's reload came while this file still held the change (seen on the lab: the
            # node kept running the old config_version).
            out.append(f'if [ -n "$cur" ] && [ "$cur" -ge {v} ] && timeout 10 cmp -s {src} '
                       f'{_q(path)}; then\n  ')
            out.append(_say(plan, f"{path} already holds the restored copy (config_version {v}, "
                                  "from another node's rollback through pmxcfs)"))
            out.append(f'  restored="$restored {path}"; reload_cs=1\n')
            out.append(f'elif [ -n "$cur" ] && [ "$cur" -ge {v} ]; then\n  ')
            out.append(_say(plan, f"FAILED: {path} has config_version $cur, not below the "
                                  f"rollback's {v}: changed again after the step; not restored"))
            out.append("  fail=1\n")
            out.append(f"elif cp -p {src} {tmp} && mv -f {tmp} {_q(path)}; then\n  ")
            out.append(_say(plan, f"restored {path} (config_version {v})"))
            out.append(f'  restored="$restored {path}"; reload_cs=1\nelse\n  ')
            out.append(_say(plan, f"FAILED to restore {path}"))
            out.append("  fail=1\nfi\n")
            continue
        out.append(f"if cp -p {src} {tmp} && mv -f {tmp} {_q(path)}; then\n  ")
        out.append(_say(plan, f"restored {path}"))
        out.append(f'  restored="$restored {path}"\nelse\n  ')
        out.append(_say(plan, f"FAILED to restore {path}"))
        out.append("  fail=1\nfi\n")
    if plan.corosync_version is not None and LOCAL_COROSYNC in local_files:
        out.append('if [ "$reload_cs" = 1 ]; then\n')
        out.append('  if out=$(timeout 30 corosync-cfgtool -R 2>&1); then\n    ')
        out.append(_say(plan, "corosync-cfgtool -R: $out"))
        # corosync ran when the timer was armed but cannot reload now: it is down (a restart
        # on the changed file failed) or runs values a reload cannot change (a node's address,
        # corosync totemconfig.c "Internal value was NOT changed"): restart it on the restored
        # file, the documented fallback (pvecm.adoc: restart only if not applied live).
        out.append('  elif grep -q "^corosync=running" "$D/armed" && '
                   'out2=$(timeout 90 systemctl restart corosync 2>&1); then\n    ')
        out.append(_say(plan, "corosync-cfgtool -R failed ($out): restarted corosync on the "
                              "restored file"))
        out.append("  else\n    ")
        out.append(_say(plan, "FAILED: corosync-cfgtool -R: $out"))
        out.append("    fail=1\n  fi\nfi\n")
    for path in pve_files:
        src, tmp = _q(f"{d}/restore{path}"), _q(f"{path}.pverunbook-rollback")
        out.append("n=0; ok=0\n")
        out.append(f"while [ $n -lt {plan.pve_wait} ]; do\n")
        if path == PVE_COROSYNC and plan.corosync_version is not None:
            v = plan.corosync_version
            out.append("  " + _version_of(path))
            out.append(f'  if [ -n "$cur" ] && [ "$cur" -ge {v} ]; then\n')
            out.append(f"    if timeout 10 cmp -s {src} {_q(path)}; then ok=1; "
                       "else ok=2; fi\n    break\n  fi\n")
        out.append(f"  if timeout 10 cp {src} {tmp} 2>/dev/null && "
                   f"timeout 10 mv -f {tmp} {_q(path)} 2>/dev/null; then ok=1; break; fi\n")
        # said once, so whoever waits for the restore knows what it waits for
        out.append('  if [ $n = 0 ]; then\n    ')
        out.append(_say(plan, f"{path} is not writable yet (pmxcfs accepts writes only with "
                              f"quorum): retrying every 5 s for up to {plan.pve_wait} s"))
        out.append("  fi\n")
        out.append("  sleep 5; n=$((n + 5))\ndone\n")
        out.append('if [ "$ok" = 1 ]; then\n  ')
        out.append(_say(plan, f"restored {path}"))
        out.append(f'  restored="$restored {path}"\nelif [ "$ok" = 2 ]; then\n  ')
        out.append(_say(plan, f"FAILED: {path} has config_version $cur, not below the "
                              f"rollback's {plan.corosync_version}, and other content: "
                              "changed again after the step; not restored"))
        out.append("  fail=1\nelse\n  ")
        out.append(_say(plan, f"FAILED: {path} not writable within {plan.pve_wait} s (no "
                              "quorum or hung pmxcfs?); restore it by hand from "
                              f"{d}/restore{path}"))
        out.append("  fail=1\nfi\n")
    for cmd in plan.reload:
        out.append(f"if out=$( {cmd} 2>&1 ); then\n  ")
        out.append(_say(plan, f"ran: {_dq(cmd)}"))
        out.append("else\n  ")
        out.append(_say(plan, f"FAILED: {_dq(cmd)}: $out"))
        out.append("  fail=1\nfi\n")
    out.append('if [ "$fail" = 0 ]; then\n  echo done >"$D/state"\n  ')
    out.append(_say(plan, "rollback finished: restored$restored"))
    out.append('else\n  echo failed >"$D/state"\n  ')
    out.append(_say(plan, f"ROLLBACK FAILED on {plan.node}: restored$restored; the rest "
                          f"needs a hand: {d}/log, copies in {d}/restore"))
    out.append("fi\n")
    return "".join(out)


def _dq(s: str) -> str:
    """``s`` safe inside a double-quoted sh string."""
    return re.sub(r'(["\\$`])', r"\\\1", s)


def arm_command(plan: Plan) -> str:
    """Start the timer detached from this SSH session; prints ``armed <method> <deadline>``."""
    d = _q(plan.dir)
    unit = f"pverunbook-rollback-{plan.tag}"
    n = plan.seconds
    return (
        f"D={d}; echo armed >\"$D/state\"; now=$(date +%s); dl=$((now + {n})); "
        "cs=stopped; pidof corosync >/dev/null 2>&1 && cs=running; "
        "b=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null); "
        "if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then "
        f"systemd-run --quiet --unit={_q(unit)} --on-active={n} "
        "--timer-property=AccuracySec=1s /bin/sh \"$D/rollback.sh\" fire "
        f"&& printf 'method=systemd\\nunit={unit}\\ndeadline=%s\\ncorosync=%s\\nboot=%s\\n' "
        "\"$dl\" \"$cs\" \"$b\" "
        ">\"$D/armed\" "
        "&& echo \"armed systemd $dl\"; "
        "else "
        "rm -f \"$D/pid\"; "
        "setsid -f nohup /bin/sh \"$D/rollback.sh\" sleep </dev/null >/dev/null 2>&1; "
        "i=0; while [ ! -s \"$D/pid\" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done; "
        "[ -s \"$D/pid\" ] && "
        "printf 'method=setsid\\npid=%s\\ndeadline=%s\\ncorosync=%s\\nboot=%s\\n' "
        "\"$(cat \"$D/pid\")\" \"$dl\" \"$cs\" \"$b\" >\"$D/armed\" && echo \"armed setsid $dl\"; "
        "fi"
    )


def disarm_command(tag: str, root: str = ROOT, log: str = LOG) -> str:
    """Stop the timer and prove it is gone; prints ``disarmed`` or why not (exit 3).

    ``committed`` goes into ``state`` first, so even a timer that survives does nothing."""
    d = _q(node_dir(tag, root))
    return (
        f"D={d}; st=$(cat \"$D/state\" 2>/dev/null); "
        "if [ \"$st\" != armed ]; then echo \"state $st\"; exit 3; fi; "
        "echo committed >\"$D/state\"; "
        "m=$(sed -n 's/^method=//p' \"$D/armed\"); "
        "if [ \"$m\" = systemd ]; then "
        "u=$(sed -n 's/^unit=//p' \"$D/armed\"); systemctl stop \"$u.timer\" 2>/dev/null; "
        "if systemctl is-active --quiet \"$u.timer\"; then echo \"still active: $u.timer\"; "
        "exit 3; fi; "
        "else "
        "p=$(cat \"$D/pid\" 2>/dev/null); "
        "if [ -n \"$p\" ]; then kill -TERM -- \"-$p\" 2>/dev/null || kill -TERM \"$p\" "
        "2>/dev/null; i=0; while kill -0 \"$p\" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; "
        "i=$((i + 1)); done; if kill -0 \"$p\" 2>/dev/null; then echo \"still running: pid $p\"; "
        "exit 3; fi; fi; "
        "fi; "
        f"L=\"$(date -u +%Y-%m-%dT%H:%M:%SZ) $(hostname) pverunbook-rollback {tag}: committed: "
        "timer stopped, nothing restored\"; echo \"$L\" >>" + _q(log)
        + "; echo \"$L\" >>\"$D/log\"; "
        "echo disarmed"
    )


def fire_now_command(tag: str, root: str = ROOT) -> str:
    """Make an armed timer fire now ("Roll back now"); prints ``firing`` or ``state <s>``.

    Starts ``rollback.sh now`` detached, as the timer was (a transient ``systemd-run`` unit
    where the timer is a systemd one, else ``setsid``): the restore goes on if the SSH
    session drops. The script's claim (``mkdir claim``) makes the timer firing at the same
    moment, or a second "fire now", leave without restoring twice; a timer no longer
    ``armed`` (committed, already firing or done) is left alone."""
    d = _q(node_dir(tag, root))
    return (
        f"D={d}; st=$(cat \"$D/state\" 2>/dev/null); "
        "if [ \"$st\" != armed ]; then echo \"state $st\"; exit 0; fi; "
        "m=$(sed -n 's/^method=//p' \"$D/armed\" 2>/dev/null); "
        "u=$(sed -n 's/^unit=//p' \"$D/armed\" 2>/dev/null); "
        "if [ \"$m\" = systemd ] && systemd-run --quiet --unit=\"$u-now\" "
        "/bin/sh \"$D/rollback.sh\" now; then :; else "
        "setsid -f nohup /bin/sh \"$D/rollback.sh\" now </dev/null >/dev/null 2>&1; fi; "
        "echo firing"
    )


def timer_alive_sh(d: str) -> str:
    """The sh that sets ``a`` to ``alive`` or ``gone``: whether a process of the timer in
    directory ``d`` (a shell word such as ``$D``; a trailing ``/`` is fine) still runs.

    Needs ``st`` (the timer's state) and ``b`` (this boot's id, may be empty) set before.
    Per state: armed, the sleeping pid (``pid=`` of ``armed``) or the systemd timer; else
    the pid that claimed the restore (``claim/pid``) or its systemd service. A pid counts only
    while it still runs this timer's rollback.sh (``/proc/PID/cmdline``): after a reboot or a
    kill, the pid may be another process's. A boot id recorded by the arm or the claim that is
    not this boot's makes it gone. The health check (runbooks/cluster-health-check.toml) runs
    the same text (a unit test holds them together)."""
    return (
        f"m=$(sed -n 's/^method=//p' \"{d}/armed\" 2>/dev/null); "
        f"u=$(sed -n 's/^unit=//p' \"{d}/armed\" 2>/dev/null); a=gone; "
        "if test \"$st\" = armed; then "
        f"p=$(sed -n 's/^pid=//p' \"{d}/armed\" 2>/dev/null); "
        f"ab=$(sed -n 's/^boot=//p' \"{d}/armed\" 2>/dev/null); "
        f"else p=$(cat \"{d}/claim/pid\" 2>/dev/null); ab=$(cat \"{d}/claim/boot\" 2>/dev/null); "
        f"test -z \"$p\" && test \"$m\" != systemd && p=$(cat \"{d}/pid\" 2>/dev/null); fi; "
        "if test -n \"$p\"; then kill -0 \"$p\" 2>/dev/null && "
        f"grep -aqF \"${{{d[1:]}%/}}/rollback.sh\" \"/proc/$p/cmdline\" 2>/dev/null && a=alive; "
        "elif test \"$m\" = systemd && test \"$st\" = armed; then "
        "systemctl is-active -q \"$u.timer\" && a=alive; "
        "elif test \"$m\" = systemd; then systemctl is-active -q \"$u.service\" && a=alive; "
        "systemctl is-active -q \"$u-now.service\" && a=alive; fi; "
        "test -n \"$ab\" && test -n \"$b\" && test \"$ab\" != \"$b\" && a=gone;"
    )


def status_command(tags: list[str], root: str = ROOT) -> str:
    """One line per tag: ``<tag> <state> <deadline> <now> <alive 0|1>``.

    ``alive`` by :func:`timer_alive_sh`, as the health check decides it: a pid that now belongs
    to another process (after a reboot, a killed timer) is not a timer still waiting."""
    parts = ["b=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"]
    for tag in tags:
        d = _q(node_dir(tag, root))
        parts.append(
            f"D={d}; st=$(cat \"$D/state\" 2>/dev/null || echo missing); "
            "dl=$(sed -n 's/^deadline=//p' \"$D/armed\" 2>/dev/null); "
            + timer_alive_sh("$D") + " "
            "if test \"$a\" = alive; then a=1; else a=0; fi; "
            f"echo \"{tag} $st ${{dl:-0}} $(date +%s) $a\"")
    return "; ".join(parts)
