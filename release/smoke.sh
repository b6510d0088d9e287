#!/bin/sh
# Smoke test of an installed or single-file pverunbook, with nothing but POSIX sh and coreutils
# (it also runs inside a bare Debian root). Usage: smoke.sh LABEL COMMAND...
#   smoke.sh debian12-pex /usr/bin/python3 dist/pverunbook.pex
#   smoke.sh debian13-deb pverunbook
# Checks: --version; `validate` of the shipped runbooks; a headless rehearsal of network-triage
# to its end (a simulated cluster over real SSH on 127.0.0.1, so it runs with no network);
# no deprecation warning printed; no temporary state directory left behind.
# Prints one line per check and exits non-zero on the first failure. SMOKE_REHEARSAL=0 skips
# the rehearsal (for a second copy of a file already rehearsed).
set -u
label="$1"
shift
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/tmp"
export TMPDIR="$work/tmp" PVERUNBOOK_STATE_DIR="$work/state" PEX_ROOT="$work/pex-root"
export HOME="$work" NO_COLOR=1

fail() {
  echo "smoke[$label]: FAILED: $1"
  [ -n "${2:-}" ] && sed 's/^/    /' "$2" | tail -n 40
  exit 1
}

"$@" --version >"$work/version" 2>&1 || fail "--version exited $?" "$work/version"
grep -q '^pverunbook ' "$work/version" || fail "--version printed no version" "$work/version"
echo "smoke[$label]: --version: $(head -n 1 "$work/version"); $(sed -n 2p "$work/version");" \
  "$(sed -n 3p "$work/version" | cut -d' ' -f1-2)"

"$@" validate >"$work/validate" 2>&1 || fail "validate exited $?" "$work/validate"
n="$(grep -c ': ok (' "$work/validate")"
[ "$n" -ge 6 ] || fail "validate checked only $n runbooks" "$work/validate"
echo "smoke[$label]: validate: $n shipped runbooks ok"

if [ "${SMOKE_REHEARSAL:-1}" = 0 ]; then
  echo "smoke[$label]: ok (rehearsal not repeated: the same file was rehearsed above)"
  exit 0
fi

start="$(date +%s)"
rc=0
"$@" rehearse network-triage --headless --confirm nyc >"$work/rehearse" 2>&1 </dev/null || rc=$?
took=$(( $(date +%s) - start ))
# 0: every check passed; 3: the run completed and some checks failed (the cluster is broken)
case "$rc" in 0|3) ;; *) fail "rehearsal exited $rc" "$work/rehearse" ;; esac
end="$(grep '^== run ' "$work/rehearse" | tail -n 1)"
# the story's broken cluster: every step runs, the findings are critical (exit 3)
case "$end" in "== run completed"*|"== run ok — findings"*) ;; *) fail "rehearsal did not reach its end" "$work/rehearse" ;; esac
warnings="$(grep -c -i 'Deprecation\|Warning:' "$work/rehearse")"
[ "$warnings" = 0 ] || fail "$warnings warning line(s) printed" "$work/rehearse"
steps="$(grep -c '^-- step ' "$work/rehearse")"
left="$(find "$TMPDIR" -mindepth 1 -maxdepth 1 | wc -l)"
[ "$left" = 0 ] || fail "left $left file(s) in TMPDIR: $(ls "$TMPDIR")"
echo "smoke[$label]: rehearsal of network-triage: ${end#== run } (exit $rc, $steps steps" \
  "reported, ${took}s), no warnings, nothing left in TMPDIR"
echo "smoke[$label]: ok"
