#!/usr/bin/env bash
# CI for the offline artifacts (called by .ci/run): build dist/pverunbook.pex and the .deb,
# prove the pex is reproducible, and smoke-test them where they will run, with no network:
#   - Debian 12's own python3.11 (Proxmox VE 8), in an empty network namespace;
#   - a Debian 13 (trixie) root made with debootstrap from Debian's packages (python3.13,
#     Proxmox VE 9), in an empty network namespace: the pex, then `dpkg -i` of the .deb.
# Then a report (never a failure) of a fast subset of the tests run against the newest
# dependency versions pyproject.toml allows, so the next incompatible release is seen before a
# user sees it. What only waits (debootstrap, the newest versions' install, a rehearsal) runs
# side by side. Everything it makes stays in build/, dist/ or a temporary directory it removes.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
work="$(mktemp -d)"
export PIP_CACHE_DIR="$work/pip-cache"  # nothing is cached outside the clone and this temp dir
root="$work/trixie"
pids=()
cleanup() {
  if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

am_root=0
[ "$(id -u)" = 0 ] && am_root=1
if [ "$am_root" = 1 ] && command -v apt-get >/dev/null 2>&1 && ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# In the background from the start: the Debian 13 root, and the newest allowed versions in
# their own venv (seeing the locked ones installed, it fetches only what is newer).
boot_pid=""
if [ "$am_root" = 1 ] && command -v debootstrap >/dev/null 2>&1; then
  debootstrap --variant=minbase --include=python3 trixie "$root" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 &
  boot_pid=$!
  pids+=("$boot_pid")
fi
newest="$work/newest"
( python3 -m venv --system-site-packages "$newest" &&
  "$newest/bin/pip" install -q --upgrade --upgrade-strategy eager -e '.[test]' ) \
  >"$work/newest-install.log" 2>&1 &
newest_pid=$!
pids+=("$newest_pid")

echo "dist: building the pex and the .deb"
python3 release/build_dist.py 2>"$work/build.log" | tee "$work/sums" || {
  tail -n 40 "$work/build.log"; exit 1; }
pex_sum="$(grep '  dist/pverunbook.pex ' "$work/sums" | cut -d' ' -f1)"
deb="$(grep -o 'dist/pverunbook_[^ ]*_amd64.deb' "$work/sums")"
python3 release/build_dist.py --no-deb 2>>"$work/build.log" >"$work/sums2" || {
  tail -n 40 "$work/build.log"; exit 1; }
pex_sum2="$(grep '  dist/pverunbook.pex ' "$work/sums2" | cut -d' ' -f1)"
if [ -z "$pex_sum" ] || [ "$pex_sum" != "$pex_sum2" ]; then
  echo "dist: NOT reproducible: two builds of the pex gave $pex_sum and $pex_sum2"
  exit 1
fi
echo "dist: reproducible: two builds of the pex have sha256 $pex_sum ($((SECONDS - t0))s)"

# Smoke test on this machine's Debian python3.11 (the system one, not a development venv),
# side by side with the one in the Debian 13 root.
py311=/usr/bin/python3.11
smoke12=""
if [ ! -x "$py311" ]; then
  echo "smoke[debian12-pex]: SKIPPED: no $py311 (Debian 12's python3.11) on this machine"
elif [ "$am_root" = 1 ] && command -v unshare >/dev/null 2>&1; then
  unshare -n sh -c "ip link set lo up && sh release/smoke.sh debian12-pex $py311 dist/pverunbook.pex" \
    >"$work/smoke12" 2>&1 &
  smoke12=$!
else
  echo "smoke[debian12-pex]: (not root: run with the network present)"
  sh release/smoke.sh debian12-pex "$py311" dist/pverunbook.pex >"$work/smoke12" 2>&1 &
  smoke12=$!
fi
[ -z "$smoke12" ] || pids+=("$smoke12")

status13=0
if [ -z "$boot_pid" ]; then
  echo "smoke[debian13]: SKIPPED: needs root and debootstrap to make a Debian 13 root"
elif ! wait "$boot_pid"; then
  tail -n 20 "$work/debootstrap.log"
  echo "smoke[debian13]: FAILED: debootstrap of trixie failed (log above)"
  status13=1
else
  cp dist/pverunbook.pex "$deb" release/smoke.sh "$root/"
  mount -t proc proc "$root/proc"
  echo "smoke[debian13]: $(chroot "$root" python3 --version) in a trixie root, no network"
  unshare -n sh -c "ip link set lo up && chroot '$root' sh /smoke.sh debian13-pex python3 /pverunbook.pex" ||
    status13=1
  if ! unshare -n sh -c "chroot '$root' dpkg -i '/$(basename "$deb")'" >"$work/dpkg.log" 2>&1; then
    cat "$work/dpkg.log"; echo "smoke[debian13-deb]: FAILED: dpkg -i"; status13=1
  elif ! chroot "$root" sh -c 'test -x /usr/bin/pverunbook && test -s /usr/share/man/man1/pverunbook.1.gz'; then
    echo "smoke[debian13-deb]: FAILED: /usr/bin/pverunbook or its man page missing"; status13=1
  else
    echo "smoke[debian13-deb]: dpkg -i: $(chroot "$root" dpkg-query -W -f '${Package} ${Version}, Depends: ${Depends}' pverunbook)"
    unshare -n sh -c "ip link set lo up && SMOKE_REHEARSAL=0 chroot '$root' sh /smoke.sh debian13-deb pverunbook" ||
      status13=1
  fi
  umount "$root/proc"
fi
status12=0
if [ -n "$smoke12" ]; then
  wait "$smoke12" || status12=1
  cat "$work/smoke12"
fi
if [ "$status12" != 0 ] || [ "$status13" != 0 ]; then
  echo "dist: the smoke test FAILED (above)"
  exit 1
fi
echo "dist: artifacts built and smoke-tested in $((SECONDS - t0))s"

# Report only: the newest versions pyproject.toml allows, on a fast subset of the tests.
t1=$SECONDS
if wait "$newest_pid"; then
  changed="$("$newest/bin/python" - <<'PY'
import re
import sys
from importlib import metadata
lock = {}
for line in open("requirements/test.txt"):
    m = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
    if m:
        lock[m.group(1).lower().replace("_", "-")] = m.group(2)
out = []
for name, pinned in sorted(lock.items()):
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        continue
    if have != pinned:
        out.append(f"{name} {pinned} -> {have}")
print(", ".join(out) or "none (the lock is at the newest versions)")
PY
)"
  echo "newest-deps: newer than the lock: $changed"
  # Where a new release broke or could break us: TOML positions (tomlkit), the warning filter and
  # --version (cryptography, asyncssh), the loader and inventory errors.
  subset=(tests/unit/test_no_traceback.py tests/unit/test_loader.py tests/unit/test_about.py
          tests/unit/test_inventory_errors.py)
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
  grep -v '^WARNING: Location' "$work/newest-install.log" | tail -n 5 | sed 's/^/    /'
fi
echo "newest-deps: report took $((SECONDS - t1))s more; all of this: $((SECONDS - t0))s"
