"""Each lint rule fires on the outage's mistakes and is silenced only by a reviewed exception:
destructive + [steps.backup] + explain + lint_ok."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pverunbook.runbook.lint import RULES, LintIssue, lint
from pverunbook.runbook.loader import load_text
from pverunbook.runbook.model import Runbook


def _toml_str(s: str) -> str:
    return "'''" + s + "'''" if "'" not in s else '"' + s.replace("\\", "\\\\").replace(
        '"', '\\"') + '"'


def make(commands: list[str] | None = None, *, targets: str = "all", destructive: bool = False,
         backup: bool = False, explain: str = "", lint_ok: list[str] | None = None,
         action: str | None = None, args: str = "", before: str = "",
         top_explain: str = "", extra: str = "") -> Runbook:
    """A one-step runbook (plus optional steps ``before``) with the given properties."""
    lines = ['id = "t"', 'title = "t"']
    if top_explain:
        lines.append(f"explain = {_toml_str(top_explain)}")
    text = "\n".join(lines) + "\n" + before
    step = ["[[steps]]", 'id = "s"', 'title = "s"', f'targets = "{targets}"']
    if action:
        step += ['kind = "action"', f'action = "{action}"']
    else:
        step += ['kind = "run"', "commands = [" + ", ".join(_toml_str(c)
                                                          for c in commands or []) + "]"]
    if destructive:
        step.append("destructive = true")
        if not backup:
            step.append('no_backup_reason = "none possible"')
    if explain:
        step.append(f"explain = {_toml_str(explain)}")
    if lint_ok is not None:
        step.append("lint_ok = [" + ", ".join(f'"{c}"' for c in lint_ok) + "]")
    step.append(extra)
    if backup:
        step += ["[steps.backup]", 'sqlite = ["/var/lib/pve-cluster/config.db"]']
    if args:
        step.append(textwrap.dedent(args))
    return load_text(text + "\n".join(step) + "\n", "t.toml")


def codes(issues: list[LintIssue]) -> set[str]:
    return {i.code for i in issues}


#: code -> bad commands taken from (or modelled on) story.md
BAD: dict[str, list[str]] = {
    "PVR001": ["rm -rf /var/lib/pve-cluster/config.db*",
               "cd /var/lib/pve-cluster && rm config.db config.db-wal",
               "rm -rf /var/lib/pve-cluster/",
               "sh -c 'systemctl stop pve-cluster; rm -f /var/lib/pve-cluster/config.db'"],
    "PVR002": ["pkill -9 pmxcfs", "killall -9 pmxcfs", "kill -9 $(pidof pmxcfs)",
               "kill -s KILL $(pgrep pmxcfs)", "timeout 5 pkill -KILL -f pmxcfs"],
    "PVR003": ["umount -l /etc/pve", "umount -lf /etc/pve/", "fusermount -uz /etc/pve"],
    "PVR004": ["echo 'transport: udpu' >> /root/corosync.conf.draft",
               "grep -q x /tmp/y || echo transport: udp"],
    "PVR005": ["systemctl start pve-cluster pve-cluster",
               "systemctl status corosync.service corosync"],
    "PVR006": ["pvecm expected 1", "corosync-quorumtool -e 1"],
    "PVR007": ["sed -i 's/token: 3000/token: 5000/' /etc/corosync/corosync.conf",
               "cp /root/new.conf /etc/corosync/corosync.conf"],
    "PVR008": ["echo '  token_retransmit: 1000' >> /root/totem.txt"],
    "PVR009": ["systemctl restart corosync pve-cluster pvedaemon pveproxy",
               "systemctl stop pve-cluster", "qm destroy 108", "mv /etc/pve/x /root/x",
               "echo x > /etc/pve/datacenter.cfg", "pmxcfs -l", "reboot",
               "cat > /etc/pve/qemu-server/108.conf"],
    "PVR010": ["sed -i 's/token: 3000/token: 5000/' /etc/pve/corosync.conf",
               "echo x | tee /etc/pve/corosync.conf"],
    "PVR011": ["cat /etc/pve/corosync.conf", "ls -la /etc/pve/",
               "timeout 5 ls -1 /etc/pve/nodes/*/qemu-server/",
               "x=$(timeout 5 ls /etc/pve/nodes/*/qemu-server/$id.conf 2>/dev/null)"],
    "PVR016": ["systemctl restart corosync pve-cluster pvedaemon pveproxy",
               "systemctl stop pve-cluster.service"],
}

SILENCEABLE = [c for c in BAD if c not in ("PVR009", "PVR011")]


def test_rule_table_is_stable() -> None:
    assert list(RULES) == [f"PVR{n:03d}" for n in range(1, 20)]
    assert len({r.slug for r in RULES.values()}) == len(RULES)
    assert all(r.slug.replace("-", "").isalnum() for r in RULES.values())


@pytest.mark.parametrize(("code", "command"),
                         [(c, cmd) for c, cmds in BAD.items() for cmd in cmds])
def test_rule_fires_on_bad_example(code: str, command: str) -> None:
    issues = lint(make([command]))
    assert code in codes(issues), f"{code} did not fire on {command!r}: {issues}"
    issue = next(i for i in issues if i.code == code)
    assert issue.pos.file == "t.toml" and issue.pos.line > 1
    assert "Instead" in issue.message, "every message names the correct alternative"
    assert issue.slug == RULES[code].slug and issue.step_id == "s"


@pytest.mark.parametrize("code", SILENCEABLE)
def test_rule_silenced_only_by_reviewed_exception(code: str) -> None:
    command = BAD[code][0]
    ok = make([command], targets="first" if code != "PVR006" else "all", destructive=True,
              backup=True, explain="Reviewed: why this exception is safe.", lint_ok=[code])
    assert code not in codes(lint(ok))
    # Any one ingredient missing and the error stays.
    missing = [
        make([command], destructive=True, backup=True, explain="x"),                # no lint_ok
        make([command], destructive=True, backup=True, lint_ok=[code]),             # no explain
        make([command], destructive=True, explain="x", lint_ok=[code]),             # no backup
        make([command], backup=True, explain="x", lint_ok=[code]),                  # not destr.
    ]
    for rb in missing:
        assert code in codes(lint(rb)), f"{code} silenced without the full exception"


def test_undeclared_destructive_is_fixed_by_marking_destructive() -> None:
    for command in BAD["PVR009"]:
        assert "PVR009" not in codes(lint(make([command], destructive=True, backup=True,
                                              explain="x")))
        assert "PVR009" in codes(lint(make([command], lint_ok=["PVR009"])))


def test_no_timeout_is_a_warning_silenced_by_timeout_or_lint_ok() -> None:
    issue = next(i for i in lint(make(["cat /etc/pve/corosync.conf"])) if i.code == "PVR011")
    assert issue.severity == "warning"
    assert lint(make(["timeout 5 cat /etc/pve/corosync.conf"])) == []
    assert lint(make(["timeout 5 test -e /etc/pve/x && echo yes"])) == []
    assert lint(make(["cat /etc/pve/corosync.conf"], lint_ok=["PVR011"])) == []


def test_pve_glob_is_bounded_only_inside_the_timed_shell() -> None:
    """The shell expands `/etc/pve/nodes/*` (a readdir through pmxcfs) before `timeout` runs:
    with a hung pmxcfs the glob hangs, the timeout never starts. Quoted, inside
    `timeout 5 sh -c '...'`, the bounded shell expands it."""
    glob = lint(make(["timeout 5 ls -la /etc/pve/nodes/*/qemu-server/"]))
    assert [i.code for i in glob] == ["PVR011"]
    assert lint(make(["timeout 5 sh -c 'ls -la /etc/pve/nodes/*/qemu-server/'"])) == []
    assert lint(make(['h=$(timeout 5 sh -c "ls /etc/pve/nodes/*/qemu-server/$id.conf")'])) == []
    other_glob = "for f in /var/run/qemu-server/*.pid; do timeout 5 test -e /etc/pve/x; done"
    assert lint(make([other_glob])) == []


PROVEN = ('when = "not any(quorum.quorate) and corosync.running[first] and '
          'quorum.member_count[first] == 1 and count(corosync.running) == 1"')


def test_expected_one_on_one_node_needs_proof_that_the_rest_is_down() -> None:
    for target in ("first", "pve001", "{{node_param}}"):
        before = ""
        if "node_param" in target:
            before = '[[params]]\nname = "node_param"\ntype = "str"\n'
        for command in ("pvecm expected 1", "corosync-quorumtool -e 1"):
            proven = make([command], targets=target, destructive=True,
                          explain="One node only.", before=before, extra=PROVEN)
            assert "PVR006" not in codes(lint(proven)), target
            assert "PVR015" not in codes(lint(proven)), target
            # One node, but nothing shows the others are down: a cut-off node is alone too.
            for when in ("", 'when = "not quorum.steady[first]"',
                         'when = "not any(quorum.quorate)"',
                         'when = "count(corosync.running) == 1"'):
                bare = make([command], targets=target, destructive=True,
                            explain="One node only.", before=before, extra=when)
                issue = next(i for i in lint(bare) if i.code == "PVR015")
                assert issue.severity == "error" and "Instead" in issue.message, (target, when)
                assert "count(corosync.running) == 1" in issue.message


def test_local_corosync_edit_allowed_after_pve_cluster_is_stopped() -> None:
    before = textwrap.dedent("""\
        [[steps]]
        id = "stop"
        title = "stop"
        commands = ["systemctl stop pve-cluster corosync"]
        destructive = true
        explain = "stop first"
        [steps.backup]
        files = ["/etc/corosync/corosync.conf"]
        """)
    command = "cp /root/new.conf /etc/corosync/corosync.conf"
    assert "PVR007" not in codes(lint(make([command], before=before, destructive=True,
                                           backup=True, explain="x")))
    restarted = before + textwrap.dedent("""\
        [[steps]]
        id = "start"
        title = "start"
        commands = ["systemctl start corosync pve-cluster"]
        """)
    assert "PVR007" in codes(lint(make([command], before=restarted, destructive=True,
                                       backup=True, explain="x")))


def test_action_args_are_linted() -> None:
    retransmit = make(action="corosync-edit", args="""
        [steps.args.set]
        token = "5000"
        token_retransmit = "1000"
        """)
    assert "PVR008" in codes(lint(retransmit))
    udpu = make(action="corosync-edit", args="""
        [steps.args.set]
        transport = "udpu"
        """)
    assert "PVR004" in codes(lint(udpu))
    local = make(action="corosync-edit", args="""
        [steps.args]
        source = "/etc/corosync/corosync.conf"
        dest = "/etc/corosync/corosync.conf"
        """)
    assert "PVR007" in codes(lint(local))
    in_place = make(action="corosync-edit", args="""
        [steps.args]
        dest = "/etc/pve/corosync.conf"
        """)
    assert {"PVR010", "PVR009"} <= codes(lint(in_place))
    fine = make(action="corosync-edit", args="""
        [steps.args]
        unset = ["token_retransmit"]
        [steps.args.set]
        token = "5000"
        """)
    assert lint(fine) == []
    restore = make(action="pmxcfs-restore", args="""
        [steps.args]
        source = "/var/lib/pve-cluster/backup/config-1.sql.gz"
        """)
    assert "PVR009" in codes(lint(restore))
    listing = make(action="pmxcfs-restore", args="""
        [steps.args]
        source = "/var/lib/pve-cluster/backup/config-1.sql.gz"
        list_only = true
        """)
    assert lint(listing) == []


def test_udpu_in_prose_only_when_recommended() -> None:
    recommending = make(["true"], top_explain="Consider UDP unicast: `transport: udpu` to "
                                              "bypass multicast issues.")
    assert "PVR004" in codes(lint(recommending))
    warning = make(["true"], top_explain="Never switch to `transport: udpu` on corosync 3.")
    assert lint(warning) == []
    step_prose = make(["true"], explain="Implement UDP unicast with transport: udpu.")
    assert "PVR004" in codes(lint(step_prose))


def test_unknown_lint_ok_code() -> None:
    assert "PVR012" in codes(lint(make(["true"], lint_ok=["PVR999"])))


def test_backup_output_commands_are_linted() -> None:
    rb = make(["true"], destructive=True, explain="x", extra="", args="""
        [steps.backup]
        outputs = ["cat /etc/pve/corosync.conf", "pkill -9 pmxcfs"]
        """)
    assert {"PVR011", "PVR002"} <= codes(lint(rb))


def test_harmless_commands_are_clean() -> None:
    for command in ["timeout 15 pvecm status", "corosync-cfgtool -s", "ip route get 10.0.0.2",
                    "journalctl -u corosync --since -1h --no-pager",
                    "grep -c ' /etc/pve ' /proc/mounts || true",
                    "systemctl start corosync pve-cluster", "systemctl status pve-cluster",
                    "rm -f /tmp/pverunbook-probe",
                    "ls -t /var/lib/pve-cluster/backup/ | head -n 1",
                    "sqlite3 -readonly /var/lib/pve-cluster/config.db .dump | gzip > "
                    "/var/lib/pve-cluster/backup/config-1.sql.gz",
                    "grep token_retransmit /etc/corosync/corosync.conf"]:
        assert lint(make([command])) == [], command


def test_story_recovery_commands_all_rejected() -> None:
    """The outage's own recovery sequence, as one step, trips every relevant rule."""
    story = ["systemctl stop corosync pve-cluster", "rm -rf /var/lib/pve-cluster/config.db*",
             "systemctl start pve-cluster pve-cluster", "systemctl stop pve-cluster",
             "pkill -9 pmxcfs", "umount -l /etc/pve", "systemctl start pve-cluster"]
    found = codes(lint(make(story)))
    assert {"PVR001", "PVR002", "PVR003", "PVR005", "PVR009"} <= found


