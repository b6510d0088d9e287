"""Link downs before corosync-tuning's reload are history; downs after it mean the tuning did not
help. Never corosync-tuning again for either.

corosync logs, on every node, ``Config reload requested by node N`` when ``corosync-cfgtool -R``
reloads corosync.conf (exec/cfg.c message_handler_req_exec_cfg_reload_config), one of its
error lines when the new file is refused (``Unable to reload config file: …``, ``Configuration
is not valid: …``), ``Configuring link N`` when a configuration is made live
(exec/totemconfig.c configure_totem_links: at start and at the end of a successful reload) and
``Corosync Cluster Engine … starting up`` at start (exec/main.c).
"""

from __future__ import annotations

from pverunbook.pve.diagnosis.check import check_diagnose
from pverunbook.pve.facts import Fact, Observation, extract
from pverunbook.pve.outputs.journal import parse_corosync_log

IDS = {1: "a", 2: "b"}


def line(t: str, msg: str, tag: str = "KNET  ") -> str:
    return f"Dec 07 {t} a corosync[812]: [{tag}] {msg}\n"


def downs(start_min: int, n: int) -> str:
    """``n`` knet link downs of host 2 and their recoveries, one a minute from 05:``start``."""
    return "".join(line(f"05:{start_min + i:02d}:10", "link: host: 2 link: 0 is down")
                   + line(f"05:{start_min + i:02d}:14", "rx: host: 2 link: 0 is up")
                   for i in range(n))


RELOAD = (line("05:30:00", "Config reload requested by node 1", "CFG   ")
          + line("05:30:00", "Configuring link 0", "TOTEM "))
REFUSED = (line("05:30:00", "Config reload requested by node 1", "CFG   ")
           + line("05:30:00", "Unable to reload config file: parse error in config: "
                  "Unexpected closing brace", "CFG   "))


def journal(text: str, node: str = "a") -> list[Fact]:
    return extract("corosync-journal", Observation(node, text, 0, {}, IDS))


def test_the_journal_says_where_the_running_configuration_was_loaded() -> None:
    s = parse_corosync_log(downs(10, 6) + RELOAD + downs(40, 2))
    loaded = s.config_loaded()
    assert loaded is not None and loaded.text.endswith("Configuring link 0")
    assert sum(s.link_downs().values()) == 8
    assert sum(s.link_downs_after(loaded.lineno).values()) == 2
    got = {f.name: f for f in journal(downs(10, 6) + RELOAD)}
    assert got["journal.link_down"].value == 6
    assert got["journal.config_loaded"].value == "links configured"
    assert got["journal.link_down_since_config"].value == 0
    assert got["journal.link_down_since_config"].peer == "b"
    # a reload cfg.c refused leaves the old configuration running: no cut there
    assert parse_corosync_log(downs(10, 6) + REFUSED).config_loaded() is None
    assert "journal.config_loaded" not in {f.name for f in journal(downs(10, 6) + REFUSED)}
    # a reload request as the last line (older corosync logs no "Configuring link") counts
    bare = parse_corosync_log(downs(10, 2) + RELOAD.splitlines(keepends=True)[0])
    assert bare.config_loaded() is not None and bare.config_loaded().kind == "config_reload"
    # a start-up is a load too
    start = line("05:29:00", "Corosync Cluster Engine 3.1.7 starting up", "MAIN  ")
    assert parse_corosync_log(downs(10, 2) + start).config_loaded().kind == "startup"


def _after_tuning(log: str, conf_token: int = 5000, running: int = 5000) -> list[Fact]:
    """The check after network-triage, run after corosync-tuning: both nodes quorate, the link
    connected from both ends, ping clean with 100 probes each way, knet read once (triage's
    counters, no two samples), ``log`` as node a's corosync journal of the hour."""
    out = journal(log)
    for x, y in (("a", "b"), ("b", "a")):
        out += [Fact("knet.connected", True, x, y), Fact("quorum.quorate", True, x),
                Fact("ping.loss_pct", 0.0, x, y), Fact("ping.sent", 100, x, y),
                Fact("conf.token_ms", conf_token, x), Fact("corosync.token_ms", running, x)]
    return out


def test_downs_before_the_tuning_reload_are_history_and_propose_no_tuning_again() -> None:
    d = check_diagnose(_after_tuning(downs(10, 6) + RELOAD), nodes=("a", "b"))
    assert not [f for f in d.faults if f.next_runbook is not None
                and f.next_runbook.runbook == "corosync-tuning"], d.faults
    assert "udp-lost-icmp-ok" not in [f.rule for f in d.faults]
    (hist,) = [f for f in d.faults if f.rule == "link-flaps-history"]
    assert hist.severity == "info" and hist.next_runbook is None
    assert hist.statement.startswith("history: the knet link between a and b went down 6 "
                                     "times, all before corosync loaded the configuration")
    assert "Configuring link 0" in hist.statement and "5000 ms" in hist.statement


