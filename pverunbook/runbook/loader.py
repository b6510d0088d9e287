"""TOML → ``Runbook``, collecting every error with ``file:line:col`` instead of stopping at one.

Strict on purpose: an unknown key is far more likely a typo (``destrutive = true``) than an
extension, and a typo that silently disables a safety flag is the worst kind of bug here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pverunbook.runbook import (
    commit_keys,
    confirm_summary,
    guard_table,
    param_regex,
    step_time,
    tomlfile,
)
from pverunbook.runbook.model import (
    Backup,
    Expectation,
    FailureAction,
    OnFailure,
    Param,
    ParamType,
    Pos,
    Runbook,
    Step,
    StepKind,
    Stream,
)
from pverunbook.runbook.positions import KeyPath, key_positions, nearest
from pverunbook.runbook.template import BUILTIN_VARS, placeholders
from pverunbook.runbook.when import Condition, Quant, WhenSyntaxError
from pverunbook.runbook.when import parse as parse_when

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PARAM_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class LoadError:
    pos: Pos
    message: str
    #: The offending line with a caret under the column (TOML syntax errors), shown below.
    excerpt: str = ""

    @property
    def headline(self) -> str:
        """``file:line:col: message`` alone, for a one-line listing."""
        return f"{self.pos}: {self.message}"

    def __str__(self) -> str:
        return self.headline + (f"\n{self.excerpt}" if self.excerpt else "")


class RunbookError(Exception):
    """Raised with every problem found in one file; ``str()`` gives one ``file:line:col`` each."""

    def __init__(self, errors: list[LoadError], partial: Runbook | None = None) -> None:
        self.errors = errors
        #: What did parse despite the errors (never to be run): ``validate`` lints its steps.
        self.partial = partial
        super().__init__("\n".join(str(e) for e in errors))


TOP_KEYS = {"id", "title", "summary", "version", "tags", "explain", "params", "steps"}
PARAM_KEYS = {"name", "type", "prompt", "default", "min", "max", "regex", "regex_help",
              "format", "choices", "secret", "help"}
STEP_KEYS = {"id", "title", "kind", "targets", "commands", "timeout", "ok_exit", "expect",
             "on_failure", "destructive", "confirm", "backup", "no_backup_reason", "guards",
             "verdict", "params", "instructions", "explain", "hint", "when", "lint_ok",
             "action", "args", "max_targets", "propose", "needs_person", "summary"} \
    | commit_keys.KEYS | {step_time.KEY}
#: ``format`` of a str parameter: checked by parsing, not by a regex (params.check_value).
PARAM_FORMATS = {"ip"}
EXPECT_KEYS = {"match", "absent", "stream", "nodes", "message", "severity", "faults"}
#: What a failed expectation with ``severity`` reports instead of failing the step.
EXPECT_SEVERITIES = ("critical", "warning")
BACKUP_KEYS = {"files", "sqlite", "outputs"}
GUARD_KEYS = guard_table.KEYS


class _Ctx:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.positions = key_positions(text)
        self.lines = text.splitlines()
        self.errors: list[LoadError] = []

    def pos(self, path: KeyPath) -> Pos:
        line, col = nearest(self.positions, path)
        return Pos(self.file, line, col)

    def err(self, path: KeyPath, message: str) -> None:
        self.errors.append(LoadError(self.pos(path), message))

    def value_pos(self, path: KeyPath, offset: int) -> Pos:
        """Where character ``offset`` (0-based) of a one-line string value was written."""
        pos = self.pos(path)
        if 0 < pos.line <= len(self.lines):
            line = self.lines[pos.line - 1]
            eq = line.find("=", pos.col - 1)
            starts = [i for i in (line.find('"', eq), line.find("'", eq)) if i >= 0]
            if eq >= 0 and starts:
                return Pos(self.file, pos.line, min(starts) + 2 + offset)
        return pos

    def table(self, data: Any, path: KeyPath, allowed: set[str], what: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.err(path, f"{what} must be a table, got {_tname(data)}")
            return {}
        for key in data:
            if key not in allowed:
                hint = _did_you_mean(key, allowed)
                self.err(path + (key,), f"unknown key '{key}' in {what}{hint}")
        return data

    def get(self, data: dict[str, Any], key: str, path: KeyPath, kind: type | tuple[type, ...],
            default: Any = None, required: bool = False) -> Any:
        if key not in data:
            if required:
                self.err(path, f"missing required key '{key}'; add it (`pverunbook schema` "
                               "lists every key)")
            return default
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int subclass in Python but never an int in TOML.
        ok = False if isinstance(value, bool) and bool not in kinds else isinstance(value, kinds)
        if not ok:
            want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.err(path + (key,), f"'{key}' must be {want}, got {_tname(value)}")
            return default
        return value

    def str_list(self, data: dict[str, Any], key: str, path: KeyPath,
                 allow_str: bool = True) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str) and allow_str:
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.err(path + (key,), f"'{key}' must be a list of strings, got {_tname(value)}")
        return ()


_TYPE_NAMES: dict[type, str] = {str: "a string", int: "an integer", float: "a number",
                                bool: "true or false", list: "a list", dict: "a table"}


def _tname(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _did_you_mean(key: str, allowed: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_file(path: str | Path, *, lint: bool = True) -> Runbook:
    """The runbook in ``path``, fit to run: schema errors raise :class:`RunbookError`, and so
    (``lint_gate.RunbookLintError``) do lint errors no ``lint_ok`` accepts. Every way to run a
    runbook loads it here; ``lint=False`` is for ``validate``, which lints and reports itself."""
    p = Path(path)
    try:
        text = tomlfile.read_text(p, "runbook")
    except tomlfile.TomlFileError as exc:
        raise RunbookError([LoadError(Pos(exc.file, exc.line, exc.col), exc.message,
                                      exc.excerpt)]) from exc
    runbook = load_text(text, str(p), path=p)
    if lint:
        from pverunbook.runbook.lint_gate import refusal

        refused = refusal(runbook, str(p))
        if refused is not None:
            raise refused
    return runbook


def load_text(text: str, file: str = "<runbook>", path: Path | None = None) -> Runbook:
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomlfile.parse(text, file)
    except tomlfile.TomlFileError as exc:
        raise RunbookError([LoadError(Pos(file, exc.line, exc.col), exc.message,
                                      exc.excerpt)]) from exc
    ctx = _Ctx(file, text)
    runbook = _build(ctx, data, path)
    if ctx.errors:
        ctx.errors.sort(key=lambda e: (e.pos.line, e.pos.col))
        raise RunbookError(ctx.errors, partial=runbook)
    return runbook


def _build(ctx: _Ctx, data: dict[str, Any], path: Path | None) -> Runbook:
    top = ctx.table(data, (), TOP_KEYS, "the runbook")
    rid = ctx.get(top, "id", (), str, "", required=True)
    if rid and not ID_RE.match(rid):
        ctx.err(("id",), f"runbook id '{rid}' must be lower-case letters, digits, '-' or '_'")
    title = ctx.get(top, "title", (), str, "", required=True)
    summary = ctx.get(top, "summary", (), str, "")
    version = ctx.get(top, "version", (), str, "1")
    tags = ctx.str_list(top, "tags", (), allow_str=False)
    explain = ctx.get(top, "explain", (), str, "")

    params: list[Param] = []
    raw_params = ctx.get(top, "params", (), list, [])
    seen_params: set[str] = set()
    for i, raw in enumerate(raw_params):
        param = _param(ctx, raw, ("params", i))
        if param is None:
            continue
        if param.name in seen_params:
            ctx.err(("params", i, "name"), f"duplicate parameter '{param.name}'")
        if param.name in BUILTIN_VARS:
            ctx.err(("params", i, "name"),
                    f"parameter '{param.name}' shadows the built-in variable of that name")
        seen_params.add(param.name)
        params.append(param)

    steps: list[Step] = []
    raw_steps = ctx.get(top, "steps", (), list, [])
    if not raw_steps and "steps" not in top:
        ctx.err((), "a runbook needs at least one [[steps]] table; add one (see "
                    "`pverunbook schema`)")
    seen_steps: dict[str, KeyPath] = {}
    for i, raw in enumerate(raw_steps):
        step = _step(ctx, raw, ("steps", i), {p.name: p for p in params})
        if step is None:
            continue
        if step.id in seen_steps:
            first = ctx.pos(seen_steps[step.id])
            ctx.err(("steps", i, "id"),
                    f"duplicate step id '{step.id}' (first defined at line {first.line})")
        else:
            seen_steps[step.id] = ("steps", i, "id")
        steps.append(step)

    node_params = {name for step in steps for t in step.targets
                   for name in placeholders_safe(t)}
    params = [replace(p, chooses_node=True) if p.name in node_params else p for p in params]
    for i, step in enumerate(steps):
        if step.on_failure.goto and step.on_failure.goto not in seen_steps:
            ctx.err(("steps", i, "on_failure"),
                    f"on_failure goes to unknown step '{step.on_failure.goto}'")
    commit_keys.check_steps(ctx, steps)
    return Runbook(id=rid, title=title, summary=summary, version=version, tags=tags,
                   explain=explain, params=tuple(params), steps=tuple(steps), path=path)


def _param(ctx: _Ctx, raw: Any, path: KeyPath) -> Param | None:
    d = ctx.table(raw, path, PARAM_KEYS, "a parameter")
    name = ctx.get(d, "name", path, str, "", required=True)
    if name and not PARAM_RE.match(name):
        ctx.err(path + ("name",), f"parameter name '{name}' must match [a-z_][a-z0-9_]*")
    type_s = ctx.get(d, "type", path, str, "str")
    try:
        ptype = ParamType(type_s)
    except ValueError:
        ctx.err(path + ("type",), f"parameter type '{type_s}' must be one of int, str, bool, "
                "choice")
        return None
    prompt = ctx.get(d, "prompt", path, str, name)
    choices = ctx.str_list(d, "choices", path, allow_str=False)
    if ptype is ParamType.CHOICE and not choices:
        ctx.err(path, f"choice parameter '{name}' needs a 'choices' list")
    regex, regex_help = param_regex.read(ctx, d, path)
    fmt = ctx.get(d, "format", path, str)
    if fmt is not None and fmt not in PARAM_FORMATS:
        ctx.err(path + ("format",), f"format '{fmt}' must be one of: "
                f"{', '.join(sorted(PARAM_FORMATS))}")
        fmt = None
    elif fmt is not None and ptype is not ParamType.STR:
        ctx.err(path + ("format",), f"format '{fmt}' belongs to a parameter of type str")
        fmt = None
    default = d.get("default")
    want: dict[ParamType, type | tuple[type, ...]] = {
        ParamType.INT: int, ParamType.STR: str, ParamType.BOOL: bool, ParamType.CHOICE: str}
    if default is not None:
        default = ctx.get(d, "default", path, want[ptype])
    param = Param(
        name=name, type=ptype, prompt=prompt, default=default,
        min=ctx.get(d, "min", path, int), max=ctx.get(d, "max", path, int), regex=regex,
        regex_help=regex_help, format=fmt,
        choices=choices, secret=ctx.get(d, "secret", path, bool, False),
        help=ctx.get(d, "help", path, str, ""), pos=ctx.pos(path),
    )
    if default is not None and not ctx.errors:
        from pverunbook.runbook.params import ParamValueError, check_value

        try:
            check_value(param, default)
        except ParamValueError as exc:
            ctx.err(path + ("default",), f"default of '{name}' is invalid: {exc}")
    return param


def _step(ctx: _Ctx, raw: Any, path: KeyPath, params: dict[str, Param]) -> Step | None:
    d = ctx.table(raw, path, STEP_KEYS, "a step")
    sid = ctx.get(d, "id", path, str, "", required=True)
    if sid and not ID_RE.match(sid):
        ctx.err(path + ("id",), f"step id '{sid}' must be lower-case letters, digits, '-' or '_'")
    title = ctx.get(d, "title", path, str, sid, required=True)
    kind_s = ctx.get(d, "kind", path, str, "run")
    try:
        kind = StepKind(kind_s)
    except ValueError:
        ctx.err(path + ("kind",), f"step kind '{kind_s}' must be one of run, check, manual, "
                "input, action")
        kind = StepKind.RUN
    targets = ctx.str_list(d, "targets", path) or ("all",)
    commands = ctx.str_list(d, "commands", path)
    if kind in (StepKind.RUN, StepKind.CHECK) and not commands:
        ctx.err(path, f"{kind.value} step '{sid}' needs at least one command in 'commands'")
    if kind in (StepKind.MANUAL, StepKind.INPUT, StepKind.ACTION) and commands:
        ctx.err(path + ("commands",), f"a {kind.value} step runs no commands")
    timeout = ctx.get(d, "timeout", path, (int, float), 30.0)
    if timeout is not None and not 0 < timeout <= 86400:
        ctx.err(path + ("timeout",), "timeout must be between 0 and 86400 seconds")
        timeout = 30.0
    ok_exit_raw = d.get("ok_exit", [0])
    if isinstance(ok_exit_raw, int) and not isinstance(ok_exit_raw, bool):
        ok_exit_raw = [ok_exit_raw]
    if not (isinstance(ok_exit_raw, list) and all(isinstance(x, int) and not isinstance(x, bool)
                                                   for x in ok_exit_raw)):
        ctx.err(path + ("ok_exit",), "'ok_exit' must be an integer or a list of integers")
        ok_exit_raw = [0]

    expect: list[Expectation] = []
    for j, raw_e in enumerate(ctx.get(d, "expect", path, list, [])):
        ep = path + ("expect", j)
        e = ctx.table(raw_e, ep, EXPECT_KEYS, "an expectation")
        match = ctx.get(e, "match", ep, str)
        absent = ctx.get(e, "absent", ep, str)
        if (match is None) == (absent is None):
            ctx.err(ep, "an expectation needs exactly one of 'match' or 'absent'")
        for key, rx in (("match", match), ("absent", absent)):
            if rx is not None:
                try:
                    re.compile(rx)
                except re.error as exc:
                    ctx.err(ep + (key,), f"invalid regex: {exc}")
        stream_s = ctx.get(e, "stream", ep, str, "both")
        try:
            stream = Stream(stream_s)
        except ValueError:
            ctx.err(ep + ("stream",), "stream must be stdout, stderr or both")
            stream = Stream.BOTH
        severity = ctx.get(e, "severity", ep, str, "")
        if severity and severity not in EXPECT_SEVERITIES:
            ctx.err(ep + ("severity",), "severity must be critical or warning (or left out: "
                    "a failed expectation then fails the step)")
            severity = ""
        message = ctx.get(e, "message", ep, str, "")
        if severity and not message:
            ctx.err(ep, "an expectation with a severity needs a 'message': it is the "
                    "finding's title")
        if (faults := ctx.str_list(e, "faults", ep)) and severity:
            ctx.err(ep + ("faults",), "'faults' names what stops a run: a finding never does")
        expect.append(Expectation(match=match, absent=absent, stream=stream,
                                  nodes=ctx.str_list(e, "nodes", ep), message=message,
                                  severity=severity, faults=faults, pos=ctx.pos(ep)))

    on_failure = OnFailure()
    of = ctx.get(d, "on_failure", path, str, "stop")
    if of in ("stop", "continue"):
        on_failure = OnFailure(FailureAction(of))
    elif of.startswith("goto:") and ID_RE.match(of[5:]):
        on_failure = OnFailure(FailureAction.GOTO, of[5:])
    else:
        ctx.err(path + ("on_failure",),
                f"on_failure '{of}' must be 'stop', 'continue' or 'goto:<step id>'")

    backup = Backup()
    if "backup" in d:
        bp = path + ("backup",)
        b = ctx.table(d["backup"], bp, BACKUP_KEYS, "a backup")
        backup = Backup(files=ctx.str_list(b, "files", bp, allow_str=False),
                        sqlite=ctx.str_list(b, "sqlite", bp, allow_str=False),
                        outputs=ctx.str_list(b, "outputs", bp, allow_str=False))
        for key, items in (("files", backup.files), ("sqlite", backup.sqlite)):
            for item in items:
                if not item.startswith("/"):
                    ctx.err(bp + (key,), f"backup path '{item}' must be absolute")

    guards = guard_table.parse(ctx, d, path)

    destructive = ctx.get(d, "destructive", path, bool, False)
    confirm = ctx.get(d, "confirm", path, str)
    if confirm is not None and confirm not in ("cluster", "node") and not confirm.strip():
        ctx.err(path + ("confirm",), "confirm must be 'cluster', 'node' or a phrase to type")
    step_params = ctx.str_list(d, "params", path, allow_str=False)
    for name in step_params:
        if name not in params:
            ctx.err(path + ("params",), f"step asks for unknown parameter '{name}'")
    if kind is StepKind.INPUT and not step_params:
        ctx.err(path, "an input step needs 'params' naming what to ask")
    instructions = ctx.get(d, "instructions", path, str, "")
    if kind is StepKind.MANUAL and not instructions:
        ctx.err(path, "a manual step needs 'instructions' telling the operator what to do")
    needs_person = ctx.get(d, "needs_person", path, bool, False)
    if needs_person and kind is not StepKind.MANUAL:
        ctx.err(path + ("needs_person",), "'needs_person' is for manual steps: only they wait "
                "for a person")
    no_backup_reason = ctx.get(d, "no_backup_reason", path, str, "")
    if destructive and backup.empty and not no_backup_reason.strip():
        ctx.err(path + ("destructive",),
                f"destructive step '{sid}' declares no [steps.backup]; add one, or say why none "
                "is possible in 'no_backup_reason'")
    commit_within, commit_checks, rollback = commit_keys.parse(ctx, d, path, sid, destructive,
                                                               backup)
    when = ctx.get(d, "when", path, str)
    condition: Condition | None = None
    if when is not None:
        try:
            condition = parse_when(when, params)
        except WhenSyntaxError as exc:
            ctx.errors.append(LoadError(ctx.value_pos(path + ("when",), exc.col - 1),
                                        f"when: {exc.message} in {when!r}"))
    max_targets = ctx.get(d, "max_targets", path, int)
    if max_targets is not None and max_targets < 1:
        ctx.err(path + ("max_targets",), "max_targets must be 1 or more")
        max_targets = None
    for t in targets:
        try:
            used = placeholders(t)
        except ValueError:
            continue  # reported with the other placeholders below
        if not used:
            continue
        if len(used) > 1 or not re.fullmatch(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}", t):
            ctx.err(path + ("targets",), f"target '{t}': a parameter target is exactly "
                    "'{{name}}', one parameter naming one node, nothing around it")
        elif used[0] in BUILTIN_VARS:
            ctx.err(path + ("targets",), f"target '{t}': targets name nodes by a parameter "
                    "('{{param}}'), 'all', 'first', 'local' or a node name, not a built-in")
        elif used[0] in params and params[used[0]].type not in (ParamType.STR,
                                                               ParamType.CHOICE):
            ctx.err(path + ("targets",), f"target '{t}': parameter '{used[0]}' must be of "
                    "type str or choice to name a node")
    propose = _propose(ctx, d, path, kind, step_params)

    # Every placeholder must name a parameter or a built-in variable.
    texts: list[tuple[KeyPath, str]] = [(path + ("commands",), c) for c in commands]
    texts += [(path + ("targets",), t) for t in targets]
    texts += [(path + ("backup",), c) for c in backup.files + backup.sqlite + backup.outputs]
    summary = confirm_summary.parse(ctx, d, path, destructive, confirm)
    texts += [(path + ("instructions",), instructions), (path + ("summary",), summary)]
    texts += [(path + ("guards",), g.command or "") for g in guards]
    texts += [(path + ("rollback",), c) for c in rollback.targets + rollback.reload
              + tuple(x for x in (rollback.requires, rollback.record) if x)]
    texts += [(path + ("expect",), e.match or e.absent or "") for e in expect]
    for where, text in texts:
        try:
            names = placeholders(text)
        except ValueError as exc:
            ctx.err(where, str(exc))
            continue
        for name in names:
            if name == commit_keys.RECORDED and where == path + ("rollback",):
                continue  # commit_keys says where it belongs
            if name not in params and name not in BUILTIN_VARS:
                ctx.err(where, f"unknown placeholder '{{{{{name}}}}}' (parameters: "
                        f"{', '.join(sorted(params)) or 'none'}; built-ins: "
                        f"{', '.join(sorted(BUILTIN_VARS))})")

    action = ctx.get(d, "action", path, str)
    args = ctx.get(d, "args", path, dict, {})
    if kind is StepKind.ACTION:
        from pverunbook.runbook.actions import ACTIONS

        if action is None:
            ctx.err(path, f"action step '{sid}' needs 'action' (one of {', '.join(ACTIONS)})")
        elif action not in ACTIONS:
            ctx.err(path + ("action",), f"unknown action '{action}' (one of "
                    f"{', '.join(sorted(ACTIONS))})")
        else:
            for problem in ACTIONS[action].check_args(args):
                ctx.err(path + ("args",), f"action '{action}': {problem}")
    elif action is not None or "args" in d:
        ctx.err(path + ("action",), "'action' and 'args' belong to steps with kind = \"action\"")
    for key, value in _walk_strings(args):
        try:
            names = placeholders(value)
        except ValueError as exc:
            ctx.err(path + ("args",), f"{key}: {exc}")
            continue
        for name in names:
            if name not in params and name not in BUILTIN_VARS:
                ctx.err(path + ("args",), f"unknown placeholder '{{{{{name}}}}}' in {key}")

    verdict = ctx.get(d, "verdict", path, str)
    if verdict is not None:
        known = _known_verdicts()
        if known is not None and verdict not in known:
            ctx.err(path + ("verdict",), f"unknown verdict '{verdict}' (known: "
                    f"{', '.join(sorted(known))})")
    return Step(
        id=sid, title=title, kind=kind, targets=targets, commands=commands,
        timeout=float(timeout), ok_exit=tuple(ok_exit_raw), expect=tuple(expect),
        on_failure=on_failure, destructive=destructive, confirm=confirm, backup=backup,
        no_backup_reason=no_backup_reason, guards=tuple(guards), verdict=verdict,
        params=step_params, instructions=instructions, needs_person=needs_person,
        explain=ctx.get(d, "explain", path, str, ""), hint=ctx.get(d, "hint", path, str, ""),
        when=when, condition=condition, max_targets=max_targets, propose=propose,
        lint_ok=ctx.str_list(d, "lint_ok", path, allow_str=False),
        action=action, args=args, commit_within=commit_within, commit_checks=commit_checks,
        rollback=rollback, summary=summary, pos=ctx.pos(path),
        seconds_per_peer=step_time.parse(ctx, d, path, params))


def _propose(ctx: _Ctx, d: dict[str, Any], path: KeyPath, kind: StepKind,
             step_params: tuple[str, ...]) -> dict[str, str]:
    raw = ctx.get(d, "propose", path, dict, {})
    out: dict[str, str] = {}
    if raw and kind is not StepKind.INPUT:
        ctx.err(path + ("propose",), "'propose' belongs to input steps")
        return out
    for name, text in raw.items():
        if name not in step_params:
            ctx.err(path + ("propose",), f"propose: '{name}' is not one of this step's "
                    f"params ({', '.join(step_params)})")
            continue
        if not isinstance(text, str):
            ctx.err(path + ("propose", name), f"propose.{name} must be a string like "
                    "\"db.integrity == false\"")
            continue
        try:
            selector(text)
        except WhenSyntaxError as exc:
            ctx.err(path + ("propose", name), f"propose.{name}: {exc.message} in {text!r}")
            continue
        out[name] = text
    return out


def selector(text: str) -> Quant:
    """A ``propose`` selector (``fact.name``, ``fact.name == false``) as a :class:`Quant`.

    Raises WhenSyntaxError (column inside ``text``) when it is not one fact name with an
    optional comparison to a literal.
    """
    try:
        tree = parse_when(f"any({text})").tree
    except WhenSyntaxError as exc:
        raise WhenSyntaxError(exc.message, max(1, exc.col - 4)) from None
    if not isinstance(tree, Quant):
        raise WhenSyntaxError("a selector is one fact name with an optional comparison", 1)
    return tree


def placeholders_safe(text: str) -> list[str]:
    try:
        return placeholders(text)
    except ValueError:
        return []


def _walk_strings(value: Any, key: str = "args") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _walk_strings(v, f"{key}.{k}")]
    if isinstance(value, list):
        return [kv for i, v in enumerate(value) for kv in _walk_strings(v, f"{key}[{i}]")]
    return []


def _known_verdicts() -> set[str] | None:
    """Names a step may use in ``verdict``; None when the verdict library is unavailable."""
    try:
        from pverunbook.pve import verdicts
    except ImportError:
        return None
    from pverunbook.pve.facts import FACT_RULES

    single = getattr(verdicts, "VERDICTS", {})
    cross = getattr(verdicts, "CROSS_NODE_VERDICTS", {})
    return set(single) | set(cross) | set(FACT_RULES)  # fact-only names yield no findings
