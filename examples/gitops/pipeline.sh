#!/usr/bin/env bash
# GitOps with sms-reconcile, for any CI system:
#   pipeline.sh pr      validate, plan (Markdown for the pull-request comment), keep the plan file
#   pipeline.sh merge   apply exactly the plan the pull request showed
#
# Environment:
#   MANIFESTS             manifest directory (default: manifests)
#   SMS_RECONCILE_STATE   where the state lives: a file, or postgres://... for a shared state
#   AWS_ENDPOINT_URL_SMS  the SMS endpoint (default: the embedded server, for demos and tests)
#   SMSR                  how to run sms-reconcile (default: npx sms-reconcile)
#   OUT                   where plan.json and plan.md go (default: .sms-reconcile/pipeline, which git
#                         ignores: never the repository root)
#   ALLOW_DESTROY=1       let the merge apply delete or replace jobs
set -euo pipefail

MANIFESTS=${MANIFESTS:-manifests}
SMSR=${SMSR:-npx sms-reconcile}
OUT=${OUT:-.sms-reconcile/pipeline}
mkdir -p "$OUT"

case "${1:-}" in
  pr)
    $SMSR validate -f "$MANIFESTS"
    set +e
    $SMSR plan -f "$MANIFESTS" --out "$OUT/plan.json" --format markdown --detailed-exitcode > "$OUT/plan.md"
    code=$?
    set -e
    case $code in
      0) echo "pipeline: no changes" ;;
      2) echo "pipeline: changes planned (see $OUT/plan.md)" ;;
      3) echo "pipeline: changes planned, including deletes or replaces (see $OUT/plan.md)" ;;
      *) echo "pipeline: plan failed" >&2; exit "$code" ;;
    esac
    ;;
  merge)
    [ -f "$OUT/plan.json" ] || { echo "pipeline: no $OUT/plan.json; run 'pipeline.sh pr' first" >&2; exit 1; }
    $SMSR apply "$OUT/plan.json" --auto-approve ${ALLOW_DESTROY:+--allow-destroy} --lock-timeout 5m
    ;;
  *)
    echo "usage: pipeline.sh pr|merge" >&2
    exit 1
    ;;
esac
