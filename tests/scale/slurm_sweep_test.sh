#!/usr/bin/env bash
# tests/scale/slurm_sweep_test.sh EVOALLOC SOURCE_DIR — CTest scale_slurm_sweep.
# Starts its own single-node Slurm (scripts/slurm/local-cluster.sh, private state folder and
# ports), runs the 4-task smoke sweep (configs/sweep-smoke.yaml) through sbatch, checks every
# task's run folder and the merged front, then a sweep with a deliberately failing task
# (a corrupt trace) and checks the failure is reported in the outputs. If the daemons cannot
# start, the test FAILS (no skip). Stops the daemons it started on exit.
set -uo pipefail
EVOALLOC=${1:?usage: slurm_sweep_test.sh EVOALLOC SOURCE_DIR}
SRC=${2:?usage: slurm_sweep_test.sh EVOALLOC SOURCE_DIR}
W=$(mktemp -d /tmp/evoalloc-slurm-test.XXXXXX)
chmod 755 "$W"  # munged needs every folder above its socket searchable
export SLURM_LOCAL_DIR=$W/cluster
# ports unlikely to clash with a system Slurm or a parallel test
export SLURMCTLD_PORT=${SLURMCTLD_PORT:-$((17000 + $$ % 500 * 2))}
export SLURMD_PORT=$((SLURMCTLD_PORT + 1))
CL="$SRC/scripts/slurm/local-cluster.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '"$CL" stop >/dev/null 2>&1; rm -rf "$W"' EXIT

envline=$("$CL" start) || fail "could not start the local Slurm cluster (daemons did not come up; see messages above)"
eval "$envline"
sinfo >/dev/null || fail "sinfo cannot reach the cluster"
cd "$W"

# 1. four smoke runs as a job array + merge
out=$(timeout 300 "$EVOALLOC" sweep --config "$SRC/configs/sweep-smoke.yaml" --out "$W/sweeps" --wait) ||
  fail "sweep-smoke: evoalloc sweep --wait failed: $out"
S=$(echo "$out" | tail -1)
[ -f "$S/jobs.txt" ] || fail "no $S/jobs.txt"
for i in 0 1 2 3; do
  [ "$(cat "$S/tasks/task-$i/exit_status" 2>/dev/null)" = 0 ] || fail "task $i: exit_status not 0"
  [ -s "$S/tasks/task-$i/smoke/run/front.csv" ] || fail "task $i: no front.csv"
  grep -q "^seed: $((i + 1))$" "$S/tasks/task-$i/smoke/run/config.yaml" || fail "task $i: wrong seed"
done
[ "$(tail -n +2 "$S/merged/runs.csv" | grep -c ',ok,')" = 4 ] || fail "merged/runs.csv: expected 4 ok runs"
[ "$(wc -l <"$S/merged/front.csv")" -ge 2 ] || fail "merged front is empty"
[ -s "$S/merged/report.md" ] || fail "no merged/report.md"
echo "ok: 4-task sweep -> $(($(wc -l <"$S/merged/front.csv") - 1)) designs on the merged front"

# 2. one task fails (corrupt trace): reported as failed in the outputs, merge still runs
head -c 100 /dev/urandom >"$W/corrupt.trace"
cat >"$W/failing.yaml" <<YAML
name: failing
configs: [$SRC/configs/smoke.yaml]
traces: [$SRC/traces/espresso.trace, $W/corrupt.trace]
seeds: [5]
set: [trace_max_ops=5000]
YAML
rc=0
out=$(timeout 300 "$EVOALLOC" sweep --config "$W/failing.yaml" --out "$W/sweeps" --wait) || rc=$?
[ "$rc" = 1 ] || fail "failing sweep: expected exit 1, got $rc"
F=$(echo "$out" | tail -1)
[ "$(cat "$F/tasks/task-0/exit_status")" = 0 ] || fail "failing sweep: task 0 should succeed"
[ "$(cat "$F/tasks/task-1/exit_status")" = 1 ] || fail "failing sweep: task 1 exit_status should be 1"
grep -q 'corrupt.trace' "$F/tasks/task-1/task.log" || fail "task 1: task.log does not name the bad trace"
line=$(grep 'task-1' "$F/merged/runs.csv") || fail "runs.csv has no row for task-1"
echo "$line" | grep -q 'failed: exit 1' || fail "runs.csv does not report task-1 as failed: $line"
grep -q 'task-0.*,ok,' "$F/merged/runs.csv" || fail "runs.csv: task-0 not ok"
[ "$(wc -l <"$F/merged/front.csv")" -ge 2 ] || fail "failing sweep: merged front of the good task is empty"
echo "ok: failing task reported: $line"
