"""A manual command says what it is: a look-up ("look on NODE:") or a change ("fix on NODE:").

Newcomer trial 14 on three-node-wiped: the check listed "fix on ryanrishi: hostname; timeout 5 ls
/etc/pve/nodes", a command that changes nothing, under the word "fix". Each rule now says which
it makes, and every view (TUI summary, headless, report, check --json) shows it.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from types import SimpleNamespace

from pverunbook.pve.diagnosis import ManualFix, diagnose, health, node_dir, rollbacks
from pverunbook.pve.diagnosis.model import Fault
from pverunbook.pve.facts import Fact, Observation, extract

NODES = ["ryanrishi", "pve001", "pve002"]
DIAGNOSIS = Path(health.__file__).parent

#: Words that change a node: a restart, a move or copy, a write, a deleted route, arming HA.
CHANGES = re.compile(r"systemctl (re)?start|\bmv\b|\bcp\b|sed -i|\brm\b|mkdir|route del|"
                     r"arm-ha|makestep|cat > |\bprintf\b")


def enoent_facts() -> list[Fact]:
    """/etc/pve/nodes missing on every node of a quorate cluster (a wiped database)."""
    out = [Fact("quorum.quorate", True, n, None, "Quorate: Yes", "quorum") for n in NODES]
    for n in NODES:
        obs = Observation(n, "", 2, stderr="ls: cannot access '/etc/pve/nodes': No such file "
                                           "or directory\n")
        out += [Fact(f.name, f.value, f.node, f.peer, f.evidence, "pve-read")
                for f in extract("pve-read", obs)]
    return out


def test_the_node_dir_look_up_is_a_look_not_a_fix() -> None:
    (gone,) = [f for f in diagnose(enoent_facts(), nodes=NODES).faults
               if f.rule == "pmxcfs-node-dir-missing"]
    assert [(m.node, m.kind, m.label) for m in gone.manual] == [
        (n, "look", "look on") for n in NODES]
    assert gone.manual[0].command == "hostname; timeout 5 ls /etc/pve/nodes"
    # check --json: a field added, node and command as before
    assert gone.to_json()["manual"][0] == {  # type: ignore[index]
        "node": "ryanrishi", "command": "hostname; timeout 5 ls /etc/pve/nodes",
        "kind": "look"}


def _commands(call: ast.Call, module: object) -> list[str]:
    """The command a ``ManualFix(...)`` call builds, as far as the source says: its literal
    text, the module constant it names, or what the helper it calls returns for a sample."""
    arg = call.args[1]
    if isinstance(arg, ast.Name):
        return [getattr(module, arg.id)]
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name):
        sample = {"move_commands": lambda: node_dir.move_commands("old", "new", [100], [200]),
                  "diff_command": lambda: rollbacks.diff_command("tag")}
        return [sample[arg.func.id]()]
    return [c.value for c in ast.walk(arg) if isinstance(c, ast.Constant)
            and isinstance(c.value, str)] + [
        str(getattr(module, n.id, "")) for n in ast.walk(arg) if isinstance(n, ast.Name)]


def test_every_rule_says_whether_its_command_looks_or_changes() -> None:
    """Audit of every ManualFix a rule makes: "look" only where the command changes nothing
    (ls, cat, grep, journalctl, ip route, systemctl status …), "fix" where it does."""
    import importlib

    seen = 0
    for path in sorted(DIAGNOSIS.glob("*.py")):
        module = importlib.import_module(f"pverunbook.pve.diagnosis.{path.stem}")
        for call in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id == "ManualFix"):
                continue
            seen += 1
            kind = call.args[2]
            assert isinstance(kind, ast.Constant), f"{path.name}:{call.lineno}"
            text = " ".join(_commands(call, module))
            changes = bool(CHANGES.search(text))
            assert kind.value == ("fix" if changes else "look"), \
                f"{path.name}:{call.lineno}: {kind.value!r} for {text!r}"
    assert seen >= 30  # every rule's command was read


#: A file-writing fix as a here-document: its lines are typed as shown, from column 1.
HEREDOC = "test ! -s /tmp/x.cfg &&\ncat > /tmp/x.cfg <<'EOF'\ndir: local\n\tpath /var/lib/vz\n\nEOF"


def _fault() -> Fault:
    return Fault("r", "storage.cfg is missing", "critical", "high", "Put it back.",
                 manual=(ManualFix("pve001", "hostname; timeout 5 ls /etc/pve/nodes", "look"),
                         ManualFix("pve001", HEREDOC, "fix")),
                 nodes=("pve001",))


def test_headless_says_look_or_fix_and_keeps_the_here_document_whole() -> None:
    from pverunbook.headless import format_diagnosis

    lines = format_diagnosis(SimpleNamespace(faults=[_fault()], matrix=[], healthy=[]),
                             "rehearsal")
    assert "      look: on pve001: hostname; timeout 5 ls /etc/pve/nodes" in lines
    i = lines.index("      fix:  on pve001:")
    body = HEREDOC.split("\n")
    assert lines[i + 1:i + 1 + len(body)] == body  # from column 1, as typed


def test_tui_summary_says_look_or_fix_and_keeps_the_here_document_whole() -> None:
    from pverunbook.ui.screens.summary import render_fault

    text = render_fault(1, _fault()).plain
    assert "   look on pve001: hostname; timeout 5 ls /etc/pve/nodes\n" in text
    assert "   fix on pve001: \n" + HEREDOC + "\n" in text
    assert "fix on pve001: hostname" not in text


def test_report_says_look_or_fix_and_keeps_the_here_document_whole() -> None:
    from pverunbook import report

    out: list[str] = []
    diag = SimpleNamespace(faults=(_fault(),), matrix=(), healthy=())
    report._diagnosis([], diag, out)  # type: ignore[arg-type]
    text = "\n".join(out)
    assert "- Look on **pve001**: ` hostname; timeout 5 ls /etc/pve/nodes `" in text
    assert "- Fix on **pve001**:\n\n```sh\n" + HEREDOC + "\n```\n" in text


def test_check_json_documents_the_kind() -> None:
    from pverunbook import check_json

    assert '"kind": "look" | "fix"' in (check_json.__doc__ or "")
    assert json.loads(json.dumps(_fault().to_json()))["manual"][1]["kind"] == "fix"
