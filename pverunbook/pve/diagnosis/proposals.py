"""One setting per runbook: when faults propose the same runbook with values that differ,
the diagnosis names it once the way that fixes them all.

On a wiped database the health check found node certificates missing (``cert-missing``:
certificate-regeneration with ``force = false``) and the cluster CA missing (``ca-missing``:
``force = true``), and named the runbook both ways, the plain way first. Run the plain way,
``pvecm updatecerts`` makes a new CA on each node that has none and leaves the certificates it
finds alone; the nodes then disagree on their CA and their certificates stop verifying.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from pverunbook.pve.diagnosis.model import Fault, NextRunbook

#: (runbook, parameter) → the value whose run does everything the other values do, and more.
#: certificate-regeneration ``force = true`` runs ``pvecm updatecerts --force``: besides what
#: plain ``updatecerts`` does (the CA where none is, the node's directory, key and
#: certificate where missing), it issues every node certificate again, signed by the CA of
#: now (pve-cluster src/PVE/Cluster/Setup.pm ``updatecerts_and_ssh`` → ``gen_pve_ssl_cert``
#: with ``$force``; pvecm(1) ``updatecerts --force``).
COVERING: Mapping[tuple[str, str], bool | int | float | str] = {
    ("certificate-regeneration", "force"): True,
}


def covering(runbook: str) -> NextRunbook:
    """``runbook`` proposed with every covering value (:data:`COVERING`), for a fault whose
    right value depends on what only some runs read.

    A missing /etc/pve/nodes/<node> (``pmxcfs-node-dir-missing``) is found by the health check
    and by network-triage alike, but only the check reads the CA and the certificates: on a
    wiped database the check named certificate-regeneration with ``force = true`` (the CA is
    gone too) and network-triage's summary, for the same cluster, ``force = false``. Proposed
    with the covering value, the directory's fault reads the same in every diagnosis; the node's
    key and certificate lived in that directory, so they are issued again either way."""
    return NextRunbook(runbook, {k: v for (rb, k), v in COVERING.items() if rb == runbook})


def one_setting_per_runbook(faults: Sequence[Fault]) -> list[Fault]:
    """``faults`` with every proposal of a runbook given the covering value of a parameter
    (:data:`COVERING`) as soon as one of them proposes it; the rest unchanged, in order."""
    covered: dict[str, dict[str, bool | int | float | str]] = {}
    for f in faults:
        nr = f.next_runbook
        if nr is None:
            continue
        for (runbook, key), value in COVERING.items():
            if nr.runbook == runbook and nr.params.get(key) == value:
                covered.setdefault(runbook, {})[key] = value
    out: list[Fault] = []
    for f in faults:
        nr = f.next_runbook
        extra = covered.get(nr.runbook) if nr is not None else None
        if nr is None or not extra or all(nr.params.get(k) == v for k, v in extra.items()):
            out.append(f)
            continue
        out.append(replace(f, next_runbook=NextRunbook(nr.runbook, {**nr.params, **extra})))
    return out
