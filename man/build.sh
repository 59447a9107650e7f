#!/usr/bin/env bash
# Rebuild the man page from the argparse parser: bash man/build.sh [OUTPUT] (default man/loom.1).
set -euo pipefail
cd "$(dirname "$0")/.."
argparse-manpage --pyfile src/loom_adapters/cli/parser.py --function build_parser \
  --prog loom --project-name loom --manual-title "Loom manual" \
  --description "run datasets of prompts through LLMs and merge the answers back" \
  --url "https://github.com/jannehring/loom" \
  --output "${1:-man/loom.1}"
