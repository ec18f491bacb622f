#!/bin/bash
# Each client-middleware example's own main(): its test server on aiohttp.web, then on sketch.web
# (only the `web` import changed; port 8080 -> a free port), the aiohttp client the same. Compare stdout.
cd "$(dirname "$0")"
PY=/work/wt11b/.venv/bin/python
port=28180
for f in basic_auth_middleware combined_middleware logging_middleware retry_middleware token_refresh_middleware fake_server; do
  for fw in aiohttp sketch; do
    port=$((port+1))
    python3 - "$f" "$fw" "$port" <<'PY'
import re, sys
f, fw, port = sys.argv[1:]
src = open(f"../orig/{f}.py").read().replace("8080", port)
if fw == "sketch":
    src = re.sub(r"^    web,\n", "", src, flags=re.M)
    src = re.sub(r"^(from aiohttp import .*), web$", r"\1", src, flags=re.M)
    src = src.replace("\nfrom aiohttp", "\nfrom sketch import web\nfrom aiohttp", 1)
open(f"{f}_{fw}.py", "w").write(src)
PY
    [ $f = fake_server ] && cp ../orig/server.* . 2>/dev/null
    timeout 60 $PY ${f}_$fw.py > ${f}_$fw.out 2> ${f}_$fw.err; echo "rc=$?" >> ${f}_$fw.out
  done
  sed -E 's/[0-9]+\.[0-9]+/N.N/g; s/[0-9]{9,}/TS/g' ${f}_aiohttp.out > /tmp/a.$$; sed -E 's/[0-9]+\.[0-9]+/N.N/g; s/[0-9]{9,}/TS/g' ${f}_sketch.out > /tmp/s.$$
  if diff -q /tmp/a.$$ /tmp/s.$$ >/dev/null; then echo "$f: SAME stdout ($(wc -l < ${f}_aiohttp.out) lines)"; else echo "$f: DIFFERS"; diff /tmp/a.$$ /tmp/s.$$ | head -20; tail -3 ${f}_sketch.err; fi
done