def test_downs_after_the_tuning_reload_say_it_did_not_help_and_go_to_triage() -> None:
    d = check_diagnose(_after_tuning(downs(10, 6) + RELOAD + downs(40, 3)), nodes=("a", "b"))
    (udp,) = [f for f in d.faults if f.rule == "udp-lost-icmp-ok"]
    assert "the tuning did not help" in udp.statement
    assert "went down 3 times after corosync loaded that configuration" in udp.statement
    assert udp.next_runbook is not None and udp.next_runbook.runbook == "network-triage"
    assert "raised already" in udp.action
    assert "link-flaps-history" not in [f.rule for f in d.faults]


def test_a_tuned_token_without_a_reload_in_the_window_counts_every_down_as_under_it() -> None:
    """No start or reload in the journal's hour: corosync loaded its configuration before it,
    so every down of the hour came with the raised token."""
    d = check_diagnose(_after_tuning(downs(10, 4)), nodes=("a", "b"))
    (udp,) = [f for f in d.faults if f.rule == "udp-lost-icmp-ok"]
    assert "no reload or start in its window" in udp.statement
    assert udp.next_runbook is not None and udp.next_runbook.runbook == "network-triage"


def test_with_the_default_token_a_reload_changes_nothing_and_tuning_is_still_proposed() -> None:
    """A reload for some other change (pmxcfs reloads on every corosync.conf write) is no
    tuning: downs before it still ask for the raised token."""
    d = check_diagnose(_after_tuning(downs(10, 6) + RELOAD, conf_token=3000, running=3000),
                       nodes=("a", "b"))
    (udp,) = [f for f in d.faults if f.rule == "udp-lost-icmp-ok"]
    assert udp.next_runbook is not None and udp.next_runbook.runbook == "corosync-tuning"
    assert "did not help" not in udp.statement


def test_a_token_written_but_not_yet_loaded_is_not_tuned() -> None:
    """corosync.conf says 5000, the running corosync still 3000 (the reload did not reach it):
    the tuning is not in place, so the history rule does not apply."""
    d = check_diagnose(_after_tuning(downs(10, 6) + RELOAD, running=3000), nodes=("a", "b"))
    (udp,) = [f for f in d.faults if f.rule == "udp-lost-icmp-ok"]
    assert udp.next_runbook is not None and udp.next_runbook.runbook == "corosync-tuning"


def test_a_large_cluster_running_the_default_token_is_not_tuned() -> None:
    """Six nodes, token 3000 and token_coefficient 650: the running token is 5600 (totemconfig.c
    totem_volatile_config_read), more than the tuned 5000, yet nothing was tuned."""
    from pverunbook.pve.diagnosis.model import tuned_token
    from pverunbook.pve.facts import FactStore

    store = FactStore([Fact("corosync.token_ms", 5600, "a")])
    assert tuned_token(store, 6) == 0
    assert tuned_token(store, 2) == 5600
    assert tuned_token(FactStore([Fact("corosync.token_ms", 5600, "a"),
                                  Fact("conf.token_ms", 3000, "a")]), 2) == 0


