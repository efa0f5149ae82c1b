#!/usr/bin/env bash
# Debian packages the offline transcriber, video processing and browser tests need:
# ffmpeg (audio/video decoding), pocketsphinx with its US English model, Chromium for Playwright,
# poppler-utils (pdftotext, to check rendered reports), docker-compose (validates deploy/compose.yaml
# without an engine), nginx (the TLS load balancer of the split-deployment test). Installs only what
# is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install ffmpeg pocketsphinx pocketsphinx-en-us chromium poppler-utils docker-compose nginx-light
echo "media tools: ffmpeg, pocketsphinx, chromium are installed"
