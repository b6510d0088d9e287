"""The command line as an operator uses it: exit codes, messages, plan, headless local run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, env_extra: dict[str, str] | None = None,
        cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "pverunbook", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_validate_shipped_runbooks_exit_0() -> None:
    files = sorted(str(p) for p in (REPO / "runbooks").glob("*.toml"))
    r = cli("validate", *files)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok (") == len(files)


def test_validate_without_files_checks_the_builtin_and_extra_runbooks(tmp_path: Path) -> None:
    """How an installed copy (the pex, the .deb) checks the runbooks it ships."""
    shipped = sorted((REPO / "runbooks").glob("*.toml"))
    r = cli("validate")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok (") == len(shipped)
    (tmp_path / "bad.toml").write_text('id = "x"\n')
    r = cli("--runbooks", str(tmp_path), "validate")
    assert r.returncode == 2
    assert r.stdout.count(": ok (") == len(shipped)
    assert str(tmp_path / "bad.toml") + ":" in r.stderr


def test_validate_unknown_key_exits_2_with_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\ntitle = "X"\n\n[[steps]]\nid = "a"\ntitle = "A"\n'
                   'commands = ["true"]\ntimeuot = 5\n')
    r = cli("validate", str(bad))
    assert r.returncode == 2
    assert f"{bad}:8:1: unknown key 'timeuot' in a step (did you mean 'timeout'?)" in r.stderr


def test_schema_is_printed_as_json() -> None:
    r = cli("schema")
    assert r.returncode == 0
    assert json.loads(r.stdout)["title"] == "pverunbook runbook"


def test_list_shows_builtin_runbooks() -> None:
    r = cli("list")
    assert r.returncode == 0
    assert "network-triage" in r.stdout and "corosync-tuning" in r.stdout


def test_plan_corosync_tuning_renders_both_nodes_and_marks_destructive() -> None:
    r = cli("plan", "runbooks/corosync-tuning.toml", "--cluster", "runbooks/clusters/nyc.toml",
            "--set", "token=7000")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "cluster nyc: ryanrishi, pve001" in out
    assert "   ryanrishi: " in out and "   pve001: " in out
    assert "<DESTRUCTIVE>" in out
    assert "confirmation: operator must type 'nyc'" in out
    assert "checkpoint ryanrishi: file   /etc/pve/corosync.conf" in out
    assert "set: token = 7000" in out  # the value reached the edit's arguments
    assert "transport: udpu" not in out


def test_plan_rejects_bad_parameter() -> None:
    r = cli("plan", "corosync-tuning", "--set", "token=fast")
    assert r.returncode == 2
    assert "'fast' is not a whole number" in r.stderr


def test_run_local_headless_journals_everything(tmp_path: Path) -> None:
    book = tmp_path / "local.toml"
    book.write_text('''
id = "local-demo"
title = "Local demo"

[[params]]
name = "word"
type = "str"
default = "hello"

[[steps]]
id = "say"
title = "Say"
commands = ["echo said {{word}}", "echo warned >&2"]

[[steps]]
id = "count"
title = "Count"
kind = "check"
commands = ["printf 'a\\nb\\n' | wc -l"]
[[steps.expect]]
match = "^2$"
''')
    journal = tmp_path / "run.jsonl"
    r = cli("run", str(book), "--local", "--headless", "--journal", str(journal),
            "--set", "word=x; touch " + str(tmp_path / "pwned"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "| said x; touch" in r.stdout  # one argument, printed back verbatim
    assert not (tmp_path / "pwned").exists()
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert events[-1]["status"] == "ok"
    finished = [e for e in events if e["kind"] == "command_finished"]
    assert [(e["command"].split()[0], e["exit_status"]) for e in finished] == \
        [("echo", 0), ("echo", 0), ("printf", 0)]
    text = "".join(e["text"] for e in events if e["kind"] == "output")
    assert "said x; touch" in text and "warned" in text and "2" in text
    shown = cli("journal", "show", str(journal))
    assert shown.returncode == 0 and "Say" in shown.stdout


def test_run_without_target_explains_what_to_do() -> None:
    r = cli("run", "network-triage", "--headless")
    assert r.returncode == 2
    assert "use --local, --cluster FILE" in r.stderr
