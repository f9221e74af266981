#!/bin/sh
# The source daemon's real -o export capture stored again as a journal file by
# systemd-journal-remote 252 (Debian's systemd-journal-remote), then printed by journalctl 252
# in the output modes that -o json, -o export and -o short-precise do not cover.  `journalctl
# -o json` of that file gives the capture's src-journal.json entry for entry (every field and
# value; only the cursors differ).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xz -dc "$here/src-journal.export.xz" > "$tmp/src.export"
/lib/systemd/systemd-journal-remote --output="$tmp/src.journal" "$tmp/src.export"
for mode in json-pretty:pretty.json json-sse:sse.json json-seq:seq.json short-full:short-full.txt \
            short-unix:short-unix.txt verbose:verbose.txt; do
    TZ=UTC journalctl --file="$tmp/src.journal" -o "${mode%%:*}" | xz -9e > "$here/src-journal-${mode#*:}.xz"
done
