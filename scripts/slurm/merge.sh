#!/bin/bash
# scripts/slurm/merge.sh — the final job of an evoalloc sweep: merges every task's run.
# Written by `evoalloc sweep` into the sweep folder and submitted with
#   sbatch --dependency=afterany:ARRAY_JOB merge.sh SWEEP_DIR EVOALLOC
# (afterany: it runs even when tasks failed, so the failures are reported). Writes
# SWEEP_DIR/merged/ (front.csv, runs.csv, spread.csv, runs.png, report.md; evolve/merge.hpp)
# and exits 1 when any task failed (status per task in merged/runs.csv).
set -u
SWEEP_DIR=${1:?usage: merge.sh SWEEP_DIR EVOALLOC}
EVOALLOC=${2:?usage: merge.sh SWEEP_DIR EVOALLOC}
dirs=()
while IFS=$'\t' read -r id _; do
  case "$id" in ''|'#'*) continue ;; esac
  dirs+=("$SWEEP_DIR/tasks/task-$id")
done <"$SWEEP_DIR/tasks.tsv"
"$EVOALLOC" merge "${dirs[@]}" -o "$SWEEP_DIR/merged"
