#!/usr/bin/env bash
# Pins every image in docker-compose.yml to the digest its tag names today (image: name:tag@sha256:…),
# so a re-pushed tag cannot change what runs. Needs a registry to ask: run it where `docker buildx`
# reaches Docker Hub and quay.io, review the diff, commit. Images built here (sluice:*) are skipped,
# and an image already pinned is re-resolved from its tag.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -E '^\s+image: ' docker-compose.yml | awk '{print $2}' | sort -u | while read -r image; do
  case "$image" in sluice:*) continue ;; esac
  tag="${image%@*}"
  digest=$(docker buildx imagetools inspect "$tag" --format '{{json .Manifest}}' | sed -E 's/.*"digest":"(sha256:[0-9a-f]{64})".*/\1/')
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "no digest for $tag" >&2; exit 1; }
  sed -i -E "s#image: ${image//./\\.}\$#image: ${tag}@${digest}#" docker-compose.yml
  echo "$tag -> $digest"
done
