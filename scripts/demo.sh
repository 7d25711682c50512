#!/bin/sh
# demo.sh: `make demo`. Runs build/mcpgw on conf/demo.yaml under the official MCP SDK client and shows
# what a client sees: the instructions, the namespaced tool list, and a few tool calls.
# State goes to a temporary directory; the user's own config and state are not touched.
set -eu

cd "$(dirname "$0")/.."
if [ ! -x "${MCPGW_BIN:-build/mcpgw}" ]; then
	echo "demo: ${MCPGW_BIN:-build/mcpgw} is missing: run make (make demo does)" >&2
	exit 1
fi
if ! command -v node >/dev/null 2>&1 || [ ! -d node_modules/@modelcontextprotocol/sdk ]; then
	echo "demo: node or the npm packages are missing: sh scripts/install-deps.sh" >&2
	exit 1
fi

MCPGW_DEMO_ROOT=$(pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-demo.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
XDG_STATE_HOME=$TMP/state
XDG_CONFIG_HOME=$TMP/config
export MCPGW_DEMO_ROOT XDG_STATE_HOME XDG_CONFIG_HOME
unset MCPGW_CONFIG

node scripts/demo.mjs
