#!/usr/bin/env bash
# Writes the issue's RequestResponse-heavy shape: writes at RequestResponse level only, bodies
# ~85% of the bytes — the events of a 2.5× larger `generate --bodies` log that carry a response
# body, cut to SIZE at a line end. Usage: benches/writes-log.sh BIN SIZE OUT   (SIZE as 1GB)
set -euo pipefail
bin=$1 size=$2 out=$3
want=$(numfmt --from=si "${size%B}")
# `head` ends the pipe early, which the commands before it see as a broken pipe.
(set +o pipefail
 "$bin" generate --size "$((want * 5 / 2))B" --seed 3 --bodies -o - 2>/dev/null |
   grep -F '"responseObject":{' | head -c "$want" | sed '$d' >"$out")
[ "$(stat -c %s "$out")" -gt $((want * 9 / 10)) ] ||
  { echo "$out came out short" >&2; rm -f "$out"; exit 1; }
