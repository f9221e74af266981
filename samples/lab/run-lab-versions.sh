#!/bin/bash
# run-lab-versions.sh: the 9.0 migration lab's scenarios (set-up below), run against another libvirt
# version installed in a Debian chroot (7.0 from bullseye, 11.3 from trixie, ...).
#
# Usage (as root, under setsid):
#   OUT=/some/dir setsid ./run-lab-versions.sh CHROOT [scenario...]
# Scenarios: p2p-keepalive-timeout domjobabort p2p-ok dconn-refused   (default: the first three)
# Logs land in $OUT/v<X.Y>-<scenario>/  (X.Y = libvirtd version found in the chroot).
#
# Make a chroot first (example for 11.3; use "bullseye" for 7.0):
#   apt-get install -y debootstrap
#   debootstrap --variant=minbase trixie /srv/vchroot/trixie http://deb.debian.org/debian
#   printf '#!/bin/sh\nexit 101\n' > /srv/vchroot/trixie/usr/sbin/policy-rc.d; chmod +x $_
#   mount --bind /proc, /sys, /dev, /dev/pts into it; copy /etc/resolv.conf; then inside the chroot:
#   apt-get install -y --no-install-recommends libvirt-daemon libvirt-clients qemu-system-x86
#   (trixie only, its libvirt-daemon merely recommends the drivers:)
#   apt-get install -y --no-install-recommends libvirt-daemon-driver-qemu libvirt-daemon-driver-network \
#       libvirt-daemon-driver-secret libvirt-daemon-driver-storage libvirt-daemon-driver-nodedev \
#       libvirt-daemon-driver-nwfilter libvirt-daemon-driver-interface
#
# Same set-up as the 9.0 lab: two session-mode libvirtd daemons ("src", "dst") run as nobody
# with their own HOME/XDG dirs and host_uuid, a tiny TCG guest (48 MiB random data in RAM),
# p2p migration over the dst daemon's unix socket, QEMU stream over 127.0.0.1.
# Differences: everything runs inside the chroot (chroot in front of every command), the runtime
# base is $BASE (inside the chroot, default /tmp/vlab-v) and migration ports start at $MIGPORT0
# (default 49800), so that it never collides with the 9.0 lab (/tmp/vlab*, ports 49300/49600+).
# Every daemon's home/config/run dirs are wiped before each scenario; cache/ is kept (QEMU
# capabilities cache, filled once by warmup(), so no 2 MB QMP probe lands in the scenario logs).
# Every process it starts is stopped by PID at the end of each scenario.
set -u
CHROOT=${1:?usage: run-lab-versions.sh CHROOT [scenario...]}; shift
CHROOT=$(cd "$CHROOT" && pwd)
OUT=${OUT:-$PWD/lab-logs}
BASE=${BASE:-/tmp/vlab-v}            # path inside the chroot
HB=$CHROOT$BASE                      # same dir seen from the host
MIGPORT=${MIGPORT0:-49800}
RUNAS_UID=65534; RUNAS_GID=65534     # nobody:nogroup
SRC_UUID=9ed8cc36-5e7f-4738-9355-19907aaad9c0
DST_UUID=21bc9bf8-019b-496f-9db9-6a14f72f3627
DOM=tiny
LOGFILTERS="1:qemu 1:libvirt 1:rpc 1:conf 1:remote 3:object 3:json 3:event 3:util"
KA_INTERVAL=${KA_INTERVAL:-5}
KA_COUNT=${KA_COUNT:-5}
DCONN_REFUSED_PORT=${DCONN_REFUSED_PORT:-16899}   # must have no listener (9.0 lab uses 16599)

sock()  { echo "$BASE/$1/run/libvirt/libvirt-sock"; }
uri()   { echo "qemu+unix:///session?socket=$(sock $1)"; }

# bind mounts the chroot needs; remember the ones we made to undo them at exit
MOUNTED=()
ensure_mounts() {
  local m
  for m in proc sys dev dev/pts; do
    if ! mountpoint -q "$CHROOT/$m"; then
      mount --bind /$m "$CHROOT/$m" && MOUNTED=("$CHROOT/$m" "${MOUNTED[@]}")
    fi
  done
  cp -f /etc/hosts "$CHROOT/etc/hosts"
}
undo_mounts() { local m; for m in "${MOUNTED[@]}"; do umount "$m"; done; }

# run a command inside the chroot as nobody with the environment of daemon side $1 (src|dst)
asuser() {
  local side=$1; shift
  ${EXEC:-} chroot "$CHROOT" setsid setpriv --reuid=$RUNAS_UID --regid=$RUNAS_GID --clear-groups -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        HOME=$BASE/$side/home XDG_CONFIG_HOME=$BASE/$side/config \
        XDG_RUNTIME_DIR=$BASE/$side/run XDG_CACHE_HOME=$BASE/$side/cache \
        "$@"
}
# virsh as client of side $1, debug log to file $2 (chroot path), rest = virsh args
vsh() {
  local side=$1 log=$2; shift 2
  asuser $side LIBVIRT_DEBUG=1 LIBVIRT_LOG_FILTERS="$LOGFILTERS" \
     LIBVIRT_LOG_OUTPUTS="1:file:$log" virsh -c "$(uri $side)" "$@"
}
vq() { local side=$1; shift; asuser $side virsh -q -c "$(uri $side)" "$@"; }

