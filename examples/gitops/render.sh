#!/usr/bin/env bash
# Renders manifests as one YAML stream on stdout, the way `kustomize build` or `helm template`
# does, for `sms-reconcile plan -f -` (and pipeline.sh's RENDER). Here a shell here-doc per
# document stands in for the templating tool: the same catalog and database tier as
# examples/gitops/manifests/, with the settings as variables.
#   bash examples/gitops/render.sh | npx sms-reconcile plan -f -
# With Debian's yq (the jq-syntax wrapper), a field can be set on the way instead:
#   bash examples/gitops/render.sh | yq -y 'if .kind == "ReplicationJobSet" then .spec.template.frequency = 6 else . end' | npx sms-reconcile plan -f -
set -euo pipefail

FREQUENCY=${FREQUENCY:-12}
AMIS_TO_KEEP=${AMIS_TO_KEEP:-7}

cat <<DOC
---
apiVersion: sms-reconcile/v1
kind: ServerCatalog
metadata:
  name: catalog
spec:
  imported: true
  maxAgeHours: 24
---
apiVersion: sms-reconcile/v1
kind: ReplicationJobSet
metadata:
  name: db-tier
spec:
  template:
    frequency: ${FREQUENCY}
    licenseType: BYOL
    roleName: sms
    description: DC1 database tier (managed by the pipeline)
    numberOfRecentAmisToKeep: ${AMIS_TO_KEEP}
  match:
    vmManagerName: vcenter-dc1.example.com
    vmPathPrefix: /Datacenters/DC1/vm/db/
  lifecycle:
    preventDestroy: true
DOC
