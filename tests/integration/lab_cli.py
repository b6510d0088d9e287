"""``scripts/testbed``: build the lab (:mod:`tests.integration.lab`) and leave it running, inject
a fault into it, tear it down: the same lab the tests use, by hand."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.integration.bed import BedError
from tests.integration.lab import DEFAULT_VERSION, QNETD_ADDR, VERSIONS, Lab, lab_missing


def usage_text(lab: Lab) -> str:
    sw, first = lab.switch_ns, lab.nodes[0].name
    return f"""\
lab up: {len(lab.nodes)} nodes of real corosync + pmxcfs {lab.version} + sshd in {lab.dir}
  cluster {lab.cluster}: {", ".join(f"{n.name} {n.addr}" for n in lab.nodes)}\
{f"; QNetd {QNETD_ADDR}" if lab.qnetd else ""}
The nodes are reachable only from the switch namespace {sw}:
  ip netns exec {sw} ssh -F {lab.ssh_config} {first}
  ip netns exec {sw} ssh -F {lab.ssh_config} {first} pvecm status
  ip netns exec {sw} env HOME={lab.home} python3 -m pverunbook run network-triage \\
      --cluster {lab.inventory} --headless --confirm {lab.cluster}
A node's own view without SSH:  nsenter -t {lab.nodes[0].init_pid} -n -m -u -- ls /etc/pve
Logs: {lab.dir}/<node>/log/corosync.log, {lab.dir}/<node>/log-pve/pmxcfs.log
Faults:    scripts/testbed fault {lab.dir} drop|cut A B [--percent P] | heal
Tear down: scripts/testbed down {lab.dir}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/testbed",
        description="a lab of real corosync + pmxcfs + sshd nodes in network namespaces")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build a lab and leave it running")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--names", help="comma-separated node names (default alpha,bravo,...)")
    up.add_argument("--cluster", default="lab", help="the cluster name (default lab)")
    up.add_argument("--pmxcfs", choices=VERSIONS, default=DEFAULT_VERSION)
    up.add_argument("--qnetd", action="store_true", help="also a QNetd host")
    up.add_argument("--dir", type=Path, help="where to keep it (default: a new temp dir)")
    down = sub.add_parser("down", help="tear a lab down")
    down.add_argument("dir", type=Path)
    fault = sub.add_parser("fault", help="inject a fault between two nodes, or heal all")
    fault.add_argument("dir", type=Path)
    fault.add_argument("kind", choices=["drop", "cut", "cut-off", "heal", "restore"])
    fault.add_argument("nodes", nargs="*")
    fault.add_argument("--percent", type=int, default=15)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            why = lab_missing(args.pmxcfs, args.qnetd)
            if why is not None:
                print(f"error: the lab {why}", file=sys.stderr)
                return 2
            import tempfile

            names = args.names.split(",") if args.names else []
            directory = args.dir or Path(tempfile.mkdtemp(prefix="pverunbook-lab-"))
            lab = Lab(dir=directory.resolve(), size=len(names) or args.nodes,
                      version=args.pmxcfs, cluster=args.cluster, names=names,
                      qnetd=args.qnetd)
            try:
                lab.up()
            except BaseException:
                lab.down()
                raise
            print(usage_text(lab))
            return 0
        lab = Lab.load(args.dir.resolve())
        if args.cmd == "down":
            lab.down()
            shutil.rmtree(lab.dir, ignore_errors=True)
            print(f"lab in {lab.dir} is down")
            return 0
        if args.kind == "drop":
            lab.drop(args.nodes[0], args.nodes[1], args.percent)
        elif args.kind == "cut":
            lab.cut(args.nodes[0], args.nodes[1])
        elif args.kind == "cut-off":
            lab.cut_off(args.nodes[0])
        elif args.kind == "heal":
            lab.heal()
        else:
            lab.restore()
        return 0
    except (BedError, KeyError, IndexError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: lab: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