def test_route_fix_cut_off_places_each_nodes_last_down_on_its_own_clock() -> None:
    """The route-fix cut-off compared the run's start with the journal's hour as a whole. With
    the node's clock and UTC offset (the check's clock step, `date -u +%s; date +%z`) the last
    down's stamp (local time, no year) is an instant: before the fix, the downs are the old
    path's; after it, the new path fails too and the token advice stands."""
    from datetime import UTC, datetime

    from tests.unit.pve.test_health_check import _fixed_link

    nodes = ("ryanrishi", "pve001")
    now = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)  # the journal's hour crosses New Year
    fix = ("route-fix", datetime(2027, 1, 1, 0, 5, tzinfo=UTC).timestamp())
    clock = (extract("clock", Observation("ryanrishi", f"{int(now.timestamp())}\n+0100\n", 0))
             + extract("clock", Observation("pve001", f"{int(now.timestamp())}\n+0100\n", 0)))
    assert {f.name: f.value for f in clock} == {"clock.epoch": int(now.timestamp()),
                                                "clock.utc_offset_s": 3600}
    base = [f for f in _fixed_link() if f.name != "corosync.token_ms"] + clock + [
        Fact("corosync.token_ms", 3000, "ryanrishi"),
        Fact("journal.link_down", 7, "ryanrishi", "pve001")]

    def with_last(stamp: str) -> list[Fact]:
        return base + [Fact("journal.last_link_down", stamp, "ryanrishi", "pve001")]

    # 00:58 local (UTC+1) on 1 January = 23:58 UTC on 31 December: before the fix
    (tune,) = check_diagnose(with_last("Jan 01 00:58:00"), nodes=nodes, now=now,
                             path_change=fix).faults
    assert "all before route-fix at 00:05 UTC changed the path (the last on ryanrishi at " \
           "23:58:00 UTC)" in tune.statement
    assert tune.action.startswith("Those downs all came from before route-fix")
    assert tune.next_runbook is not None and tune.next_runbook.runbook == "network-triage"
    # 01:20 local = 00:20 UTC: after the fix, the link of now
    (tune,) = check_diagnose(with_last("Jan 01 01:20:00"), nodes=nodes, now=now,
                             path_change=fix).faults
    assert "also after the path changed (the last on ryanrishi at 00:20:00 UTC)" in \
        tune.statement
    assert tune.next_runbook is not None and tune.next_runbook.runbook == "corosync-tuning"
    # a stamp read without the node's offset cannot be placed: the hour is labelled as before
    no_zone = [f for f in with_last("Jan 01 00:58:00") if f.name != "clock.utc_offset_s"]
    (tune,) = check_diagnose(no_zone, nodes=nodes, now=now, path_change=fix).faults
    assert "counted over the hour before this check" in tune.statement


def test_the_journal_names_the_stamp_of_each_peers_last_down() -> None:
    got = [f for f in journal(downs(10, 6) + RELOAD) if f.name == "journal.last_link_down"]
    assert [(f.node, f.peer, f.value) for f in got] == [("a", "b", "Dec 07 05:15:10")]


def test_a_hand_set_token_retransmit_means_the_tuning_is_not_in_place() -> None:
    """The story's corosync.conf: token 5000 with token_retransmit 1000 (only ~5 retransmits fit
    before the token is lost). corosync-tuning removes token_retransmit, so a raised token next
    to it is not the tuning: the downs still propose it."""
    conf = ("totem {\n  token: 5000\n  token_retransmit: 1000\n"
            "  token_retransmits_before_loss_const: 10\n}\n")
    read = extract("cluster-conf", Observation("a", conf, 0))
    assert {f.name: f.value for f in read}["conf.token_retransmit_ms"] == 1000
    d = check_diagnose(_after_tuning(downs(10, 6) + RELOAD) + read, nodes=("a", "b"))
    (udp,) = [f for f in d.faults if f.rule == "udp-lost-icmp-ok"]
    assert udp.next_runbook is not None and udp.next_runbook.runbook == "corosync-tuning"


def test_the_check_without_a_measurement_says_the_old_downs_came_before_the_reload() -> None:
    """No triage since the tuning: the link is connected and every node quorate, so the
    journal's downs are history in the healthy summary — which says they came before corosync
    loaded the raised token."""
    calm = [f for f in _after_tuning(downs(10, 6) + RELOAD) if not f.name.startswith("ping.")]
    d = check_diagnose(calm, nodes=("a", "b"))
    assert d.faults == ()
    (line,) = [h for h in d.healthy if h.startswith("link a ↔ b")]
    assert "went down 6 times in the last hour, all before corosync loaded the configuration " \
           "it runs now (links configured on a, line " in line
    assert line.endswith("corosync runs a token of 5000 ms")


def test_a_link_still_losing_packets_under_the_raised_token_is_not_tuned_again() -> None:
    lossy = [Fact("ping.loss_pct", 20.0, x, y) if f.name == "ping.loss_pct" else f
             for f in _after_tuning(downs(10, 6) + RELOAD + downs(40, 3))
             for x, y in [(f.node, f.peer)]]
    (loss,) = [f for f in check_diagnose(lossy, nodes=("a", "b")).faults
               if f.rule == "lossy-link"]
    assert "raised token of 5000 ms: the tuning did not help" in loss.statement
    assert loss.next_runbook is None
    assert [(m.node, m.command) for m in loss.manual] == [("a", "ip -s link"), ("b", "ip -s link")]
    # the same loss with the default token: raise it first
    default = [Fact(f.name, 3000, f.node) if f.name.endswith("token_ms") else f for f in lossy]
    (loss,) = [f for f in check_diagnose(default, nodes=("a", "b")).faults
               if f.rule == "lossy-link"]
    assert loss.next_runbook is not None and loss.next_runbook.runbook == "corosync-tuning"
