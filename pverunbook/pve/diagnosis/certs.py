"""Certificate rules: the node certificate (``pve-ssl.pem``) missing, expired or expiring.

Source: pvecm updatecerts (pvecm.pm, Cluster/Setup.pm), domain notes §5; openssl-x509(1).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pverunbook.pve.diagnosis.model import Context, Fault, NextRunbook, ev

_CERT_FORMATS = ("%b %d %H:%M:%S %Y %Z", "%b %d %H:%M:%S %Y GMT", "%b %d %H:%M:%S %Y")


def _parse_not_after(text: str) -> datetime | None:
    cleaned = " ".join(text.split())
    for pattern in _CERT_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def certificates(ctx: Context) -> list[Fault]:
    """Missing or expired node certificate (pvecm updatecerts, domain notes §5)."""
    store, now = ctx.store, ctx.now
    out = []
    for f in store.named("cert.present"):
        if f.value is False and f.node:
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

