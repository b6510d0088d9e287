"""commit_within / commit_checks / [steps.rollback]: what the loader accepts and refuses, the
lint warning for a window shorter than the checks, and the script's corosync.conf version."""

from __future__ import annotations

import pytest

from pverunbook.engine import rollback_script as rs
from pverunbook.runbook.lint import lint
from pverunbook.runbook.loader import RunbookError, load_text

BASE = '''
id = "rb"
title = "rb"
[[steps]]
id = "change"
title = "change"
targets = "all"
destructive = true
confirm = "cluster"
commands = ["echo new > /etc/x.conf"]
{change}
[steps.backup]
files = {files}
{rollback}
[[steps.guards]]
check = "inventory-complete"
message = "the inventory is not the cluster's nodelist"
[[steps]]
id = "check"
title = "check"
kind = "{kind}"
commands = ["grep -x new /etc/x.conf"]
timeout = {timeout}
'''


def book(change: str = 'commit_within = 120\ncommit_checks = ["check"]',
         files: str = '["/etc/x.conf"]', rollback: str = "", kind: str = "check",
         timeout: int = 10) -> str:
    return BASE.format(change=change, files=files, rollback=rollback, kind=kind,
                       timeout=timeout)


def errors(text: str) -> str:
    with pytest.raises(RunbookError) as exc:
        load_text(text, "rb.toml")
    return str(exc.value)


def test_a_committed_step_loads() -> None:
    rb = load_text(book(rollback='[steps.rollback]\ntargets = "all"\nreload = ["true"]'))
    step = rb.step("change")
    assert step.commit_within == 120 and step.commit_checks == ("check",)
    assert step.rollback.targets == ("all",) and step.rollback.reload == ("true",)
    assert not lint(rb)


def test_refusals_say_what_and_where() -> None:
    assert "no commit_checks" in errors(book(change="commit_within = 120"))
    assert "between 1 and 3600" in errors(book(change='commit_within = 0\ncommit_checks = '
                                                      '["check"]'))
    assert "names unknown step 'nope'" in errors(book(
        change='commit_within = 120\ncommit_checks = ["nope"]'))
    assert "only read-only check steps" in errors(book(kind="run"))
    assert "nothing to roll back" in errors(book(files="[]").replace(
        "[steps.backup]\nfiles = []", 'no_backup_reason = "x"'))
    assert "belongs to a step with commit_within" in errors(book(change='commit_checks = '
                                                                        '["check"]'))
    assert "rb.toml:" in errors(book(change="commit_within = 120"))


def test_reload_alone_is_a_rollback() -> None:
    text = book(files="[]", rollback='[steps.rollback]\nreload = ["ip route replace 10.0.0.2 '
                                     'via 10.0.0.1"]').replace(
        "[steps.backup]\nfiles = []\n", 'no_backup_reason = "runtime only"\n')
    assert load_text(text).step("change").rollback.reload


def test_lint_warns_when_the_checks_may_outlast_the_timer() -> None:
    issues = lint(load_text(book(timeout=200)))
    assert [i.code for i in issues] == ["PVR014"] and issues[0].severity == "warning"


def test_corosync_conf_comes_back_with_the_chosen_version() -> None:
    conf = "totem {\n  cluster_name: nyc\n  config_version: 5\n  token: 3000\n}\n"
    assert rs.config_version(conf) == 5
    back = rs.with_version(conf, 7)
    assert rs.config_version(back) == 7 and "token: 3000" in back
    script = rs.script(rs.Plan(node="n1", tag="cp-n1", seconds=9, step_id="apply",
                               run_id="r", checkpoint_id="cp", corosync_version=7,
                               files=[rs.LOCAL_COROSYNC, rs.PVE_COROSYNC]))
    # the local copy and the reload come before the /etc/pve write, which may wait for quorum
    assert script.index("corosync-cfgtool -R") < script.index("/etc/pve/corosync.conf.pverun")
    assert '[ "$cur" -ge 7 ]' in script and "sleep 9" in script


def test_plan_shows_the_timer_where_and_what(capsys: pytest.CaptureFixture[str]) -> None:
    from pverunbook.cli import main
    from pverunbook.runbook.catalog import builtin_dir

    assert main(["plan", str(builtin_dir() / "corosync-tuning.toml")]) == 0
    out = capsys.readouterr().out
    assert "rollback timer: 420s on ryanrishi, pve001 (checkpoint taken there too)" in out
    assert "restores /etc/pve/corosync.conf, /etc/corosync/corosync.conf by itself" in out
    assert main(["plan", str(builtin_dir() / "route-fix.toml"), "--set",
                 "route_node=ryanrishi"]) == 0
    out = capsys.readouterr().out
    assert "rollback timer: 120s on ryanrishi" in out and "runs ip route replace " in out
    assert "{{" not in out.split("rollback timer", 1)[1].splitlines()[0]


def test_recorded_lines_go_into_reload_only_with_record() -> None:
    """``record`` keeps lines at arming; ``{{recorded}}`` in a reload command stands for one
    of them (route-fix puts back the route's own line, attributes and all)."""
    from pverunbook.engine.rollback_probe import reload_commands

    ok = load_text(book(rollback='[steps.rollback]\nrecord = "ip route show exact 10.0.0.5"\n'
                                 'reload = ["ip route replace {{recorded}}", "true"]'))
    step = ok.step("change")
    assert step.rollback.record == "ip route show exact 10.0.0.5"
    assert reload_commands(step.rollback.reload, {}, [
        "10.0.0.5 via 10.0.0.1 dev vmbr0 proto static metric 100", "10.0.0.5 via 10.0.0.1 x;y"]
    ) == ["ip route replace 10.0.0.5 via 10.0.0.1 dev vmbr0 proto static metric 100",
          "ip route replace 10.0.0.5 via 10.0.0.1 'x;y'", "true"]
    assert "add record" in errors(book(rollback='[steps.rollback]\n'
                                                'reload = ["ip route replace {{recorded}}"]'))
    assert "no reload command uses" in errors(book(rollback='[steps.rollback]\nrecord = "ip r"\n'
                                                            'reload = ["true"]'))
    assert "reload commands only" in errors(book(rollback='[steps.rollback]\nrecord = "ip r"\n'
                                                          'requires = "{{recorded}}"\n'
                                                          'reload = ["x {{recorded}}"]'))
    assert "unknown placeholder '{{recorded}}'" in errors(book().replace(
        'commands = ["echo new > /etc/x.conf"]', 'commands = ["echo {{recorded}}"]'))