setup_base() {
  mkdir -p $HB/logs
  [ -f $HB/rand48.bin ] || head -c $((48*1024*1024)) /dev/urandom > $HB/rand48.bin
  cat > $HB/tiny.xml <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$DOM</name>
  <uuid>6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-device'/>
    <qemu:arg value='loader,file=$BASE/rand48.bin,addr=0x2000000,force-raw=on'/>
  </qemu:commandline>
</domain>
XML
  chown -R $RUNAS_UID:$RUNAS_GID $HB
}

# fresh per-side dirs (a killed daemon leaves state behind in run/ and config/); cache/ is kept
# (QEMU capabilities cache, as in the 9.0 lab, so that scenario logs hold no 2 MB QMP probe)
fresh_dirs() {
  local side d
  for side in src dst; do
    rm -rf $HB/$side/home $HB/$side/config $HB/$side/run $HB/$side/cache/libvirt/qemu/log
    for d in home config/libvirt run cache; do mkdir -p $HB/$side/$d; done
  done
  chown -R $RUNAS_UID:$RUNAS_GID $HB/src $HB/dst
  chmod 700 $HB/src/run $HB/dst/run
}

write_conf() {
  local side=$1 log=$2 uuid
  [ $side = src ] && uuid=$SRC_UUID || uuid=$DST_UUID
  cat > $HB/$side/config/libvirt/libvirtd.conf <<CONF
log_filters="$LOGFILTERS"
log_outputs="1:file:$log"
host_uuid="$uuid"
keepalive_interval=$KA_INTERVAL
keepalive_count=$KA_COUNT
CONF
  cat > $HB/$side/config/libvirt/qemu.conf <<CONF
stdio_handler = "file"
keepalive_interval = $KA_INTERVAL
keepalive_count = $KA_COUNT
CONF
  chown -R $RUNAS_UID:$RUNAS_GID $HB/$side/config
}

start_daemons() {
  local ld=$1 side i   # ld: chroot path of the scenario log dir
  rm -rf $CHROOT$ld; mkdir -p $CHROOT$ld; chown $RUNAS_UID:$RUNAS_GID $CHROOT$ld
  fresh_dirs
  for side in src dst; do
    write_conf $side $ld/$side-libvirtd.log
    EXEC=exec asuser $side libvirtd -f $BASE/$side/config/libvirt/libvirtd.conf \
        > $CHROOT$ld/$side-libvirtd.stderr 2>&1 &
    echo $! > $HB/$side.pid
  done
  for side in src dst; do
    for i in $(seq 1 100); do [ -S $CHROOT$(sock $side) ] && break; sleep 0.2; done
    vq $side version >/dev/null || { echo "daemon $side not up"; return 1; }
  done
  SRC_PID=$(cat $HB/src.pid); DST_PID=$(cat $HB/dst.pid)
}

