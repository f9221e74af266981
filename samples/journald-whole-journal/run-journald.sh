#!/bin/bash
# one libvirtd (log_outputs=1:journald) under a standalone systemd-journald; a few client calls;
# then the whole journal (journald's own entries too), unfiltered
set -u
export BASE=/tmp/vlab-lead OUT=/tmp/s5/jl
sed 's|log_outputs="1:file:$log"|log_outputs="1:journald"|' /work/shared/lab/lib.sh > $OUT/lib.sh
source $OUT/lib.sh
J=/tmp/s5/jl/journald
rm -rf $J; mkdir -p $J/runlog
cat > $J/journald.conf <<'CONF'
[Journal]
Storage=volatile
RateLimitIntervalSec=0
RateLimitBurst=0
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
ReadKMsg=no
MaxLevelStore=debug
CONF
setsid unshare -m --propagation private sh -c "mount --bind $J/journald.conf /etc/systemd/journald.conf &&
  mount --bind $J/runlog /run/log &&
  exec env SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug /lib/systemd/systemd-journald" > $J/journald.stderr 2>&1 &
JPID=$!
for i in $(seq 1 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
setup_base
ld=$OUT/logs; rm -rf $ld; mkdir -p $ld; chown $RUNAS_UID:$RUNAS_GID $ld
write_conf src $ld/src-libvirtd.log
EXEC=exec asuser src libvirtd -f $BASE/src/config/libvirt/libvirtd.conf > $ld/src-libvirtd.stderr 2>&1 &
echo $! > $BASE/src.pid
for i in $(seq 1 100); do [ -S $(sock src) ] && break; sleep 0.2; done
vq src version; vq src list --all; vq src define $BASE/tiny.xml; vq src list --all; vq src undefine $DOM
sleep 1
p=$(cat $BASE/src.pid); kill -TERM $p; for i in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.2; done
rm -f $BASE/src.pid
sleep 1
JD=$J/runlog/journal/$(cat /etc/machine-id)
journalctl -D $JD -o json > $OUT/host-journal.json
journalctl -D $JD -o export > $OUT/host-journal.export
journalctl -D $JD -o short-precise > $OUT/host-journal-short-precise.txt
kill $JPID; wait $JPID 2>/dev/null
echo libvirtd pid $p journald pid $JPID
