# Sourced by scripts/demo.sh and scripts/test.sh: installs the Debian packages Tailor needs when missing
# (OpenBLAS, SQLite headers, pkg-config, unzip). Idempotent and silent when all are present.
tailor_install_deps() {
    local need=()
    pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev pkg-config)
    [ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
    command -v unzip >/dev/null || need+=(unzip)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing ${need[*]}" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}
