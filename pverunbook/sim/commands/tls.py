"""TLS on the rehearsal nodes: ``openssl`` (x509, verify, pkey, s_client) and whether
pveproxy serves at all (:func:`web_ok`, read by ``curl``). Certificates are real
(:mod:`pverunbook.sim.certs`), so fingerprints, ``verify`` and key/certificate pairs behave as
on a node.
"""

from __future__ import annotations

from pverunbook.sim import certs
from pverunbook.sim.node import SimNode
from pverunbook.sim.shell.executor import Ctx, UsageError, command


@command("openssl")
async def c_openssl(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if not args:
        raise UsageError("openssl: interactive mode is not available in the rehearsal", 1)
    if args[0] == "version":
        await ctx.out("OpenSSL 3.0.15 3 Sep 2024 (Library: OpenSSL 3.0.15 3 Sep 2024)\n")
        return 0
    if args[0] == "s_client":
        return await _s_client(ctx)
    if args[0] == "verify":
        return await _verify(ctx, args[1:])
    if args[0] == "pkey":
        return await _pkey(ctx, args[1:])
    if args[0] != "x509":
        raise UsageError(f"Invalid command '{args[0]}'; type \"help\" for a list.", 1)
    rest = args[1:]
    infile = None
    wanted: list[str] = []
    checkend: int | None = None
    k = 0
    while k < len(rest):
        a = rest[k]
        if a == "-in":
            infile = rest[k + 1]
            k += 2
            continue
        if a == "-checkend":
            checkend = int(rest[k + 1])
            k += 2
            continue
        if a in ("-subject", "-issuer", "-enddate", "-startdate", "-serial", "-fingerprint",
                 "-pubkey"):
            wanted.append(a[1:])
        elif a == "-dates":
            wanted += ["startdate", "enddate"]
        elif a == "-text":
            wanted += ["subject", "issuer", "startdate", "enddate", "serial"]
        k += 1
    data = await _read_in(ctx, infile, "certificate")
    if data is None:
        return 1
    try:
        fields = certs.x509_fields(data)
    except ValueError:
        await ctx.err("Could not read certificate from " + (infile or "<stdin>") + "\n"
                      "Unable to load certificate\n")
        return 1
    for w in wanted:
        # -pubkey prints the certificate's public key (PEM) in the order the options came
        await ctx.out(certs.cert_public_pem(data).decode() if w == "pubkey"
                      else fields[w] + "\n")
    if not wanted and checkend is None and "-noout" not in rest:
        await ctx.out(data.decode())
    if checkend is not None:
        ok = float(fields["_expires"]) > ctx.world.clock.now() + checkend
        await ctx.out("Certificate will not expire\n" if ok else "Certificate will expire\n")
        return 0 if ok else 1
    return 0


async def _pkey(ctx: Ctx, rest: list[str]) -> int:
    """``openssl pkey -pubout -in KEY``: the public half of a private key (PEM)."""
    infile = rest[rest.index("-in") + 1] if "-in" in rest[:-1] else None
    data = await _read_in(ctx, infile, "key")
    if data is None:
        return 1
    try:
        pub = certs.public_pem(data)
    except (ValueError, TypeError):
        await ctx.err("Could not read key from " + (infile or "<stdin>") + "\n")
        return 1
    if "-pubout" in rest:
        await ctx.out(pub.decode())
    elif "-noout" not in rest:
        await ctx.out(data.decode())
    return 0


async def _verify(ctx: Ctx, rest: list[str]) -> int:
    """``openssl verify -CAfile CA CERT...``: ``CERT: OK`` (exit 0) when CA signed CERT and
    both are valid now, otherwise the error lines of openssl 3.0 apps/verify.c (exit 2):
    error 20 (issuer not the CA), 7 (bad signature), 10 (expired)."""
    cafile = ""
    files: list[str] = []
    k = 0
    while k < len(rest):
        if rest[k] == "-CAfile" and k + 1 < len(rest):
            cafile, k = rest[k + 1], k + 2
            continue
        if not rest[k].startswith("-"):
            files.append(rest[k])
        k += 1
    ca: bytes | None = None
    if cafile:
        try:
            ca = ctx.fs.read_bytes(cafile, ctx.cwd)
        except OSError as exc:
            await ctx.err(f"Error loading file {cafile}\n{_ossl_err(exc.strerror)}")
            return 2
    status = 0
    for f in files:
        try:
            pem = ctx.fs.read_bytes(f, ctx.cwd)
        except OSError as exc:
            await ctx.err(f"Could not open file or uri for loading certificate from {f}\n"
                          f"{_ossl_err(exc.strerror)}")
            status = 2
            continue
        problem = certs.verify_problem(pem, ca, ctx.world.clock.now())
        if problem is None:
            await ctx.out(f"{f}: OK\n")
            continue
        await ctx.err(f"{problem}\nerror {f}: verification failed\n")
        status = 2
    return status


async def _read_in(ctx: Ctx, infile: str | None, what: str) -> bytes | None:
    """``-in FILE``, or stdin without one; None once openssl's error for it is written."""
    try:
        return ctx.fs.read_bytes(infile, ctx.cwd) if infile else await ctx.stdin.read_all()
    except OSError as exc:
        await ctx.err(f"Could not open file or uri for loading {what} from {infile}\n"
                      f"{_ossl_err(exc.strerror)}")
        return None


def _ossl_err(msg: str | None) -> str:
    return (f"40F7A2C1E07F0000:error:80000002:system library:file_open:{msg}:"
            "../providers/implementations/storemgmt/file_store.c:267:calling stat(...)\n")


def web_ok(node: SimNode) -> bool:
    return node.units["pveproxy"].state == "active" and node.pveproxy_cert_ok \
        and node.pmxcfs.mount == "mounted"


async def _s_client(ctx: Ctx) -> int:
    node = ctx.node
    if not web_ok(node):
        await ctx.err("40C7E8A1A67F0000:error:0A000126:SSL routines:ssl3_read_n:unexpected eof "
                      "while reading:../ssl/record/rec_layer_s3.c:317:\n")
        return 1
    pem = node.fs.read_bytes("/etc/pve/local/pve-ssl.pem")
    f = certs.x509_fields(pem)
    await ctx.out(f"CONNECTED(00000003)\n---\nCertificate chain\n 0 s:{f['subject'][8:]}\n"
                  f"   i:{f['issuer'][7:]}\n---\nServer certificate\n{pem.decode()}---\n")
    return 0
