"""Fuzz campaigns with a per-input time bound: nothing that reads outside text is super-linear.

One node printing one line (``x`` then `` 3 1 `` and 40 digits) froze a run for hours: the mtr
parser's regular expression tried every way to cut the digits into numbers. Every reader of
text that comes from outside — node output (each parser, each verdict, each fact rule), the
runbook loader and lint, corosync.conf parse/dump, the QEMU command line, ``when`` and the
CLI's file inputs — runs here on inputs shaped to make regular expressions backtrack
(``prefix + unit × n + suffix``, n up to thousands) and on arbitrary text, each under a hard
time bound (tests/fuzzbound.py). The pytest summary prints how many inputs each campaign ran.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzzbound import bounded, pumped  # noqa: E402

from pverunbook.pve import outputs  # noqa: E402
from pverunbook.pve.facts import FACT_RULES, Observation  # noqa: E402
from pverunbook.pve.verdicts import SPECS, PeerNames, VerdictInput, judge  # noqa: E402

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

OUTPUT_PREFIXES = [
    "", "x\n 3 1 ", " 1. ", "  2.|-- ", "HOST: a  Loss%\n  1.|-- ",
    "Jan  1 00:00:01 h corosync[2]: ",
    "Nov 30 07:20:00 [29919] vm corosync warning [KNET  ] ", "0x00000001 ", "Node ID: ",
    "\t\tnodeid: ", "Members[", "A new membership (1.9) was formed. Members joined: ",
    "message repeated 5 times: [", "rtt min/avg/max/mdev = ", "5 packets transmitted, 5 received",
    "10.0.0.2 via ", "stats.knet.node1.link0.x (u32) = ", "LINK ID 0 ", "totem {\n",
    "a (b) -> ", "R2 (::)  ", "### peer 10.0.0.2\n", "Quorum information\n", "{\"report\": ",
    "2026-01-01T00:00:00+0000 h corosync[1]: ", "   LINK: 0 udp (", "Flags: ", "Qdevice (votes ",
]
output_texts = st.one_of(pumped(OUTPUT_PREFIXES), st.text(max_size=400))


FORTY_DIGITS = "x\n 3 1 " + "9" * 40 + "node3\n"  # froze runs for hours


@settings(FAST, max_examples=300)
@given(output_texts)
@example(FORTY_DIGITS)
def test_output_parsers(text: str) -> None:
    with bounded("output parsers", text):
        outputs.clean(text)
        outputs.parse_quorum_status(text)
        outputs.parse_nodes(text)
        outputs.parse_cfgtool_status(text)
        outputs.parse_cfgtool_nodes(text)
        outputs.knet_link_stats(outputs.parse_cmapctl(text))
        outputs.parse_corosync_log(text, None)
        outputs.parse_mtr(text)
        outputs.parse_ping(text)
        outputs.parse_ip_route_get(text)
        for line in text.splitlines()[:3]:
            outputs.classify(line, cut=True)


@settings(FAST, max_examples=200)
@given(st.sampled_from(sorted(SPECS)), output_texts)
@example("mtr", FORTY_DIGITS)
def test_verdicts_and_fact_rules(verdict: str, text: str) -> None:
    with bounded("verdicts and fact rules", (verdict, text)):
        judge(verdict, {"pve001": VerdictInput(text, "", 0, False, None)}, names=PeerNames())
        rule = FACT_RULES.get(verdict)
        if rule is not None:
            rule(Observation(node="pve001", text=text, exit_status=0, names_by_addr={},
                             names_by_nodeid={}, stderr=""))


RUNBOOK_PREFIXES = [
    'id = "x"\ntitle = "t"\n[[steps]]\nid = "a"\ntitle = "a"\ncommands = ["',
    'id = "x"\ntitle = "t"\n[[steps]]\nid = "a"\ntitle = "a"\ncommands = ["true"]\nwhen = "',
    'id = "x"\ntitle = "t"\n[[params]]\nname = "p"\ntype = "int"\ndefault = ',
    'id = "x"\ntitle = "t"\n[[steps]]\nid = "a"\ntitle = "a"\ncommands = ["rm -rf /etc/pve/',
    'id = "', "[[steps]]\n", "# ",
]


@FAST
@given(st.one_of(pumped(RUNBOOK_PREFIXES, ["", '"]', '"', "\n", "x\"]\n"], 1500),
                 st.text(max_size=400)))
def test_runbook_loader_and_lint(text: str) -> None:
    from pverunbook.runbook.lint import lint
    from pverunbook.runbook.loader import RunbookError, load_text

    with bounded("runbook loader and lint", text):
        try:
            rb = load_text(text, "fuzz.toml")
        except RunbookError:
            return
        lint(rb)


@FAST
@given(st.one_of(pumped(["", "totem {\n", "nodelist {\n node {\n", "a: ", "# ", "{"],
                        ["", "}", "\n}", ": x\n"], 2000), st.text(max_size=400)))
def test_corosync_conf_parse_and_dump(text: str) -> None:
    from pverunbook.pve.corosync_conf import CorosyncParseError, parse, validate

    with bounded("corosync.conf parse/dump", text):
        try:
            conf = parse(text)
        except CorosyncParseError:
            return
        conf.dump()
        validate(conf)


@FAST
@given(st.one_of(pumped(["/usr/bin/kvm -id 100 -drive ", "/usr/bin/kvm -id 100 -device ",
                         "/usr/bin/kvm -id 100 -netdev ", "kvm -id 1 -smp ", "qemu-system-x86_64 ",
                         "/usr/bin/kvm -id 100 -machine ", "ps auxww\nroot 1 0.0 /usr/bin/kvm "],
                        ["", " -m 512", ",if=none", "'", "\\"], 2000), st.text(max_size=400)))
def test_qemu_command_line(text: str) -> None:
    from pverunbook.pve.qemu.argv import find_swtpm, split_all
    from pverunbook.pve.qemu.recover import recover_config

    with bounded("QEMU command line", text):
        find_swtpm(text)
        for argv in split_all(text)[:2]:
            # Which errors are allowed is test_qemu_kinds' business; this campaign bounds time.
            with contextlib.suppress(ValueError):
                recover_config(argv)


@FAST
@given(st.one_of(pumped(["x > ", "p == ", "has(a.b) and ", "(", "not "], ["", ")", " 1"], 1500),
                 st.text(max_size=200)))
def test_when_expressions(text: str) -> None:
    from pverunbook.runbook.when import WhenSyntaxError, parse

    with bounded("when expressions", text), contextlib.suppress(WhenSyntaxError):
        parse(text, ["p", "x"])


_CLI_INPUTS = [
    (["validate", "{f}"], "runbook"),
    (["corosync", "check", "{f}"], "corosync"),
    (["vm-config", "--from-cmdline", "{f}"], "qemu"),
    (["journal", "show", "{f}"], "journal"),
]


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(_CLI_INPUTS), st.one_of(
    st.binary(max_size=300),
    pumped(RUNBOOK_PREFIXES + OUTPUT_PREFIXES[:8] + ["{\"kind\": \"run_started\", "],
           max_repeat=1500).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_cli_file_inputs(command: tuple[list[str], str], data: bytes) -> None:
    """The real CLI on a file of any bytes: an answer (exit 0/1/2/3), never 'could not handle'."""
    from pverunbook.cli import main

    args, _ = command
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "input.jsonl"
        f.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        env = {"PVERUNBOOK_STATE_DIR": str(Path(d) / "state"),
               "PVERUNBOOK_DATA_DIR": str(Path(d) / "data")}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with bounded("CLI file inputs", (args[0], data[:100])), \
                    contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main([a.format(f=f) for a in args])
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    assert rc in (0, 1, 2, 3), (rc, err.getvalue())
    assert "could not handle this input" not in err.getvalue(), err.getvalue()
