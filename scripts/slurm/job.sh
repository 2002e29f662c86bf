#!/bin/bash
# scripts/slurm/job.sh — one task of an evoalloc sweep (a Slurm job array task).
# Written by `evoalloc sweep` into the sweep folder and submitted as
#   sbatch --array=0-(N-1) [--partition P --time T --cpus-per-task C] job.sh SWEEP_DIR EVOALLOC
# Task i reads line i of SWEEP_DIR/tasks.tsv (id<TAB>config<TAB>trace|-<TAB>seed), runs
#   EVOALLOC evolve --config CONFIG --seed SEED [--trace TRACE] [--set KEY=VALUE ...]
#       --out SWEEP_DIR/tasks/task-i --run-id run -j $SLURM_CPUS_PER_TASK
# (overrides: one KEY=VALUE per line of SWEEP_DIR/set.txt) and leaves in SWEEP_DIR/tasks/task-i/:
#   exit_status  the exit code of evolve (0 ok); task.log its stderr; task.out its stdout.
# The task's exit code is evolve's, so Slurm marks failed tasks FAILED; `evoalloc merge`
# also reads exit_status (Slurm can report success for a task that broke, see NOTES).
# No host names or paths inside: everything comes from the arguments and Slurm's environment.
set -u
SWEEP_DIR=${1:?usage: job.sh SWEEP_DIR EVOALLOC}
EVOALLOC=${2:?usage: job.sh SWEEP_DIR EVOALLOC}
i=${SLURM_ARRAY_TASK_ID:?job.sh runs as a Slurm array task (SLURM_ARRAY_TASK_ID unset)}
line=$(awk -F'\t' -v i="$i" '$1 == i' "$SWEEP_DIR/tasks.tsv")
if [ -z "$line" ]; then echo "job.sh: task $i not in $SWEEP_DIR/tasks.tsv" >&2; exit 2; fi
IFS=$'\t' read -r id config trace seed <<<"$line"
T="$SWEEP_DIR/tasks/task-$i"
mkdir -p "$T"
threads=${SLURM_CPUS_PER_TASK:-1}
export OMP_NUM_THREADS=$threads
args=(evolve --config "$config" --seed "$seed" --out "$T" --run-id run -j "$threads" -q)
if [ "$trace" != "-" ]; then args+=(--trace "$trace"); fi
if [ -s "$SWEEP_DIR/set.txt" ]; then
  while IFS= read -r kv; do [ -n "$kv" ] && args+=(--set "$kv"); done <"$SWEEP_DIR/set.txt"
fi
echo "task $i (job ${SLURM_ARRAY_JOB_ID:-?}) on $(hostname): ${args[*]}" >"$T/task.cmd"
"$EVOALLOC" "${args[@]}" >"$T/task.out" 2>"$T/task.log"
rc=$?
echo "$rc" >"$T/exit_status"
exit "$rc"
