#!/usr/bin/env bash
# Tailor's test command (README, .ci/run): installs what the tests need, fetches the real model, builds
# and runs the whole suite in release mode (the tests run the real 135M model; debug Swift loops are
# 10-100x slower).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev pkg-config)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v unzip >/dev/null || need+=(unzip)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/fetch-model.sh
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
swift build -c release -Xswiftc -enable-testing --build-tests -j 2
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
