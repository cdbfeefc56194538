#!/bin/bash
# Runs a command and fails if it changed a file git tracks or left a new
# file git does not ignore: `make run` runs the quickstart through it, so a
# run that wrote into the shipped results/ (instead of the user's runs/)
# is caught. Outside a git checkout it only runs the command.
#
#   scripts/keep-tracked.sh bin/ulmfit run quickstart
set -u
state() {
  git status --porcelain=v1 --untracked-files=all
  git diff HEAD --binary | cksum
}
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  exec "$@"
fi
before=$(state)
"$@"
rc=$?
after=$(state)
if [ "$before" != "$after" ]; then
  echo "$0: '$*' changed files git tracks (git status before and after):" >&2
  diff <(echo "$before") <(echo "$after") >&2
  echo "$0: a run writes its records to runs/; only --results results writes the shipped records" >&2
  exit 1
fi
exit $rc
