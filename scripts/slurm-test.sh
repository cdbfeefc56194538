#!/usr/bin/env bash
# The Slurm executor against a real Slurm: a one-node cluster on this
# machine (munged, slurmctld and slurmd started here, not as services)
# runs a tiny experiment submitted with 'ulmfit submit', and its records
# must equal those of a local 'ulmfit run' (values and curves). Needs root
# and apt-get (Debian's slurm-wlm and munge packages); where either is
# missing, or Slurm does not start, it says why and exits 0: skipped, not
# failed. Everything it writes goes to a temporary folder; the daemons it
# starts are stopped on exit.
#
#   scripts/slurm-test.sh          (make slurm-test)
#   SLURM_TEST_KEEP=1 ...          keep the temporary folder for a look
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
NICE="nice -n 19"

skip() { echo "slurm-test: SKIPPED: $*"; exit 0; }
fail() { echo "slurm-test: FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root: installing and starting Slurm needs root"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
	command -v apt-get >/dev/null || skip "no apt-get to install Slurm (slurm-wlm, munge) with"
	echo "slurm-test: installing slurmctld, slurmd, slurm-client and munge (Debian's slurm-wlm without its docs)"
	export DEBIAN_FRONTEND=noninteractive
	if ! $NICE apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/tmp/slurm-test-apt.log 2>&1; then
		$NICE apt-get update >>/tmp/slurm-test-apt.log 2>&1
		$NICE apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >>/tmp/slurm-test-apt.log 2>&1 ||
			skip "apt-get could not install the Slurm packages (see /tmp/slurm-test-apt.log)"
	fi
fi

WORK=$(mktemp -d /tmp/slurm-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
	if [ -z "${SLURM_TEST_KEEP:-}" ]; then rm -rf "$WORK"; else echo "slurm-test: kept $WORK"; fi
}
trap cleanup EXIT

# munge: reuse a running munged, else start one on its own socket.
MUNGE_SOCKET=/run/munge/munge.socket.2
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
	MUNGE_SOCKET=$WORK/munge/munge.socket
	mkdir -p "$WORK/munge"
	[ -f /etc/munge/munge.key ] || { dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1 count=1024 2>/dev/null; }
	KEY=/etc/munge/munge.key
	[ -f "$KEY" ] || KEY=$WORK/munge/munge.key
	chmod 700 "$WORK/munge"
	chmod 600 "$KEY"
	munged --force --foreground --key-file="$KEY" --socket="$MUNGE_SOCKET" \
		--pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/seed" \
		>"$WORK/munge/munged.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do [ -S "$MUNGE_SOCKET" ] && break; sleep 0.1; done
	munge --socket="$MUNGE_SOCKET" -n | unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1 ||
		skip "munged does not start here ($(tail -n 3 "$WORK/munge/munged.log" 2>/dev/null | tr '\n' ' '))"
fi

# A one-node cluster on this machine, on ports no other Slurm uses.
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$WORK/etc" "$WORK/state" "$WORK/spool"
cat >"$WORK/etc/slurm.conf" <<EOF
ClusterName=ulmfittest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool/%n
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$WORK/etc/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >"$WORK/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$WORK/slurmd.out" 2>&1 &
PIDS+=($!)
up=""
for _ in $(seq 100); do
	if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then up=1; break; fi
	sleep 0.2
done
if [ -z "$up" ]; then
	why=$( (tail -n 3 "$WORK/slurmd.log"; tail -n 3 "$WORK/slurmctld.log"; tail -n 2 "$WORK/slurmd.out") 2>/dev/null | tr '\n' ' ')
	skip "slurmctld/slurmd did not bring the node up in 20s: $why"
fi
echo "slurm-test: one-node Slurm up ($HOST, $CPUS CPUs, port $PORT)"

echo "slurm-test: building ulmfit"
$NICE $GO build -o "$WORK/ulmfit" ./cmd/ulmfit || fail "go build"
EXP=runner/testdata/declared.toml

# The local run, then the same through Slurm into another cache.
$NICE "$WORK/ulmfit" run "$EXP" --scale tiny --seeds 2 --cache "$WORK/local/cache" --results "$WORK/local/results" >"$WORK/local.out" 2>&1 ||
	fail "the local run: $(tail -n 5 "$WORK/local.out")"
$NICE "$WORK/ulmfit" run --executor slurm "$EXP" --scale tiny --seeds 2 --cache "$WORK/slurm/cache" --results "$WORK/slurm/results" --time 10 |
	tee "$WORK/submit.out" || fail "submit"
grep -q 'submitted in' "$WORK/submit.out" || fail "submit printed no jobs"

# Wait for the queue to empty (a few seconds of work on a free machine).
for _ in $(seq 600); do
	[ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
	sleep 0.5
done
[ -z "$(squeue -h -o %i)" ] || fail "jobs still queued after 5 minutes: $(squeue)"
"$WORK/ulmfit" status "$EXP" --scale tiny --seeds 2 --cache "$WORK/slurm/cache" | tee "$WORK/status.out"
grep -q ' 0 queued, 0 running, 0 failed, 0 not submitted' "$WORK/status.out" ||
	fail "not every stage is done: $(cat "$WORK"/slurm/cache/slurm/logs/*.out | tail -n 20)"

# Submitting again sends nothing.
"$WORK/ulmfit" submit "$EXP" --scale tiny --seeds 2 --cache "$WORK/slurm/cache" --results "$WORK/slurm/results" | tee "$WORK/again.out"
grep -q '0 submitted in 0 jobs' "$WORK/again.out" || fail "a second submit sent jobs"

# The records must equal the local run's.
ULMFIT_SLURM_COMPARE="$WORK/local/results:$WORK/slurm/results" $NICE $GO test -count=1 -run '^TestSlurmRecordsMatch$' ./runner/slurm ||
	fail "the records differ from the local run's"
echo "slurm-test: PASSED: the Slurm executor's records equal a local run's"