# kill every qemu one of our daemons started (by pidfile), then the daemons (by pid)
stop_all() {
  local side f p i
  for side in src dst; do [ -f $HB/$side.pid ] && kill -CONT $(cat $HB/$side.pid) 2>/dev/null; done
  for side in src dst; do
    vq $side destroy $DOM >/dev/null 2>&1 || true
    vq $side undefine $DOM >/dev/null 2>&1 || true
  done
  sleep 1
  for f in $HB/src/run/libvirt/qemu/run/*.pid $HB/dst/run/libvirt/qemu/run/*.pid \
           $HB/src/config/libvirt/qemu/run/*.pid $HB/dst/config/libvirt/qemu/run/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f" 2>/dev/null); [ -n "$p" ] && kill -0 $p 2>/dev/null && \
      grep -q qemu /proc/$p/comm 2>/dev/null && { echo "killing leftover qemu $p ($f)"; kill $p; }
  done
  for side in src dst; do
    [ -f $HB/$side.pid ] || continue
    p=$(cat $HB/$side.pid)
    if kill -0 $p 2>/dev/null; then kill -CONT $p; kill -TERM $p; fi
    for i in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.2; done
    kill -0 $p 2>/dev/null && kill -KILL $p
    rm -f $HB/$side.pid
  done
}

collect() {
  local scen=$1 dest=$OUT/$PREFIX$1 side f
  mkdir -p $dest
  cp -f $CHROOT$LD/* $dest/ 2>/dev/null
  for side in src dst; do
    [ -f $HB/$side/cache/libvirt/qemu/log/$DOM.log ] && \
      cp -f $HB/$side/cache/libvirt/qemu/log/$DOM.log $dest/$side-qemu-$DOM.log
  done
  find $dest -empty -type f -delete
  chmod a+r $dest/*
  ls -la $dest
}

log() { echo "[$(date -u +%H:%M:%S.%3N)] $*" | tee -a $CHROOT$LD/TIMELINE.txt; }
begin() {
  SCEN=$1; LD=$BASE/logs/$SCEN; T0=$(date +%s)
  start_daemons $LD || { stop_all; exit 1; }
  log "scenario $SCEN ($VERSIONS): src libvirtd pid=$SRC_PID dst libvirtd pid=$DST_PID"
  MIGPORT=$((MIGPORT+1))
}
finish() {
  { echo "--- final 'virsh list --all' on src:"; vq src list --all
    echo "--- final 'virsh list --all' on dst:"; vq dst list --all; } >> $CHROOT$LD/TIMELINE.txt 2>&1
  stop_all
  log "scenario $SCEN done in $(( $(date +%s) - T0 )) s"
  collect $SCEN
}
start_guest() { vq src create $BASE/tiny.xml && log "guest $DOM started on src (qemu pid $(cat $HB/src/run/libvirt/qemu/run/$DOM.pid 2>/dev/null))"; }
migrate_bg() {
  local extra="$*"
  log "virsh migrate --live --p2p --verbose $extra $DOM $(uri dst) --migrateuri tcp://127.0.0.1:$MIGPORT"
  EXEC=exec vsh src $LD/virsh-migrate.log migrate --live --p2p --verbose $extra $DOM "$(uri dst)" \
      --migrateuri tcp://127.0.0.1:$MIGPORT > $CHROOT$LD/virsh-migrate.out 2>&1 &
  MIG_PID=$!
}
wait_mig() { wait $MIG_PID; local rc=$?; log "virsh migrate exited rc=$rc: $(grep -v ' : ' $CHROOT$LD/virsh-migrate.out | tr '\r\n' '  ' | tail -c 400)"; }
wait_incoming() {
  local i
  for i in $(seq 1 150); do vq dst list --all 2>/dev/null | grep -q " $DOM " && break; sleep 0.1; done
  log "incoming domain visible on dst (qemu pid $(cat $HB/dst/run/libvirt/qemu/run/$DOM.pid 2>/dev/null))"
}

# start both daemons once and run the guest on each side so that each daemon probes QEMU and
# fills its capabilities cache; these logs are thrown away
warmup() {
  local side
  ls $HB/src/cache/libvirt/qemu/cache/capabilities/*.xml $HB/dst/cache/libvirt/qemu/cache/capabilities/*.xml >/dev/null 2>&1 && return
  LD=$BASE/logs/warmup
  start_daemons $LD || { stop_all; exit 1; }
  for side in src dst; do vq $side create $BASE/tiny.xml >/dev/null && vq $side destroy $DOM >/dev/null; done
  stop_all
  echo "warm-up done (capabilities cached)"
}

sc_p2p-ok() {
  begin p2p-ok; start_guest
  migrate_bg; wait_mig
  finish
}
sc_p2p-keepalive-timeout() {
  begin p2p-keepalive-timeout; start_guest
  migrate_bg --bandwidth 1; wait_incoming; sleep 3
  log "SIGSTOP destination libvirtd pid $DST_PID"; kill -STOP $DST_PID
  wait_mig
  sleep 2
  log "SIGCONT destination libvirtd pid $DST_PID"; kill -CONT $DST_PID
  sleep 6
  finish
}
sc_domjobabort() {
  begin domjobabort; start_guest
  migrate_bg --bandwidth 1; wait_incoming; sleep 3
  log "virsh domjobabort $DOM (on src)"
  vsh src $LD/virsh-domjobabort.log domjobabort $DOM > $CHROOT$LD/virsh-domjobabort.out 2>&1
  wait_mig; sleep 2
  finish
}

sc_dconn-refused() {
  begin dconn-refused; start_guest
  local dc="qemu+tcp://127.0.0.1:$DCONN_REFUSED_PORT/session"
  log "virsh migrate --live --p2p $DOM $dc  (nothing listens on 127.0.0.1:$DCONN_REFUSED_PORT)"
  vsh src $LD/virsh-migrate.log migrate --live --p2p --verbose $DOM "$dc" > $CHROOT$LD/virsh-migrate.out 2>&1
  log "virsh migrate exited rc=$?: $(grep -v ' : ' $CHROOT$LD/virsh-migrate.out | tr '\n' ' ')"
  finish
}

trap 'stop_all; undo_mounts' EXIT
ensure_mounts
LVER=$(chroot "$CHROOT" libvirtd --version | awk '{print $NF}')
QVER=$(chroot "$CHROOT" qemu-system-x86_64 --version | head -1)
VERSIONS="libvirt $LVER, $QVER"
PREFIX=${PREFIX:-v${LVER%.*}-}
echo "$VERSIONS; logs to $OUT/${PREFIX}<scenario>"
setup_base
warmup
ALL="p2p-keepalive-timeout domjobabort p2p-ok"
TSTART=$(date +%s)
for s in ${@:-$ALL}; do sc_$s; done
echo "all requested scenarios done in $(( $(date +%s) - TSTART )) s"
