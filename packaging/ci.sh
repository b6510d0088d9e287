#!/usr/bin/env bash
# CI for the offline artifacts (called by .ci/run): build dist/pverunbook.pex and the .deb,
# prove the pex is reproducible, and smoke-test them where they will run, with no network:
#   - Debian 12's own python3.11 (Proxmox VE 8), in an empty network namespace;
#   - a Debian 13 (trixie) root made with debootstrap from Debian's packages (python3.13,
#     Proxmox VE 9), in an empty network namespace: the pex, then `dpkg -i` of the .deb.
# Then a report (never a failure) of the subset of tests run against the newest dependency
# versions pyproject.toml allows, so the next incompatible release is seen before a user sees it.
# Everything it makes stays in build/, dist/ or a temporary directory it removes.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
work="$(mktemp -d)"
root="$work/trixie"
cleanup() {
  if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || true; fi
  if [ -n "${boot_pid:-}" ]; then kill "$boot_pid" 2>/dev/null || true; wait "$boot_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

am_root=0
[ "$(id -u)" = 0 ] && am_root=1
if [ "$am_root" = 1 ] && command -v apt-get >/dev/null 2>&1 && ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The Debian 13 root is made while the artifacts build (it needs only the network).
boot_pid=""
if [ "$am_root" = 1 ] && command -v debootstrap >/dev/null 2>&1; then
  debootstrap --variant=minbase --include=python3 trixie "$root" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 &
  boot_pid=$!
fi

echo "dist: building the pex and the .deb"
python3 packaging/build_dist.py 2>"$work/build.log" | tee "$work/sums" || {
  tail -n 40 "$work/build.log"; exit 1; }
pex_sum="$(grep '  dist/pverunbook.pex ' "$work/sums" | cut -d' ' -f1)"
deb="$(grep -o 'dist/pverunbook_[^ ]*_amd64.deb' "$work/sums")"
python3 packaging/build_dist.py --no-deb 2>>"$work/build.log" >"$work/sums2" || {
  tail -n 40 "$work/build.log"; exit 1; }
pex_sum2="$(grep '  dist/pverunbook.pex ' "$work/sums2" | cut -d' ' -f1)"
if [ -z "$pex_sum" ] || [ "$pex_sum" != "$pex_sum2" ]; then
  echo "dist: NOT reproducible: two builds of the pex gave $pex_sum and $pex_sum2"
  exit 1
fi
echo "dist: reproducible: two builds of the pex have sha256 $pex_sum"

# Smoke test on this machine's Debian python3.11 (the system one, not a development venv).
py311=/usr/bin/python3.11
if [ ! -x "$py311" ]; then
  echo "smoke[debian12-pex]: SKIPPED: no $py311 (Debian 12's python3.11) on this machine"
elif [ "$am_root" = 1 ] && command -v unshare >/dev/null 2>&1; then
  unshare -n sh -c "ip link set lo up && sh packaging/smoke.sh debian12-pex $py311 dist/pverunbook.pex"
else
  echo "smoke[debian12-pex]: (not root: run with the network present)"
  sh packaging/smoke.sh debian12-pex "$py311" dist/pverunbook.pex
fi

if [ -z "$boot_pid" ]; then
  echo "smoke[debian13]: SKIPPED: needs root and debootstrap to make a Debian 13 root"
else
  if ! wait "$boot_pid"; then
    boot_pid=""
    tail -n 20 "$work/debootstrap.log"
    echo "smoke[debian13]: FAILED: debootstrap of trixie failed (log above)"
    exit 1
  fi
  boot_pid=""
  cp dist/pverunbook.pex "$deb" packaging/smoke.sh "$root/"
  mount -t proc proc "$root/proc"
  echo "smoke[debian13]: $(chroot "$root" python3 --version) in a trixie root, no network"
  unshare -n sh -c "ip link set lo up && chroot '$root' sh /smoke.sh debian13-pex python3 /pverunbook.pex"
  unshare -n sh -c "chroot '$root' dpkg -i '/$(basename "$deb")'" >"$work/dpkg.log" 2>&1 || {
    cat "$work/dpkg.log"; echo "smoke[debian13-deb]: FAILED: dpkg -i"; exit 1; }
  chroot "$root" sh -c 'test -x /usr/bin/pverunbook && test -s /usr/share/man/man1/pverunbook.1.gz' || {
    echo "smoke[debian13-deb]: FAILED: /usr/bin/pverunbook or its man page missing"; exit 1; }
  echo "smoke[debian13-deb]: dpkg -i: $(chroot "$root" dpkg-query -W -f '${Package} ${Version}, Depends: ${Depends}' pverunbook)"
  unshare -n sh -c "ip link set lo up && SMOKE_REHEARSAL=0 chroot '$root' sh /smoke.sh debian13-deb pverunbook"
  umount "$root/proc"
fi
echo "dist: artifacts built and smoke-tested in $((SECONDS - t0))s"

# Report only: the newest versions pyproject.toml allows, in a separate venv, on a fast subset.
t1=$SECONDS
newest="$work/newest"
if python3 -m venv "$newest" >/dev/null 2>&1 &&
   "$newest/bin/pip" install -q --upgrade -e '.[test]' >"$work/newest-install.log" 2>&1; then
  changed="$("$newest/bin/python" - <<'PY'
import re
from importlib import metadata
lock = {}
for line in open("requirements/test.txt"):
    m = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
    if m:
        lock[m.group(1).lower().replace("_", "-")] = m.group(2)
out = []
for dist in metadata.distributions():
    name = dist.metadata["Name"].lower().replace("_", "-")
    if name in lock and lock[name] != dist.version:
        out.append(f"{name} {lock[name]} -> {dist.version}")
print(", ".join(sorted(out)) or "none (the lock is at the newest versions)")
PY
)"
  echo "newest-deps: newer than the lock: $changed"
  subset=(tests/unit/test_no_traceback.py tests/unit/test_loader.py tests/unit/test_cli.py
          tests/unit/test_about.py tests/unit/test_when.py tests/unit/test_inventory_errors.py)
  if "$newest/bin/python" -m pytest -q -p no:cacheprovider "${subset[@]}" \
       >"$work/newest.log" 2>&1; then
    echo "newest-deps: the fast subset (${#subset[@]} test files) passes with them"
  else
    echo "newest-deps: BREAKS with the newest versions (report only, CI goes on):"
    grep -E '^(FAILED|ERROR) ' "$work/newest.log" | head -n 15 | sed 's/^/    /'
    echo "newest-deps: pytest's summary: $(tail -n 1 "$work/newest.log" | tr -d '=')"
  fi
else
  echo "newest-deps: could not install the newest versions (report only):"
  tail -n 5 "$work/newest-install.log" | sed 's/^/    /'
fi
echo "newest-deps: report took $((SECONDS - t1))s"
