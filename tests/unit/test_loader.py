"""The loader: strict keys, types, references, with file:line:col in every error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pverunbook.runbook.loader import RunbookError, load_file, load_text
from pverunbook.runbook.model import FailureAction, StepKind

GOOD = textwrap.dedent('''
    id = "demo"
    title = "Demo"
    summary = "s"
    version = "1"
    tags = ["a"]
    explain = """
    Why this exists.
    """

    [[params]]
    name = "vmid"
    type = "int"
    default = 108
    min = 100

    [[steps]]
    id = "look"
    title = "Look"
    kind = "check"
    commands = ["echo {{vmid}}"]
    timeout = 5
    on_failure = "goto:fix"

    [[steps.expect]]
    match = "108"
    message = "should echo the id"

    [[steps]]
    id = "fix"
    title = "Fix"
    destructive = true
    commands = ["rm -f /tmp/x-{{vmid}}"]
    [steps.backup]
    files = ["/tmp/x"]
''')


def errors_of(text: str) -> list[str]:
    with pytest.raises(RunbookError) as info:
        load_text(text, "rb.toml")
    return [str(e) for e in info.value.errors]


def test_good_runbook_loads() -> None:
    rb = load_text(GOOD, "rb.toml")
    assert rb.id == "demo"
    assert [s.id for s in rb.steps] == ["look", "fix"]
    look = rb.step("look")
    assert look.kind is StepKind.CHECK
    assert look.timeout == 5
    assert look.on_failure.action is FailureAction.GOTO and look.on_failure.goto == "fix"
    assert look.expect[0].match == "108"
    assert rb.step("fix").destructive and rb.step("fix").backup.files == ("/tmp/x",)
    assert rb.step("fix").timeout == 30.0  # default: a hung /etc/pve must never hang a run


def test_unknown_key_names_file_line_and_key() -> None:
    text = GOOD.replace('timeout = 5\n', 'timeout = 5\ndestrutive = true\n')
    errs = errors_of(text)
    line = text.splitlines().index("destrutive = true") + 1
    assert errs == [f"rb.toml:{line}:1: unknown key 'destrutive' in a step "
                    "(did you mean 'destructive'?)"]


def test_wrong_type_reports_line_of_the_key() -> None:
    text = GOOD.replace("timeout = 5", 'timeout = "5"')
    errs = errors_of(text)
    line = text.splitlines().index('timeout = "5"') + 1
    assert errs == [f"rb.toml:{line}:1: 'timeout' must be an integer or a number, got a string"]


def test_dangling_goto_and_duplicate_ids() -> None:
    text = GOOD.replace('on_failure = "goto:fix"', 'on_failure = "goto:nowhere"')
    text = text.replace('id = "fix"', 'id = "look"')
    errs = errors_of(text)
    assert any("duplicate step id 'look' (first defined at line" in e for e in errs)
    assert any("on_failure goes to unknown step 'nowhere'" in e for e in errs)


def test_nested_table_positions() -> None:
    text = GOOD.replace('match = "108"', 'match = "108"\nbogus = 1')
    errs = errors_of(text)
    line = text.splitlines().index("bogus = 1") + 1
    assert errs == [f"rb.toml:{line}:1: unknown key 'bogus' in an expectation"]


def test_toml_syntax_error_has_position() -> None:
    errs = errors_of('id = "x"\ntitle = \n')
    assert errs[0].startswith("rb.toml:2:9: 'title' has no value after '='")


def test_unknown_placeholder_and_param_checks() -> None:
    text = GOOD.replace("echo {{vmid}}", "echo {{vmidd}}")
    assert any("unknown placeholder '{{vmidd}}'" in e for e in errors_of(text))
    text = GOOD.replace("default = 108", "default = 50")
    assert any("default of 'vmid' is invalid: 50 is below the minimum 100" in e
               for e in errors_of(text))


def test_destructive_without_backup_is_an_error() -> None:
    text = GOOD.replace('[steps.backup]\nfiles = ["/tmp/x"]\n', "")
    assert any("declares no [steps.backup]" in e for e in errors_of(text))
    ok = text.replace("destructive = true", 'destructive = true\nno_backup_reason = "nothing '
                      'to keep: it only removes a scratch file"')
    load_text(ok)


def test_kind_specific_rules() -> None:
    manual = GOOD + '\n[[steps]]\nid = "cable"\ntitle = "Cable"\nkind = "manual"\n'
    assert any("needs 'instructions'" in e for e in errors_of(manual))
    inp = GOOD + '\n[[steps]]\nid = "ask"\ntitle = "Ask"\nkind = "input"\nparams = ["nope"]\n'
    assert any("unknown parameter 'nope'" in e for e in errors_of(inp))


def test_an_expectation_with_a_severity_is_a_finding_and_needs_its_message() -> None:
    rb = load_text(GOOD.replace('message = "should echo the id"',
                                'message = "should echo the id"\nseverity = "warning"'), "rb.toml")
    assert rb.step("look").expect[0].severity == "warning"
    assert load_text(GOOD, "rb.toml").step("look").expect[0].severity == ""
    bad = errors_of(GOOD.replace('message = "should echo the id"',
                                 'message = "x"\nseverity = "fatal"'))
    assert any("severity must be critical or warning" in e for e in bad), bad
    untitled = errors_of(GOOD.replace('message = "should echo the id"', 'severity = "critical"'))
    assert any("needs a 'message'" in e for e in untitled), untitled


def test_a_placeholder_in_an_expectation_must_be_known() -> None:
    assert load_text(GOOD.replace('match = "108"', 'match = "x{{node}}"'), "rb.toml")
    bad = errors_of(GOOD.replace('match = "108"', 'match = "{{nod}}"'))
    assert any("unknown placeholder '{{nod}}'" in e for e in bad), bad


def test_a_misspelt_steps_header_is_named_where_it_is(tmp_path: Path) -> None:
    """``[[step]]`` for the first ``[[steps]]``: tomlkit found 'steps' twice only at the next
    ``[[steps]]`` (a newcomer's typo at line 54 was reported at line 149)."""
    from pverunbook.runbook.catalog import builtin_dir

    text = (builtin_dir() / "route-fix.toml").read_text(encoding="utf-8")
    first = text.index("[[steps]]\n")
    book = tmp_path / "typo.toml"
    book.write_text(text[:first] + "[[step]]\n" + text[first + len("[[steps]]\n"):],
                    encoding="utf-8")
    line = text[:first].count("\n") + 1
    with pytest.raises(RunbookError) as err:
        load_file(book)
    said = str(err.value)
    assert f"typo.toml:{line}:1: '[[step]]' is not a table of a runbook: did you mean " \
           "'[[steps]]'?" in said, said


def test_regex_help_describes_a_regex_and_is_kept() -> None:
    head = 'id = "p"\ntitle = "P"\n[[params]]\nname = "vmid"\ntype = "str"\nprompt = "VM"\n'
    step = '[[steps]]\nid = "s"\ntitle = "S"\ncommands = ["true"]\n'
    rb = load_text(head + "regex = '[1-9][0-9]{2,8}'\nregex_help = \"a VMID\"\n" + step,
                   "rb.toml")
    assert rb.params[0].regex_help == "a VMID"
    with pytest.raises(RunbookError, match="regex_help describes a 'regex'"):
        load_text(head + 'regex_help = "a VMID"\n' + step, "rb.toml")
