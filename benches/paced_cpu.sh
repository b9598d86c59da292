#!/bin/sh
# Whole-process CPU of a paced reply: the release binary in tmux at 120x40 receives a
# reply of TOKENS tokens at RATE tokens/s from benches/paced_server.py, which prints the
# CPU the process spent from the request to 0.5 s after the last token.
#
#   cargo build --release --no-default-features
#   benches/paced_cpu.sh [BINARY] [TOKENS] [RATE]
#   PACED_THINK=20000 benches/paced_cpu.sh target/release/tinychat 22000 1000000
#       (the first 20,000 tokens are thinking; a huge RATE is a burst)
#
# BINARY defaults to $CARGO_TARGET_DIR/release/tinychat (or target/release/tinychat).
# Needs python3, tmux and /work/shared/tools/tui-shot (or TUI_SHOT). Everything the run
# writes (config, saved conversation) goes to a temporary folder that is removed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$here/../target}/release/tinychat}
tokens=${2:-300}
rate=${3:-50}
shot=${TUI_SHOT:-/work/shared/tools/tui-shot}
port=${PACED_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/config/tinychat" "$dir/data" "$dir/state"
cat > "$dir/config/tinychat/config.toml" <<EOF
default_model = "paced/m"

[[providers]]
name = "paced"
base_url = "http://127.0.0.1:$port/v1"
api_key = "fake-key-for-a-local-server"
models = ["m"]
EOF
python3 "$here/paced_server.py" "$port" "$dir/pid" "$tokens" "$rate" > "$dir/result" &
server=$!
sleep 0.3
"$shot" --size 120x40 --timeout 30 \
    --env HOME="$dir" --env XDG_CONFIG_HOME="$dir/config" \
    --env XDG_DATA_HOME="$dir/data" --env XDG_STATE_HOME="$dir/state" \
    -- sh -c "echo \$\$ > '$dir/pid'; exec '$bin'" \
    -w idle -s 0.5 -t hello -k Enter -w PACED-END -s 1 -k C-q -s 0.5 > "$dir/screen" || {
    cat "$dir/screen"
    kill "$server" 2>/dev/null || true
    exit 1
}
wait "$server"
cat "$dir/result"
