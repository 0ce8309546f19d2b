#!/usr/bin/env bash
# Tailor's test command (README, .ci/run): installs what the tests need, fetches the real model, builds
# and runs the whole suite in release mode (the tests run the real 135M model; debug Swift loops are
# 10-100x slower), then scripts/verify-adapters.sh: PEFT and llama.cpp load Tailor's adapters and agree,
# and Tailor loads and trains on PEFT's (Python in git-ignored virtualenvs; several minutes the first
# time, about three after); it is skipped when arguments (a test filter) are given or TAILOR_SKIP_VERIFY=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
tailor_install_deps
scripts/fetch-model.sh
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
swift build -c release -Xswiftc -enable-testing --build-tests -j 2
swift test -c release -Xswiftc -enable-testing --skip-build --disable-swift-testing "$@"
if [[ $# == 0 && "${TAILOR_SKIP_VERIFY:-0}" != 1 ]]; then
    bash scripts/verify-adapters.sh
fi
