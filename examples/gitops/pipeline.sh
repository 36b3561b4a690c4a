#!/usr/bin/env bash
# GitOps with sms-reconcile, for any CI system:
#   pipeline.sh pr      validate, plan (Markdown for the pull-request comment), keep the plan file
#   pipeline.sh merge   apply exactly the plan the pull request showed
#
# Environment:
#   MANIFESTS             manifest directory (default: manifests)
#   RENDER                instead of MANIFESTS: a command that prints the manifests as one YAML
#                         stream (`kustomize build overlays/prod`, `helm template ...`,
#                         `bash examples/gitops/render.sh`); it is piped to `-f -`, and run again
#                         on merge, where the same stream must come out (else the plan is stale)
#   SMS_RECONCILE_STATE   where the state lives: a file, or postgres://... for a shared state
#   AWS_ENDPOINT_URL_SMS  the SMS endpoint (default: the embedded server, for demos and tests)
#   SMSR                  how to run sms-reconcile (default: npx sms-reconcile)
#   OUT                   where plan.json and plan.md go (default: .sms-reconcile/pipeline, which git
#                         ignores: never the repository root)
#   MAX_CHARS             longest plan.md, in characters (default 65000: GitHub takes 65,536 per
#                         comment; GitLab 1,000,000; Bitbucket Data Center under 32,768, so 32000)
#   ALLOW_DESTROY=1       let the merge apply delete or replace jobs
set -euo pipefail

MANIFESTS=${MANIFESTS:-manifests}
SMSR=${SMSR:-npx sms-reconcile}
OUT=${OUT:-.sms-reconcile/pipeline}
mkdir -p "$OUT"
MAX_CHARS=${MAX_CHARS:-65000}

# sms-reconcile COMMAND ... with the manifests: -f MANIFESTS, or RENDER's stream as -f -.
with_manifests() {
  if [ -n "${RENDER:-}" ]; then
    bash -c "$RENDER" | $SMSR "$@" -f -
  else
    $SMSR "$@" -f "$MANIFESTS"
  fi
}

case "${1:-}" in
  pr)
    with_manifests validate
    set +e
    # plan.md fits one comment: when the plan is longer, it keeps the summary, every destructive
    # change, then as many rows as fit, and its last line points to plan.json for the rest.
    with_manifests plan --out "$OUT/plan.json" --format markdown --max-chars "$MAX_CHARS" --detailed-exitcode > "$OUT/plan.md"
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
    if [ -n "${RENDER:-}" ]; then
      # The plan was made from stdin: the same stream is piped in again, to check it is not stale.
      bash -c "$RENDER" | $SMSR apply "$OUT/plan.json" --auto-approve ${ALLOW_DESTROY:+--allow-destroy} --lock-timeout 5m
    else
      $SMSR apply "$OUT/plan.json" --auto-approve ${ALLOW_DESTROY:+--allow-destroy} --lock-timeout 5m
    fi
    ;;
  *)
    echo "usage: pipeline.sh pr|merge" >&2
    exit 1
    ;;
esac
