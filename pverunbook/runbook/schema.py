"""The runbook JSON Schema, for editors that check TOML as people type (taplo, Even Better TOML).

Built from the same key sets the loader enforces, so the two cannot drift apart silently; the
committed ``pverunbook/schema/runbook.schema.json`` is checked against this by the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pverunbook.runbook import loader
from pverunbook.runbook.model import GuardKind, ParamType, StepKind

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "runbook.schema.json"

_STR = {"type": "string"}
_STR_LIST = {"type": "array", "items": _STR}
_ID = {"type": "string", "pattern": loader.ID_RE.pattern}


def _obj(props: dict[str, Any], keys: set[str], required: list[str] | None = None,
         description: str = "") -> dict[str, Any]:
    assert set(props) == keys, f"schema/loader drift: {set(props) ^ keys}"
    out: dict[str, Any] = {"type": "object", "additionalProperties": False,
                           "properties": props}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    return out


def build_schema() -> dict[str, Any]:
    param = _obj({
        "name": {"type": "string", "pattern": loader.PARAM_RE.pattern},
        "type": {"enum": [t.value for t in ParamType]},
        "prompt": _STR, "default": {"type": ["string", "integer", "boolean"]},
        "min": {"type": "integer"}, "max": {"type": "integer"},
        "regex": {**_STR, "format": "regex"},
        "regex_help": {**_STR, "description": "what the regex accepts, in words: a refused "
                                              "value is told this, not the pattern"},
        "format": {"enum": sorted(loader.PARAM_FORMATS),
                   "description": "ip: one IPv4 or IPv6 address"},
        "choices": _STR_LIST,
        "secret": {"type": "boolean", "description": "never written to journal or report"},
        "help": _STR,
    }, loader.PARAM_KEYS, ["name"])
    expect = _obj({
        "match": {**_STR, "description": "regex that must match the node's output"},
        "absent": {**_STR, "description": "regex that must not match"},
        "stream": {"enum": ["stdout", "stderr", "both"]},
        "nodes": _STR_LIST, "message": _STR,
        "severity": {"enum": list(loader.EXPECT_SEVERITIES),
                     "description": "report a failed expectation as a finding of this "
                                    "severity instead of failing the step"},
        "faults": {**_STR_LIST, "description": "the diagnosis's fault ids this expectation "
                                               "fails on: the health check proposes this "
                                               "runbook only after the one that fixes them"},
    }, loader.EXPECT_KEYS, description="exactly one of match/absent")
    backup = _obj({"files": _STR_LIST, "sqlite": _STR_LIST, "outputs": _STR_LIST},
                  loader.BACKUP_KEYS)
    guard = _obj({
        "check": {"enum": [g.value for g in GuardKind]}, "within": {"type": "number"},
        "command": _STR, "warn": {"type": "boolean"}, "message": _STR,
        "skip_unreachable": {"type": "boolean"},
    }, loader.GUARD_KEYS, ["check"])
    step = _obj({
        "id": _ID, "title": _STR, "kind": {"enum": [k.value for k in StepKind]},
        "targets": {"oneOf": [_STR, _STR_LIST],
                    "description": "all | first | local | <node> | {{param}} (a parameter "
                                   "names exactly one node)"},
        "commands": {"oneOf": [_STR, _STR_LIST]},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
        "ok_exit": {"oneOf": [{"type": "integer"},
                              {"type": "array", "items": {"type": "integer"}}]},
        "expect": {"type": "array", "items": expect},
        "on_failure": {"type": "string", "pattern": r"^(stop|continue|goto:[a-z0-9][a-z0-9_-]*)$"},
        "destructive": {"type": "boolean"},
        "confirm": {"type": "string", "description": "cluster | node | a phrase to type"},
        "backup": backup, "no_backup_reason": _STR,
        "guards": {"type": "array", "items": guard},
        "verdict": _STR, "params": _STR_LIST, "instructions": _STR, "explain": _STR,
        "needs_person": {"type": "boolean", "description": "manual steps: headless --confirm "
                         "may not answer it; the run waits for a person at a terminal"},
        "hint": _STR,
        "summary": {**_STR, "description": "what the step does on each node, in words, shown "
                    "at its confirmation above the commands ({{node}} for the node)"},
        "when": {**_STR, "description": "condition over parameters and facts, e.g. "
                 "\"not all(quorum.steady)\" (runbooks/README.md, 'when')"},
        "lint_ok": _STR_LIST,
        "max_targets": {"type": "integer", "minimum": 1,
                        "description": "the step may touch at most this many nodes"},
        "seconds_per_peer": {"type": "object",
                             "additionalProperties": {"type": "number", "exclusiveMinimum": 0},
                             "description": "seconds each peer costs per unit of an int "
                             "parameter, e.g. { ping_count = 0.2 }: a value that makes the "
                             "step outlast its timeout on the cluster is refused"},
        "propose": {"type": "object", "additionalProperties": _STR,
                    "description": "input steps: parameter = fact selector, e.g. "
                    "damaged_node = \"db.integrity == false\""},
        "action": {"enum": _action_names()}, "args": {"type": "object"},
        "commit_within": {"type": "integer", "minimum": 1, "maximum": 3600,
                          "description": "seconds the operator has to type COMMIT; unless they "
                          "do, a timer armed on the nodes restores the checkpointed files"},
        "commit_checks": {**_STR_LIST, "description": "later check steps that prove the "
                          "change worked (COMMIT is asked once all passed)"},
        "rollback": _obj({"targets": {"oneOf": [_STR, _STR_LIST]}, "reload": _STR_LIST,
                          "requires": {**_STR, "description": (
                              "probe run right before the timer is armed; unless it exits 0 "
                              "the step does not run")},
                          "record": {**_STR, "description": (
                              "command run right after requires; a reload command with "
                              "{{recorded}} runs once per line it printed, with its words")}},
                         {"targets", "reload", "requires", "record"}),
    }, loader.STEP_KEYS, ["id", "title"])
    top = _obj({
        "id": _ID, "title": _STR, "summary": _STR, "version": _STR, "tags": _STR_LIST,
        "explain": {**_STR, "description": "Markdown for trainees"},
        "params": {"type": "array", "items": param},
        "steps": {"type": "array", "items": step, "minItems": 1},
    }, loader.TOP_KEYS, ["id", "title", "steps"])
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://pverunbook.invalid/schema/runbook.schema.json",
        "title": "pverunbook runbook",
        **top,
    }


def _action_names() -> list[str]:
    from pverunbook.runbook.actions import ACTIONS

    return sorted(ACTIONS)


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2) + "\n"