def test_issue_points_at_the_offending_line(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        id = "t"
        title = "t"

        [[steps]]
        id = "ok"
        title = "ok"
        commands = ["true"]

        [[steps]]
        id = "bad"
        title = "bad"
        commands = [
          "true",
          "pkill -9 pmxcfs",
        ]
        """)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    from pverunbook.runbook.loader import load_file

    issue = next(i for i in lint(load_file(path, lint=False)) if i.code == "PVR002")
    assert (issue.pos.line, issue.pos.col) == (14, 4)
    assert str(issue).startswith(f"{path}:14:4: PVR002 ")


def test_membership_restart_only_on_several_nodes() -> None:
    """The notes restarted corosync and pve-cluster on both nodes at once (a quorum gap, HA
    fencing); on ONE node (cluster-db-reset's pve-cluster stop) it is the documented way."""
    story = "systemctl restart corosync pve-cluster pvedaemon pveproxy"
    assert "PVR016" in codes(lint(make([story])))
    assert "PVR016" not in codes(lint(make([story], targets="first")))
    assert "PVR016" not in codes(lint(make(["systemctl start corosync pve-cluster"])))
    assert "PVR016" not in codes(lint(make(["systemctl restart pveproxy spiceproxy"])))



def test_a_guard_comparing_only_the_targets_is_refused_on_a_one_node_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # PVR017: a comparison among the step's own targets, on one node, compares it with itself.
    from pverunbook.runbook import lint as lint_mod
    from pverunbook.runbook.model import GuardKind

    guard = '\n[[steps.guards]]\ncheck = "same-config-version"\n'
    # the engine's design: same-config-version compares every inventory node, so it is fine
    # on "first" (corosync-tuning, qdevice-setup)
    assert "PVR017" not in codes(lint(make(["true"], targets="first", extra=guard)))
    monkeypatch.setitem(lint_mod.GUARD_COMPARES, GuardKind.SAME_CONFIG_VERSION, "targets")
    issues = lint(make(["true"], targets="first", extra=guard))
    assert "PVR017" in codes(issues), issues
    issue = next(i for i in issues if i.code == "PVR017")
    assert "Instead" in issue.message and 'check = "same-config-version"' in issue.message
    assert "PVR017" in codes(lint(make(["true"], targets="pve1", extra=guard)))
    assert "PVR017" not in codes(lint(make(["true"], targets="all", extra=guard)))


def test_shipped_runbooks_have_no_guard_that_compares_one_node_with_itself() -> None:
    from pverunbook.runbook.catalog import builtin_dir
    from pverunbook.runbook.loader import load_file
    from pverunbook.runbook.model import GUARD_COMPARES

    first_with_compare = []
    for path in sorted(builtin_dir().glob("*.toml")):
        rb = load_file(path)
        assert "PVR017" not in codes(lint(rb)), path.name
        first_with_compare += [(rb.id, s.id) for s in rb.steps if s.targets == ("first",)
                               and any(g.check in GUARD_COMPARES for g in s.guards)]
    # the steps the review named: their same-config-version guards compare the inventory
    assert {("corosync-tuning", "apply"), ("qdevice-setup", "setup")} <= set(first_with_compare)


def test_a_command_that_always_fails_hides_the_steps_expectations() -> None:
    # PVR018: the engine checks expectations only after every command exited with an accepted
    # status; cluster-db-reset's all-damaged step printed REFUSED and then ran `false`, so its
    # expectation's message (what to do) was never shown, only 'exit status 1'.
    expect = "\n[[steps.expect]]\nabsent = '^REFUSED: '\nmessage = \"do this instead\"\n"
    issues = lint(make(["echo 'REFUSED: no'", "false"], extra=expect))
    assert "PVR018" in codes(issues), issues
    issue = next(i for i in issues if i.code == "PVR018")
    assert issue.severity == "warning" and "Instead" in issue.message
    assert "PVR018" in codes(lint(make(["echo x", "exit 3"], extra=expect)))
    assert "PVR018" not in codes(lint(make(["echo 'REFUSED: no'"], extra=expect)))
    assert "PVR018" not in codes(lint(make(["echo x", "false"])))  # no expectation to hide
    assert "PVR018" not in codes(lint(make(["test -e /x || false"], extra=expect)))
    assert "PVR018" not in codes(lint(make(["exit 3"], extra="\nok_exit = [0, 3]\n" + expect)))


def test_shipped_runbooks_show_their_expectations() -> None:
    from pverunbook.runbook.catalog import builtin_dir
    from pverunbook.runbook.loader import load_file

    for path in sorted(builtin_dir().glob("*.toml")):
        assert "PVR018" not in codes(lint(load_file(path))), path.name


IC_GUARD = '\n[[steps.guards]]\ncheck = "inventory-complete"\n'


def test_a_step_acting_on_every_node_needs_an_inventory_complete_guard(tmp_path: Path) -> None:
    """PVR019: "all" is the inventory's nodes; a cluster node it lacks is left out of the
    change unseen unless the step's own inventory-complete guard blocks."""
    text = textwrap.dedent("""\
        id = "t"
        title = "t"

        [[steps]]
        id = "undo"
        title = "undo"
        targets = "all"
        destructive = true
        no_backup_reason = "none possible"
        commands = ["true"]
        """)
    path = tmp_path / "all.toml"
    path.write_text(text)
    from pverunbook.runbook.loader import load_file

    (issue,) = [i for i in lint(load_file(path, lint=False)) if i.code == "PVR019"]
    assert str(issue).startswith(f"{path}:7:1: PVR019 step 'undo': ")
    assert 'check = "inventory-complete"' in issue.message, issue.message
    assert "Instead" in issue.message and issue.severity == "warning"
    assert "PVR019" in codes(lint(make(["true"], destructive=True)))
    assert "PVR019" in codes(lint(make(["true"], extra='confirm = "cluster"')))  # confirmed
    assert "PVR019" not in codes(lint(make(["true"], destructive=True, extra=IC_GUARD)))
    # a warning guard lets the step run anyway: it is not the check
    assert "PVR019" in codes(lint(make(["true"], destructive=True,
                                       extra=IC_GUARD + "warn = true\n")))
    # one node, or a step that neither is destructive nor asks: not this rule
    assert "PVR019" not in codes(lint(make(["true"], targets="first", destructive=True)))
    assert "PVR019" not in codes(lint(make(["true"])))


def test_shipped_runbooks_check_the_inventory_where_they_act_on_every_node() -> None:
    from pverunbook.runbook.catalog import builtin_dir
    from pverunbook.runbook.loader import load_file

    for path in sorted(builtin_dir().glob("*.toml")):
        assert "PVR019" not in codes(lint(load_file(path))), path.name
