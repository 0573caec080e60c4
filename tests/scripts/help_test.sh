#!/bin/bash
# unit.scripts_help: the README's two commands explain themselves. --help prints a usage text and
# exits 0 without installing or building anything; demo.sh refuses an unknown argument with one
# line and a pointer to --help (exit 2).
set -uo pipefail
TOP=${1:?usage: help_test.sh SOURCE_DIR}
pass=0 fail=0
check() { if eval "$2"; then echo "PASS - $1"; pass=$((pass + 1)); else echo "FAIL - $1"; fail=$((fail + 1)); fi; }
for s in demo test; do
  out=$("$TOP/scripts/$s.sh" --help 2>&1); rc=$?
  check "$s.sh --help exits 0" '[ $rc = 0 ]'
  check "$s.sh --help prints its usage" 'grep -q "^Usage: scripts/$s.sh" <<<"$out"'
  check "$s.sh --help says to run as root, sudo for others" 'grep -q "as root" <<<"$out" && grep -q "sudo scripts/$s.sh" <<<"$out"'
  check "$s.sh --help says how long it takes" 'grep -Eq "[0-9]+ (minutes|s)" <<<"$out"'
  check "$s.sh --help installs and builds nothing" '! grep -q "^=== setup" <<<"$out"'
done
out=$("$TOP/scripts/demo.sh" --bogus 2>&1); rc=$?
check "demo.sh --bogus exits 2" '[ $rc = 2 ]'
check "demo.sh --bogus names the argument and points to --help" 'grep -q "unknown argument .--bogus." <<<"$out" && grep -q "Try .scripts/demo.sh --help." <<<"$out"'
echo "$pass passed, $fail failed"
[ $fail = 0 ]
