#!/bin/bash
# Copies aiohttp's examples and two guides from a bare mirror of aio-libs/aiohttp into orig/
# (used by client_mw/run.sh; progs/ex_*.py are copies of these, import unchanged).
GIT_DIR=${1:-/work/.mirror/aio-libs+aiohttp/repo}
cd "$(dirname "$0")" && mkdir -p orig
for f in $(git --git-dir="$GIT_DIR" ls-tree -r HEAD --name-only | grep -E '^examples/|^docs/web_'); do
  git --git-dir="$GIT_DIR" show "HEAD:$f" > "orig/$(basename "$f")"
done
