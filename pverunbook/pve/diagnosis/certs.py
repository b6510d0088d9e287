"""Certificate rules: the node certificate (``pve-ssl.pem``) missing, expired or expiring.

Source: pvecm updatecerts (pvecm.pm, Cluster/Setup.pm), domain notes §5; openssl-x509(1).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pverunbook.pve.diagnosis.model import Context, Fault, NextRunbook, ev
from pverunbook.pve.facts import FactStore

_CERT_FORMATS = ("%b %d %H:%M:%S %Y %Z", "%b %d %H:%M:%S %Y GMT", "%b %d %H:%M:%S %Y")


def _parse_not_after(text: str) -> datetime | None:
    cleaned = " ".join(text.split())
    for pattern in _CERT_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def pve_unreadable(store: FactStore, node: str | None) -> bool:
    """/etc/pve cannot be read on ``node`` (pmxcfs not mounted, a dead FUSE mount, reads
    hang): its certificate files are not "missing" there, the mount is the fault (its own
    rule names it). Seen on the lab: a node whose pmxcfs could not load its database was
    also reported as missing the cluster CA and its certificate."""
    return (store.value("pve.mounted", node) is False
            or store.value("pve.enotconn", node) is True
            or store.value("pve.read_hung", node) is True)


def certificates(ctx: Context) -> list[Fault]:
    """Missing or expired node certificate (pvecm updatecerts, domain notes §5)."""
    store, now = ctx.store, ctx.now
    out = []
    for f in store.named("cert.present"):
        if f.value is False and f.node and not pve_unreadable(store, f.node):
            out.append(Fault(
                "cert-missing", f"{f.node} has no node certificate (pve-ssl.pem)",
                "critical", "high",
                f"Regenerate it on {f.node} with `pvecm updatecerts` (needs quorum), then "
                "restart pveproxy.", (ev(f, f"{f.node}: {f.evidence}"),),
                NextRunbook("certificate-regeneration", {"force": False}), (), (f.node,)))
    for f in store.named("cert.not_after"):
        if not f.node:
            continue
        when = _parse_not_after(str(f.value))
        expiring = store.value("cert.expiring", f.node) is True
        expired = when is not None and now is not None and when <= now
        soon = when is not None and now is not None and (when - now).days < 30
        if expired or soon or expiring:
            state = "expired" if expired else "expires soon"
            out.append(Fault(
                "cert-expired", f"the node certificate of {f.node} {state} ({f.value})",
                "critical" if expired else "warning", "high",
                f"Renew it on {f.node}: `pvecm updatecerts --force`, then restart pveproxy.",
                (ev(f, f"{f.node}: notAfter={f.value}"),),
                NextRunbook("certificate-regeneration", {"force": True}), (), (f.node,)))
    return out

