"""The headless CLI's answers to the engine's questions: on the terminal when there is one,
otherwise only from flags (``--confirm``, ``--override-checkpoint``, ``--override-guard``);
anything not answered by a flag is refused, which is the safe default. Split from
``headless.py`` (the printers), which re-exports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from typing import Any, TextIO

from pverunbook.engine.decisions import (
    GUARD_OVERRIDE_PHRASE,
    OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    CheckpointFailure,
    ConfirmRequest,
    FailureChoice,
    GuardFailure,
    Refusal,
    StepAction,
    StepDecision,
)
from pverunbook.engine.outcomes import ended_words
from pverunbook.runbook.model import FailureAction, Param, Step, StepKind
from pverunbook.runbook.template import render_plain

#: How the reason of an advisory manual step skipped headless begins (the summary lists them).
LEFT = "left for the operator:"

#: How many times a typed confirmation is asked before a wrong text refuses it.
TRIES = 3

#: What a wrapped line's continuation lines are indented under: its indentation and a
#: marker (``MANUAL:``, a list item's ``1.`` or ``-``, an opening parenthesis).
_LEAD = re.compile(r" *(?:MANUAL: |⚠ |\d+\. |[-*] |\()?")


def _paragraphs(text: str) -> list[str]:
    """``text``'s lines, a runbook's hard-wrapped prose joined back (for a terminal to wrap at
    its own width): a line continues the one before when that one is long prose (60+
    characters, not ending in ':') and this one is indented exactly under its text and
    starts no list item. Anything else — a command on its own line, a list — stays a line."""
    out: list[str] = []
    for line in text.split("\n"):
        if out and len(out[-1]) >= 60 and not out[-1].rstrip().endswith(":") and line.strip():
            lead = len(_LEAD.match(out[-1]).group(0))  # type: ignore[union-attr]
            body = line[lead:]
            if line[:lead] == " " * lead and body[:1] not in ("", " ") \
                    and not re.match(r"\d+\. |[-*] ", body):
                out[-1] = f"{out[-1].rstrip()} {body}"
                continue
        out.append(line)
    return out



_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")


def plain_text(markdown: str) -> str:
    """A runbook's Markdown instructions for a terminal: bold as plain text (it printed
    ``**Cable and connectors**``). Code spans keep their backticks: they mark what to type."""
    return _BOLD.sub(lambda m: m.group(1) or m.group(2), markdown)


def follow_words(step: Step) -> str:
    """What ``f`` (the runbook's own answer to this failure, its ``on_failure``) does, in
    words: "[f]ollow runbook (continue)" meant nothing to a newcomer."""
    action = step.on_failure.action
    if action is FailureAction.CONTINUE:
        return "go on with the next step, as the runbook says"
    if action is FailureAction.GOTO:
        return f"go to step '{step.on_failure.goto}', as the runbook says"
    return "stop the run here, as the runbook says (it can be resumed)"

def question_stream() -> TextIO:
    """Where a headless run's questions (and what to read to answer them) are written: its
    output's stream (stdout) when that is the terminal, or when no terminal answers anyway
    (stdin is not one: the refusals are part of the run's record). With stdout redirected
    (``> file``, ``> /dev/null``) and the operator at a terminal they went into the file and
    the run waited silently, looking hung: they go to stderr, or to /dev/tty when stderr is
    redirected too."""
    if sys.stdout.isatty() or not sys.stdin.isatty():
        return sys.stdout
    if sys.stderr.isatty():
        return sys.stderr
    try:
        return open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115 - the process's life
    except OSError:
        return sys.stderr


class TerminalDecider:
    """Asks on the terminal when there is one; otherwise answers only from flags."""

    def __init__(self, confirm_text: str | list[str] | None = None,
                 interactive: bool | None = None, out: TextIO | None = None,
                 override: str | None = None,
                 guard_overrides: dict[str, str] | None = None) -> None:
        #: ``--override-checkpoint``: typed for the operator when a checkpoint fails and no
        #: terminal can ask (the engine still checks it against the phrase)
        self.override = override
        #: ``--override-guard STEP_ID=REASON``: go past that failed guard (guard_skip.py)
        self.guard_overrides = dict(guard_overrides or {})
        texts = [confirm_text] if isinstance(confirm_text, str) else list(confirm_text or [])
        self.confirm_texts = texts
        self.confirm_text = texts[0] if texts else None
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.out = out or question_stream()
        #: the runbook being run (set by the command): which manual steps gate destructive ones
        self.runbook: Any = None
        #: the values a manual step's instructions are filled with (parameters, cluster)
        self.context: dict[str, Any] = {}
        self.dry_run = False
        #: ids of the advisory manual steps left for the operator (no terminal)
        self.left: list[str] = []
        #: the command that continues this run, with the subcommand the operator typed
        #: (``rehearse --resume`` after ``rehearse``; set by the command)
        self.resume_with = ""

    def _say(self, text: str) -> None:
        """Write ``text``; on a terminal each line wraps at its width, continued under its
        text (``termwrap``), never inside typed text (``'…'``, ```…```, ``--confirm X``).
        Prompts and a confirmation's summary (the commands it runs) are written as they are."""
        from pverunbook.termwrap import columns_of, wrap

        cols = columns_of(self.out)
        if cols:
            text = "\n".join(wrap(m.group(0), line[m.end():], cols, keep_quoted=True)
                              for line in _paragraphs(text) if (m := _LEAD.match(line)))
        self.out.write(text)

    async def _ask(self, prompt: str) -> str | None:
        if not self.interactive:
            return None
        self.out.write(prompt)
        self.out.flush()
        line = await read_stdin_line()
        return None if line == "" else line.rstrip("\n")

    async def before_step(self, step: Step, index: int) -> StepDecision:
        """Without a terminal, an advisory manual step (nothing destructive after it, no
        person needed) is left for the operator, reported, and the run goes on: a read-only
        triage no longer ends "aborted" at its "check the cables" step. Given ``--confirm
        STEP_ID`` it is recorded as done instead (:meth:`manual_done`)."""
        if (step.kind is not StepKind.MANUAL or self.interactive or self.dry_run
                or step.needs_person or step.id in self.confirm_texts
                or self.runbook is None or self.gated_by(index)):  # unknown: not advisory
            return StepDecision()
        text = plain_text(render_plain(step.instructions, self.context).strip())
        self._say(f"\n   MANUAL: {text}\n   (no terminal to confirm it: left for the "
                       "operator, and nothing destructive in this runbook depends on it; "
                       f"add --confirm {step.id} to record it as done)\n")
        self.left.append(step.id)
        return StepDecision(StepAction.SKIP, reason=f"{LEFT} {' '.join(text.split())}")

    def gated_by(self, index: int) -> list[str]:
        """The destructive steps after step ``index``: a manual step before them gates them
        (its work must be done before they run), so headless it needs an explicit answer."""
        steps = self.runbook.steps if self.runbook is not None else []
        return [s.id for s in steps[index + 1:] if s.destructive]

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.out.write(f"\n   {request.prompt}\n")
        for line in request.summary.splitlines():
            self.out.write(f"   {line}\n")
        if request.checkpoint_id:
            self._say(f"   checkpoint taken: {request.checkpoint_id}\n")
        elif request.checkpoint is not None:
            self._say("   the checkpoint is being taken now; the step runs only once it "
                           "is verified\n")
        if request.expected in self.confirm_texts:
            self._say(f"   (answered by --confirm: {request.expected!r})\n")
            return request.expected
        if not self.interactive:
            # Refused, typing nothing: another confirmation's --confirm answer is not the
            # operator's answer to this one (the journal said "typed 'nyc'" at a COMMIT, and
            # "typed 'nyc'" at a node-name question nobody answered).
            then = ("; the change is rolled back when its timer fires"
                    if request.what == "commit" else "")
            given = "no terminal to type it and no" if not self.confirm_texts else "no"
            self._say(f"   ({given} --confirm {request.expected} was given, so this is "
                           f"refused{then}: to answer it headless, add --confirm "
                           f"{request.expected})\n")
            if request.what == "commit" or self.confirm_texts:
                return Refusal(f"no --confirm {request.expected} was given")
            return None
        try:
            return await self._typed(request)
        except asyncio.CancelledError:  # Ctrl-C, SIGTERM: the nodes' timers go on
            if request.what == "commit":
                from pverunbook.engine.rollback_gone import commit_left_live

                print(f"\npverunbook: {commit_left_live(request)}", file=sys.stderr)
            raise

    async def _typed(self, request: ConfirmRequest) -> str | None:
        """The typed answer, asked again after a typo (up to ``TRIES`` times), as the app's
        dialog asks until the text matches: one wrong letter in a node name aborted the whole
        run. Only the last answer is journaled (the engine's), as the app journals only the
        text that closed its dialog. Finally refused, it says what continues the run."""
        expected = request.expected
        typed: str | None = None
        for tries_left in range(TRIES - 1, -1, -1):
            typed = await self._ask(f"   type {expected!r} to go ahead: ")
            if typed is not None and typed.strip() == expected:
                return typed
            if typed is None:  # the input ended (Ctrl-D): nothing more can be typed
                if request.what != "commit":
                    self._say(f"\n   nothing typed: refused, nothing was run. The run stops "
                              f"here; `{self.resume_command()}` asks again.\n")
                return None
            shown = typed.strip() if len(typed.strip()) <= 40 else typed.strip()[:37] + "..."
            said = (f"Enter alone never confirms (expected {expected!r})" if not shown
                    else f"you typed {shown!r}, expected {expected!r}")
            if tries_left:
                more = f"{tries_left} more tr{'y' if tries_left == 1 else 'ies'}"
                self._say(f"   {said}: nothing was run. Type {expected!r} exactly "
                          f"({more}; Ctrl-C stops the run)\n")
        self._say(f"   {said}: refused after {TRIES} tries, nothing was run. "
                  + ("The change is rolled back when its timer fires.\n"
                     if request.what == "commit" else
                     f"The run stops here; `{self.resume_command()}` asks again.\n"))
        return typed

    async def manual_done(self, step: Step, instructions: str) -> bool:
        """A manual step reached without a terminal is done only on ``--confirm STEP_ID``
        (never on a cluster or node name given for a typed confirmation), and never for a
        step that needs a person at the nodes (``needs_person``): those stop the run, to be
        resumed at a terminal. Advisory ones never get here headless (:meth:`before_step`)."""
        self._say(f"\n   MANUAL: {plain_text(instructions.strip())}\n")
        if not self.interactive:
            if step.needs_person:
                self._say(f"   '{step.id}' needs a person: --confirm does not answer it. "
                               "Do the work above, then resume this run at a terminal "
                               f"(`{self.resume_command()}`) "
                               "(without --confirm) and confirm it there.\n")
                return False
            if step.id in self.confirm_texts:
                self._say(f"   (done: answered by --confirm {step.id})\n")
                return True
            gated = self.gated_by(self.index_of(step))
            why = (f"it comes before the destructive step(s) {', '.join(gated)}" if gated
                   else "nothing tells whether later steps depend on it")
            self._say(f"   (no terminal to confirm it and no --confirm {step.id}, and "
                           f"{why}: the run stops here; do the work above, then "
                           f"`{self.resume_command()} --confirm {step.id}`, or resume at a "
                           "terminal)\n")
            return False
        answer = await self._ask("   confirm, done? [y/N] ")
        return (answer or "").strip().lower() in ("y", "yes")

    def may_ask(self, cluster: Any, values: dict[str, Any]) -> list[tuple[str, str]]:
        """Every ``--confirm`` answer this runbook may ask for, as (flag value, step id), in
        step order: a typed confirmation (the node or cluster name it will ask for, or its
        phrase), COMMIT for a ``commit_within`` step, the id of a manual step that gates a
        destructive one. Without a terminal they used to be found one failed run at a time.

        Mirrors the engine's own choice (``engine.targets.confirm_expected``, the engine's
        ``_run_step``): a target known only once an earlier step ran is shown as ``NODE``."""
        from pverunbook.engine.targets import TargetError, confirm_expected, resolve_targets

        out: list[tuple[str, str]] = []
        steps = self.runbook.steps if self.runbook is not None else []
        for i, step in enumerate(steps):
            if step.kind is StepKind.MANUAL and not step.needs_person and self.gated_by(i):
                out.append((step.id, step.id))
            if step.destructive or step.confirm is not None:
                try:
                    nodes = resolve_targets(step, cluster, values)
                    expected = confirm_expected(step, cluster, nodes)
                except TargetError:
                    expected = cluster.name if step.confirm == "cluster" else \
                        step.confirm if step.confirm not in (None, "node") else "NODE"
                default = cluster.name if step.destructive else "yes"
                out.append((expected or default, step.id))
            if step.commit_within is not None:
                out.append(("COMMIT", step.id))
        return out

    def announce(self, cluster: Any, values: dict[str, Any]) -> None:
        """Without a terminal, say once before the first step which ``--confirm`` answers the
        run may need and which of them were not given (a run that reaches an unanswered one
        stops there or leaves it to the operator)."""
        if self.interactive or self.dry_run:
            return
        asks = self.may_ask(cluster, values)
        missing = [(v, s) for v, s in asks if v not in self.confirm_texts]
        if not missing:
            return
        steps: dict[str, list[str]] = {}
        for v, s in missing:
            steps.setdefault(v, []).append(s)
        listed = ", ".join(f"--confirm {v} (step{'s' if len(ids) > 1 else ''} {', '.join(ids)})"
                           for v, ids in steps.items())
        node = " (NODE: the name of the node it targets, known once an earlier step chose " \
            "it)" if any(v == "NODE" for v, _ in missing) else ""
        self._say(f"this run may ask for: {listed}; no terminal can answer them, so add "
                       f"those you agree to{node}\n")

    def resume_command(self) -> str:
        """``pverunbook run --resume RUN`` (with ``--state-dir`` when one is in force): the
        command that continues this run, for the messages that say to resume it; the
        command's own (``resume_with``: ``rehearse --resume`` after ``rehearse``) when set."""
        from pverunbook.statedir import chosen_args

        if self.resume_with:
            return self.resume_with

        return f"pverunbook run --resume {self.context.get('run_id') or 'RUN'}{chosen_args()}"

    def index_of(self, step: Step) -> int:
        steps = self.runbook.steps if self.runbook is not None else []
        return next((i for i, s in enumerate(steps) if s.id == step.id), len(steps))

    async def ask_params(self, step: Step, params: list[Param],
                         current: dict[str, Any]) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for p in params:
            have = current.get(p.name, p.default)
            if not self.interactive:
                if have is None:
                    self._say(f"   no value for '{p.name}': pass --set {p.name}=VALUE\n")
                    return None
                values[p.name] = have
                continue
            shown = "" if have is None else f" [{'***' if p.secret else have}]"
            answer = await self._ask(f"   {p.prompt}{shown}: ")
            if answer is None:
                return None
            values[p.name] = answer if answer != "" else have
        return values

    async def after_failure(self, step: Step, status: str) -> FailureChoice:
        if not self.interactive:
            if step.id in self.guard_overrides:
                return FailureChoice.SKIP
            later = self.guarded(step)
            if later and step.on_failure.action.value == "stop":
                self._say(f"   '{step.id}' guards the destructive step(s) "
                               f"{', '.join(later)}: the run stops here. Fix what it found "
                               "and resume; to go past it anyway (never on a real cluster "
                               f"without checking by hand): --override-guard {step.id}=REASON\n")
            return FailureChoice.FOLLOW_RUNBOOK
        answer = await self._ask(f"   '{step.id}' {ended_words(step, status)}. "
                                 f"[f] {follow_words(step)}, [r]e-run it, [s]kip it, "
                                 "[a]bort the run? ")
        return {"r": FailureChoice.RERUN, "s": FailureChoice.SKIP,
                "a": FailureChoice.ABORT}.get((answer or "f")[:1].lower(),
                                              FailureChoice.FOLLOW_RUNBOOK)

    async def checkpoint_failed(self, failure: CheckpointFailure) -> Answer:
        self._say("   the checkpoint failed, so the destructive step is blocked:\n")
        for p in failure.problems:
            self._say(f"     - {p}\n")
        if not self.interactive and self.override is not None:
            self._say("   (override typed by --override-checkpoint)\n")
            return Answer(CheckpointChoice.OVERRIDE, text=self.override)
        answer = await self._ask("   [r]etry, [a]bort, or [o]verride? ")
        choice = (answer or "a")[:1].lower()
        if choice == "r":
            return Answer(CheckpointChoice.RETRY)
        if choice == "o":
            typed = await self._ask(f"   type '{OVERRIDE_PHRASE}': ")
            return Answer(CheckpointChoice.OVERRIDE, text=typed or "")
        return Answer(CheckpointChoice.ABORT)

    def guarded(self, step: Step) -> list[str]:
        """The destructive steps ``step`` guards (engine/guard_skip.py), by id."""
        from pverunbook.engine.guard_skip import guarded_by

        if self.runbook is None:
            return []
        return [s.id for s in guarded_by(self.runbook, self.index_of(step))]

    async def guard_failed(self, failure: GuardFailure) -> Answer | None:
        """Going past a failed guard: ``--override-guard STEP_ID=REASON`` without a terminal,
        else the phrase and a reason typed here; nothing (None) goes back."""
        step = failure.step
        self._say(f"   ⚠ '{step.id}' {failure.status} and guards the destructive step(s) "
                       f"{', '.join(failure.guarded)}: going past it needs the phrase "
                       f"'{GUARD_OVERRIDE_PHRASE}' and a reason (journaled, in the report)\n")
        if not self.interactive:
            reason = self.guard_overrides.get(step.id)
            if reason is None:
                self._say(f"   (no --override-guard {step.id}=REASON: not skipped)\n")
                return None
            self._say(f"   (override typed by --override-guard {step.id}: {reason})\n")
            return Answer(CheckpointChoice.OVERRIDE, text=GUARD_OVERRIDE_PHRASE, reason=reason)
        typed = await self._ask(f"   type '{GUARD_OVERRIDE_PHRASE}' (anything else: back): ")
        if (typed or "").strip() != GUARD_OVERRIDE_PHRASE:
            return None
        reason = await self._ask("   why is it safe to go on without it? ")
        return Answer(CheckpointChoice.OVERRIDE, text=(typed or "").strip(), reason=reason or "")

    async def unknown_outcome(self, step: Step, why: str = "") -> FailureChoice:
        self._say(f"   step '{step.id}' has no known outcome: "
                       f"{why or 'it was running when the last run stopped'}.\n")
        if not self.interactive and step.kind is StepKind.CHECK and not step.destructive:
            # a check that only reads changed nothing: re-running it is what the operator
            # would answer, and stopping left a headless resume with no way on at all
            self._say("   no terminal to ask: it only reads, so it runs again.\n")
            return FailureChoice.RERUN
        answer = await self._ask("   [r]e-run it, [s]kip it, or [a]bort? ")
        if answer is None:
            self._say("   no terminal to ask: stopping here (nothing re-run); resume it "
                           "at a terminal (or in the app) to choose whether to re-run it, "
                           "skip it or abort.\n")
            return FailureChoice.ABORT
        return {"r": FailureChoice.RERUN, "s": FailureChoice.SKIP}.get(
            answer[:1].lower(), FailureChoice.ABORT)

    async def connection_lost(self, node: str, step: Step) -> bool:
        answer = await self._ask(f"   connection to {node} lost. Reconnect? [Y/n] ")
        return answer is not None and answer.strip().lower() in ("", "y", "yes")


async def read_stdin_line() -> str:
    """One line of stdin ("" at its end), read in a daemon thread of its own.

    ``asyncio.to_thread`` used the loop's default executor, and ``asyncio.run`` waits for that
    executor's threads as it shuts down: Ctrl-C at a typed prompt printed "run interrupted",
    then the process sat in ``readline`` until the operator pressed Enter — it looked hung
    (and a second Ctrl-C did nothing). A daemon thread is left behind at exit instead.
    Raises what ``readline`` raised (OSError, UnicodeDecodeError).
    """
    import threading

    loop = asyncio.get_running_loop()
    fut: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, exc: BaseException | None) -> None:
        if fut.done():
            return  # cancelled meanwhile: nobody waits for this line
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(line or "")

    def read() -> None:
        try:
            line, exc = sys.stdin.readline(), None
        except Exception as e:  # noqa: BLE001 - handed to the waiting coroutine
            line, exc = None, e
        with contextlib.suppress(RuntimeError):  # the loop closed: the run is over
            loop.call_soon_threadsafe(settle, line, exc)

    threading.Thread(target=read, name="pverunbook-stdin", daemon=True).start()
    return await fut
