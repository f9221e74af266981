#!/bin/bash
# run-lab-extra.sh: make more REAL libvirt debug logs of live migrations between two
# session-mode libvirtd daemons ("src" and "dst") on one machine.
#
# Usage (as root, under setsid):
#   OUT=/path/to/samples setsid samples/lab/run-lab-extra.sh [scenario...]   (default: all)
# Scenarios: see ALL at the bottom; each one is a function sc_<name>.
# Logs land in $OUT/<scenario>/ (default: the samples/ dir next to this script).
# Runtime files go to $BASE (default /tmp/vlab-extra); migration ports start at 49600.
# Every process a scenario starts (daemons, qemu, virsh, virtlogd) is stopped by PID
# at the end of the scenario. Nothing is ever written into the logs by this script:
# the only thing it adds is TIMELINE.txt (what it did, when).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$(dirname "$HERE")}
BASE=${BASE:-/tmp/vlab-extra}
MIGPORT=${MIGPORT:-49600}
RUNAS_UID=65534; RUNAS_GID=65534           # nobody:nogroup
SRC_UUID=3c0b8a51-1f0e-4d7a-a8c2-5b0e6f1d2a01
DST_UUID=7f4e2d90-6b3c-4e18-9d55-0a9c3e7b8c02
DST2_UUID=e2a7c4b1-8d3f-4f60-b1a9-3c5d7e9f0a03   # the third daemon of the concurrent scenarios
DOM=tiny
DOM_UUID=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001
DOM2=tiny2                                        # the second guest of the concurrent scenarios
DOM2_UUID=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b002
LAB_FILTERS="1:qemu 1:libvirt 1:rpc 1:conf 1:remote 3:object 3:json 3:event 3:util"
KBASE_FILTERS="3:remote 4:event 3:util.json 3:rpc 1:*"

# per-scenario knobs: a sc_<name> function sets them before begin(); finish() resets them
reset_knobs() {
  LOGFILTERS=$LAB_FILTERS      # daemons' log_filters
  VSH_FILTERS=$LAB_FILTERS     # virsh's LIBVIRT_LOG_FILTERS
  KA_INTERVAL=5; KA_COUNT=5    # libvirtd.conf (daemon->clients) and qemu.conf (dconn)
  STDIO_HANDLER=file
  MIG_VERBOSE=--verbose        # virsh migrate --verbose (polls virDomainGetJobInfo)
  RAND_MB=48                   # MiB of random data in guest RAM (~RAND_MB s at --bandwidth 1);
                               # 0 = no loader device
  GUEST_KERNEL=""              # <os><kernel>: boot this (multiboot) kernel instead of SeaBIOS
  DISK_FILE=""                 # a raw file disk (virtio vda) for the guest; "" = no disk
  EXTRA_DEVICES=""             # more <devices> XML for the guest (refused-shmem-device)
  DST_URI=""                   # the destination URI virsh migrate gives; "" = $(uri dst)
  SIDES="src dst"              # the daemons (a third one, dst2, for two destinations)
  LOG_VIA=""                   # "" = file output only; forms = file + syslog + journald + stderr
                               # (see "Logs through syslog and journald" below)
}

sock()  { echo "$BASE/$1/run/libvirt/libvirt-sock"; }
uri()   { echo "qemu+unix:///session?socket=$(sock $1)"; }
qpidf() { echo "$BASE/$1/run/libvirt/qemu/run/${2:-$DOM}.pid"; }   # qpidf <side> [domain]
qpid()  { cat "$(qpidf $1 ${2:-})" 2>/dev/null; }

# run a command as nobody in the environment of side $1 (src|dst), in its own session
# (so SIGSTOP of one of our processes never hits an orphaned process group of ours)
asuser() {
  local side=$1; shift
  ${EXEC:-} setsid setpriv --reuid=$RUNAS_UID --regid=$RUNAS_GID --clear-groups -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        HOME=$BASE/$side/home XDG_CONFIG_HOME=$BASE/$side/config \
        XDG_RUNTIME_DIR=$BASE/$side/run XDG_CACHE_HOME=$BASE/$side/cache \
        "$@"
}
# virsh as client of side $1 with its own debug log $2; rest = virsh args
vsh() {
  local side=$1 log=$2; shift 2
  asuser $side LIBVIRT_DEBUG=1 LIBVIRT_LOG_FILTERS="$VSH_FILTERS" \
     LIBVIRT_LOG_OUTPUTS="1:file:$log" virsh -c "$(uri $side)" "$@"
}
# quiet virsh, no debug log
vq() { local side=$1; shift; asuser $side virsh -q -c "$(uri $side)" "$@"; }

log() { echo "[$(date -u +%H:%M:%S.%3N)] $*" | tee -a $LD/TIMELINE.txt; }

domxml() {   # domxml <name> <uuid>
  local os="<boot dev='hd'/>" cmdline="" disk=""
  [ -n "$GUEST_KERNEL" ] && os="<kernel>$GUEST_KERNEL</kernel>"
  [ -n "$DISK_FILE" ] && disk="
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$DISK_FILE'/>
      <target dev='vda' bus='virtio'/>
    </disk>"
  [ "$RAND_MB" -gt 0 ] && cmdline="
  <qemu:commandline>
    <qemu:arg value='-device'/>
    <qemu:arg value='loader,file=$BASE/rand${RAND_MB}.bin,addr=0x2000000,force-raw=on'/>
  </qemu:commandline>"
  cat <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>$os</os>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>$disk$EXTRA_DEVICES
    <memballoon model='none'/>
  </devices>$cmdline
</domain>
XML
}

setup_base() {
  mkdir -p $BASE/logs
  # the guest gets RAND_MB MiB of random data in its RAM from a QEMU loader device, so
  # that a --bandwidth 1 (MiB/s) migration takes ~RAND_MB s (zero pages cost nothing)
  chown $RUNAS_UID:$RUNAS_GID $BASE $BASE/logs
}
# the guest definition for the current RAND_MB (random data written into guest RAM)
make_guest_xml() {
  local r=$BASE/rand${RAND_MB}.bin
  if [ "$RAND_MB" -gt 0 ]; then
    [ -f $r ] || head -c $((RAND_MB*1024*1024)) /dev/urandom > $r
    chown $RUNAS_UID:$RUNAS_GID $r
  fi
  domxml $DOM $DOM_UUID > $BASE/tiny.xml
  domxml $DOM2 $DOM2_UUID > $BASE/tiny2.xml
  chown $RUNAS_UID:$RUNAS_GID $BASE/tiny.xml $BASE/tiny2.xml
}

# a guest that dirties memory faster than a throttled migration sends it (not-converging):
# a 32-bit multiboot kernel, booted by QEMU's -kernel (<os><kernel>), that increments one
# 32-bit word in every 4 KiB page of guest RAM from 16 MiB to 48 MiB, over and over
# (under TCG every page of the 32 MiB is written again within a few ms). Built at run time
# into $BASE/dirty/ with the GNU assembler and linker; no binary is kept in the repository.
build_dirty_kernel() {
  local d=$BASE/dirty
  mkdir -p $d
  cat > $d/dirty.S <<'ASM'
        .set MB_MAGIC, 0x1BADB002          # multiboot (v1) header, in the first 8 KiB
        .set MB_FLAGS, 0                   # ELF32 kernel: no a.out kludge needed
        .set DIRTY_START, 0x01000000       # 16 MiB
        .set DIRTY_END,   0x03000000       # 48 MiB (guest has 128 MiB)
        .text
        .globl _start
        .align 4
mb_header:
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)
_start:                                    # 32-bit protected mode, paging off, flat segments
        cli
1:      movl $DIRTY_START, %eax
2:      incl (%eax)                        # dirty this page
        addl $4096, %eax
        cmpl $DIRTY_END, %eax
        jb 2b
        jmp 1b
ASM
  as --32 -o $d/dirty.o $d/dirty.S && \
    ld -m elf_i386 -Ttext 0x100000 -e _start -o $d/dirty.elf $d/dirty.o || return 1
  chown -R $RUNAS_UID:$RUNAS_GID $d; chmod a+rx $d; chmod a+r $d/dirty.elf
}

# fresh per-side directories (a killed daemon leaves state behind)
reset_side_dirs() {
  for side in $SIDES; do
    # keep cache/ (QEMU capabilities cache: re-probing would add ~2 MB of QMP schema
    # replies to every daemon log); everything else starts empty
    rm -rf $BASE/$side/home $BASE/$side/config $BASE/$side/run $BASE/$side/cache/libvirt/qemu/log
    for d in home config/libvirt run cache; do mkdir -p $BASE/$side/$d; done
    chown -R $RUNAS_UID:$RUNAS_GID $BASE/$side
    chmod 700 $BASE/$side/run
  done
}

write_conf() {   # write_conf <side> <logfile>
  local side=$1 lf=$2 uuid outputs="1:file:$2"
  case $side in src) uuid=$SRC_UUID ;; dst) uuid=$DST_UUID ;; dst2) uuid=$DST2_UUID ;; esac
  # forms: the same records to every output at once (the file output is the reference)
  [ "$LOG_VIA" = forms ] && outputs="1:file:$lf 1:syslog:libvirtd-$side 1:journald 1:stderr"
  cat > $BASE/$side/config/libvirt/libvirtd.conf <<CONF
log_filters="$LOGFILTERS"
log_outputs="$outputs"
host_uuid="$uuid"
keepalive_interval=$KA_INTERVAL
keepalive_count=$KA_COUNT
CONF
  cat > $BASE/$side/config/libvirt/qemu.conf <<CONF
stdio_handler = "$STDIO_HANDLER"
keepalive_interval = $KA_INTERVAL
keepalive_count = $KA_COUNT
CONF
  # only used when something spawns a session virtlogd (stdio_handler = "logd")
  cat > $BASE/$side/config/libvirt/virtlogd.conf <<CONF
log_filters="$LOGFILTERS"
log_outputs="1:file:$(dirname $lf)/$side-virtlogd.log"
CONF
  chown -R $RUNAS_UID:$RUNAS_GID $BASE/$side/config
}

start_daemons() {
  rm -rf $LD; mkdir -p $LD; chown $RUNAS_UID:$RUNAS_GID $LD
  reset_side_dirs
  for side in $SIDES; do
    write_conf $side $LD/$side-libvirtd.log
    if [ "$LOG_VIA" = forms ]; then
      # the daemon's stderr goes to the journal as a systemd service's would (stdout transport,
      # identifier libvirtd); systemd-cat execs libvirtd, so the pid stays the daemon's
      EXEC=exec asuser $side systemd-cat -t libvirtd libvirtd -f $BASE/$side/config/libvirt/libvirtd.conf \
          > $LD/$side-libvirtd.stderr 2>&1 &
    else
      EXEC=exec asuser $side libvirtd -f $BASE/$side/config/libvirt/libvirtd.conf \
          > $LD/$side-libvirtd.stderr 2>&1 &
    fi
    echo $! > $BASE/$side.pid
  done
  for side in $SIDES; do
    for i in $(seq 1 100); do [ -S $(sock $side) ] && break; sleep 0.2; done
    vq $side version >/dev/null || { echo "daemon $side not up"; return 1; }
  done
  SRC_PID=$(cat $BASE/src.pid); DST_PID=$(cat $BASE/dst.pid)
  DST2_PID=$(cat $BASE/dst2.pid 2>/dev/null || true)
  return 0
}

# stop everything this scenario started: extra pids (virsh...), qemu (by pidfile),
# virtlogd (by pidfile), the daemons (by pid)
EXTRA_PIDS=""
stop_all() {
  local p f side
  for p in $EXTRA_PIDS; do
    kill -0 $p 2>/dev/null || continue
    kill -CONT $p 2>/dev/null; kill -TERM $p 2>/dev/null; sleep 0.5
    kill -0 $p 2>/dev/null && kill -KILL $p 2>/dev/null
  done
  EXTRA_PIDS=""
  for side in $SIDES; do [ -f $BASE/$side.pid ] && kill -CONT $(cat $BASE/$side.pid) 2>/dev/null; done
  for side in $SIDES; do
    for d in $DOM $DOM2; do
      f=$(qpidf $side $d); [ -f $f ] && kill -CONT $(cat $f) 2>/dev/null
      vq $side destroy $d >/dev/null 2>&1 || true
      vq $side undefine $d >/dev/null 2>&1 || true
    done
  done
  sleep 1
  for f in $BASE/*/run/libvirt/qemu/run/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f" 2>/dev/null)
    [ -n "$p" ] && kill -0 $p 2>/dev/null && grep -q qemu /proc/$p/comm 2>/dev/null && \
      { echo "killing leftover qemu $p ($f)"; kill -CONT $p; kill -TERM $p; sleep 0.5; kill -KILL $p 2>/dev/null; }
  done
  for side in $SIDES; do
    [ -f $BASE/$side.pid ] || continue
    p=$(cat $BASE/$side.pid)
    if kill -0 $p 2>/dev/null; then kill -CONT $p; kill -TERM $p; fi
    for i in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.2; done
    kill -0 $p 2>/dev/null && kill -KILL $p
    rm -f $BASE/$side.pid
  done
  for side in $SIDES; do
    f=$BASE/$side/run/libvirt/virtlogd.pid
    [ -f $f ] || continue
    p=$(cat $f 2>/dev/null)
    [ -n "$p" ] && kill -0 $p 2>/dev/null && grep -q virtlogd /proc/$p/comm 2>/dev/null && \
      { echo "stopping virtlogd $p ($side)"; kill -TERM $p; sleep 0.5; kill -KILL $p 2>/dev/null; }
  done
}

collect() {
  local d=$OUT/$SCEN f
  mkdir -p $d
  rm -f $d/*.log $d/*.out $d/TIMELINE.txt
  cp -f $LD/* $d/ 2>/dev/null
  rm -f $d/*.stderr
  for side in $SIDES; do
    for dom in $DOM $DOM2; do
      [ -f $BASE/$side/cache/libvirt/qemu/log/$dom.log ] && \
        cp -f $BASE/$side/cache/libvirt/qemu/log/$dom.log $d/$side-qemu-$dom.log
    done
  done
  find $d -empty -type f -delete
  chmod a+r $d/*
  ls -la $d
}

begin() {
  SCEN=$1; LD=$BASE/logs/$SCEN; T0=$(date +%s); EXTRA_PIDS=""
  make_guest_xml
  if [ "$LOG_VIA" = forms ]; then forms_start || { forms_stop; return 1; }; fi
  start_daemons || { stop_all; forms_stop; return 1; }
  local pids="src libvirtd pid=$SRC_PID dst libvirtd pid=$DST_PID"
  [ -n "$DST2_PID" ] && pids="$pids dst2 libvirtd pid=$DST2_PID"
  log "scenario $SCEN: $pids (log_filters=\"$LOGFILTERS\" log_outputs=\"$(sed -n 's/^log_outputs="\(.*\)"$/\1/p' $BASE/src/config/libvirt/libvirtd.conf)\" keepalive_interval=$KA_INTERVAL keepalive_count=$KA_COUNT stdio_handler=$STDIO_HANDLER)"
  MIGPORT=$((MIGPORT+1))
}
finish() {
  local side
  for side in $SIDES; do
    { echo "--- final 'virsh list --all' on $side:"; vq $side list --all; } >> $LD/TIMELINE.txt 2>&1
  done
  stop_all
  log "scenario $SCEN done in $(( $(date +%s) - T0 )) s"
  [ "$LOG_VIA" = forms ] && forms_collect
  forms_stop
  collect
  reset_knobs
}
start_guest() { vq src create $BASE/tiny.xml && log "guest $DOM started on src (qemu pid $(qpid src))"; }

# migrate_bg <mode> [extra virsh args]   mode: p2p | p2p-tunnelled | direct
# direct = client-managed (no --p2p): virsh itself talks to both daemons.
migrate_bg() {
  local mode=$1; shift
  local args=(migrate --live $MIG_VERBOSE)
  case $mode in
    p2p)           args+=(--p2p "$@" $DOM "${DST_URI:-$(uri dst)}" --migrateuri tcp://127.0.0.1:$MIGPORT) ;;
    p2p-tunnelled) args+=(--p2p --tunnelled "$@" $DOM "$(uri dst)") ;;
    direct)        args+=("$@" $DOM "$(uri dst)" --migrateuri tcp://127.0.0.1:$MIGPORT) ;;
  esac
  log "virsh ${args[*]}"
  EXEC=exec vsh src $LD/virsh-migrate.log "${args[@]}" > $LD/virsh-migrate.out 2>&1 &
  MIG_PID=$!; EXTRA_PIDS="$EXTRA_PIDS $MIG_PID"
  log "virsh migrate pid $MIG_PID"
}
wait_mig() {
  wait $MIG_PID; local rc=$?
  log "virsh migrate exited rc=$rc: $(grep -v ' : ' $LD/virsh-migrate.out | tr '\r\n' '  ' | tail -c 300)"
}
# wait until the destination shows the incoming (paused) domain, i.e. Prepare is done
wait_incoming() {
  for i in $(seq 1 150); do vq dst list --all 2>/dev/null | grep -q " $DOM " && break; sleep 0.1; done
  log "incoming domain visible on dst (qemu pid $(qpid dst))"
}

# ---------------------------------------------------------------- scenarios
# kill_qemu_in_perform <src|dst> <MiB/s> [mode]: migration (migrate_bg mode, default p2p) at
# that bandwidth; ~4 s after the destination shows the incoming domain (a few seconds into
# Perform) SIGKILL that side's QEMU
kill_qemu_in_perform() {
  local side=$1 who=destination qp
  [ $side = src ] && who=source
  migrate_bg ${3:-p2p} --bandwidth $2; wait_incoming; sleep 4
  qp=$(qpid $side)
  log "SIGKILL $who qemu pid $qp"; kill -KILL $qp
  wait_mig; sleep 3
}

sc_dst-qemu-killed() {
  begin dst-qemu-killed || return; start_guest
  kill_qemu_in_perform dst 1
  finish
}

sc_dst-daemon-killed() {
  begin dst-daemon-killed || return; start_guest
  migrate_bg p2p --bandwidth 1; wait_incoming; sleep 4
  local qp=$(qpid dst)
  log "SIGKILL destination libvirtd pid $DST_PID (its qemu pid $qp keeps running)"
  kill -KILL $DST_PID
  wait_mig; sleep 2
  log "destination qemu $qp still alive: $(kill -0 $qp 2>/dev/null && echo yes || echo no); killing it (SIGTERM)"
  kill -TERM $qp 2>/dev/null; sleep 1
  finish
}

sc_rpc-filtered-keepalive() {
  LOGFILTERS=$KBASE_FILTERS; VSH_FILTERS=$KBASE_FILTERS
  begin rpc-filtered-keepalive || return; start_guest
  migrate_bg p2p --bandwidth 1; wait_incoming; sleep 3
  log "SIGSTOP destination libvirtd pid $DST_PID"; kill -STOP $DST_PID
  wait_mig; sleep 2
  log "SIGCONT destination libvirtd pid $DST_PID"; kill -CONT $DST_PID
  sleep 6
  finish
}

sc_short-keepalive() {
  KA_INTERVAL=2; KA_COUNT=3
  begin short-keepalive || return; start_guest
  migrate_bg p2p --bandwidth 1; wait_incoming; sleep 3
  log "SIGSTOP destination libvirtd pid $DST_PID"; kill -STOP $DST_PID
  wait_mig; sleep 2
  log "SIGCONT destination libvirtd pid $DST_PID"; kill -CONT $DST_PID
  sleep 4
  finish
}

sc_domain-exists() {
  begin domain-exists || return
  local other=0b9d4c3e-2f61-4a7b-8e90-d1c2b3a4f5e6
  domxml $DOM $other > $BASE/tiny-other.xml; chown $RUNAS_UID:$RUNAS_GID $BASE/tiny-other.xml
  vq dst define $BASE/tiny-other.xml >/dev/null && log "defined (not started) a different domain '$DOM' uuid=$other on dst"
  start_guest
  migrate_bg p2p; wait_mig
  vq dst undefine $DOM >/dev/null 2>&1
  finish
}

sc_client-keepalive-nonp2p() {
  begin client-keepalive-nonp2p || return; start_guest
  migrate_bg direct --bandwidth 1; wait_incoming; sleep 3
  log "SIGSTOP virsh pid $MIG_PID"; kill -STOP $MIG_PID
  for i in $(seq 1 90); do
    grep -q "RPC_KEEPALIVE_TIMEOUT.*countToDeath=0" $LD/src-libvirtd.log $LD/dst-libvirtd.log 2>/dev/null && break; sleep 1
  done
  log "a daemon logged RPC_KEEPALIVE_TIMEOUT countToDeath=0 (waited ${i}s)"
  sleep 8
  log "SIGCONT virsh pid $MIG_PID"; kill -CONT $MIG_PID
  for i in $(seq 1 20); do kill -0 $MIG_PID 2>/dev/null || break; sleep 0.5; done
  if kill -0 $MIG_PID 2>/dev/null; then log "virsh still running after SIGCONT -> SIGINT"; kill -INT $MIG_PID; fi
  wait_mig; sleep 2
  finish
}

# like client-keepalive-nonp2p, but at 2 MiB/s the migration (~24 s) completes while virsh
# is frozen: the source job then waits for Confirm3 with a close callback on virsh's
# connection, and the keepalive death of that connection fires it
sc_client-keepalive-nonp2p-late() {
  begin client-keepalive-nonp2p-late || return; start_guest
  migrate_bg direct --bandwidth 2; wait_incoming; sleep 2
  log "SIGSTOP virsh pid $MIG_PID"; kill -STOP $MIG_PID
  for i in $(seq 1 90); do
    [ $(grep -c "RPC_KEEPALIVE_TIMEOUT.*countToDeath=0" $LD/src-libvirtd.log $LD/dst-libvirtd.log 2>/dev/null | \
        awk -F: '{s+=$2} END {print s}') -ge 2 ] && break; sleep 1
  done
  log "both daemons logged RPC_KEEPALIVE_TIMEOUT countToDeath=0 (waited ${i}s)"
  sleep 5
  log "SIGCONT virsh pid $MIG_PID"; kill -CONT $MIG_PID
  for i in $(seq 1 20); do kill -0 $MIG_PID 2>/dev/null || break; sleep 0.5; done
  if kill -0 $MIG_PID 2>/dev/null; then log "virsh still running after SIGCONT -> SIGINT"; kill -INT $MIG_PID; fi
  wait_mig; sleep 2
  log "domain state on src: $(vq src domstate $DOM --reason 2>&1 | tr '\n' ' ')"
  finish
}

sc_nonp2p-ok() {
  begin nonp2p-ok || return; start_guest
  migrate_bg direct; wait_mig
  finish
}

sc_tunnelled-ok() {
  # every 64 KiB chunk of a tunnelled stream costs ~14 debug lines in each daemon log:
  # 16 MiB of random guest RAM instead of 48 keeps the logs under ~1 MB
  RAND_MB=16
  begin tunnelled-ok || return; start_guest
  migrate_bg p2p-tunnelled; wait_mig
  finish
}

# dst-qemu-killed in tunnelled mode: `--p2p --tunnelled --bandwidth 1` (the source QEMU writes
# the migration data into a pipe, the source libvirtd forwards it as a virStream over the
# daemons' own connection to the destination libvirtd, which writes it into the incoming
# QEMU's pipe). 16 MiB of random guest RAM as in tunnelled-ok (every 64 KiB chunk costs ~14
# debug lines per daemon log) at 1 MiB/s: ~16 s. ~4 s after the destination showed the
# incoming domain the DESTINATION QEMU is SIGKILLed
sc_tunnelled-dst-qemu-killed() {
  RAND_MB=16
  begin tunnelled-dst-qemu-killed || return; start_guest
  kill_qemu_in_perform dst 1 p2p-tunnelled
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
  finish
}

sc_virtlogd-client() {
  STDIO_HANDLER=logd
  begin virtlogd-client || return; start_guest
  for side in src; do log "virtlogd of $side: pid $(cat $BASE/$side/run/libvirt/virtlogd.pid 2>/dev/null)"; done
  migrate_bg p2p; wait_mig
  for side in src dst; do log "virtlogd of $side: pid $(cat $BASE/$side/run/libvirt/virtlogd.pid 2>/dev/null)"; done
  finish
}

sc_save-negative() {
  begin save-negative || return; start_guest
  local mem=$BASE/tiny-snap.mem save=$BASE/tiny.save
  rm -f $mem $save
  log "virsh snapshot-create-as $DOM snap1 --memspec file=$mem,snapshot=external --no-metadata (on src)"
  vsh src $LD/virsh-snapshot.log snapshot-create-as $DOM snap1 --memspec file=$mem,snapshot=external \
      --no-metadata > $LD/virsh-snapshot.out 2>&1
  log "virsh snapshot-create-as exited rc=$?: $(grep -v ' : ' $LD/virsh-snapshot.out | tr '\n' ' ')"
  log "virsh save $DOM $save (on src)"
  vsh src $LD/virsh-save.log save $DOM $save > $LD/virsh-save.out 2>&1
  log "virsh save exited rc=$?: $(grep -v ' : ' $LD/virsh-save.out | tr '\n' ' ')"
  log "virsh restore $save (on src)"
  vsh src $LD/virsh-restore.log restore $save > $LD/virsh-restore.out 2>&1
  log "virsh restore exited rc=$?: $(grep -v ' : ' $LD/virsh-restore.out | tr '\n' ' ')"
  rm -f $mem $save
  finish
}

sc_lock-timeout() {
  # no --verbose (first runs used it; same result): virsh's own job poll
  # (virDomainGetJobInfo) times out on the same lock and virsh then prints only an
  # empty line, not the error; the error is in virsh-migrate.log and the daemon log
  MIG_VERBOSE=""
  begin lock-timeout || return; start_guest
  local qp=$(qpid src)
  log "SIGSTOP source qemu pid $qp"; kill -STOP $qp
  log "virsh suspend $DOM (on src, in background; hangs on the frozen monitor holding the job)"
  EXEC=exec vsh src $LD/virsh-suspend.log suspend $DOM > $LD/virsh-suspend.out 2>&1 &
  local sp=$!; EXTRA_PIDS="$EXTRA_PIDS $sp"
  sleep 2
  migrate_bg p2p; wait_mig
  log "SIGCONT source qemu pid $qp"; kill -CONT $qp
  for i in $(seq 1 20); do kill -0 $sp 2>/dev/null || break; sleep 0.5; done
  wait $sp; log "virsh suspend exited rc=$?: $(grep -v ' : ' $LD/virsh-suspend.out | tr '\n' ' ')"
  finish
}

# the guest (build_dirty_kernel) keeps 32 MiB dirty while the migration is throttled to
# 2 MiB/s: every pass over the dirty region takes ~16 s and finds it all dirty again, so
# the migration never reaches the 300 ms downtime limit; virsh --verbose polls
# virDomainGetJobInfo (query-migrate in the source log) every 0.5 s; domjobabort after ~45 s
sc_not-converging() {
  RAND_MB=0; GUEST_KERNEL=$BASE/dirty/dirty.elf
  build_dirty_kernel || { echo "cannot build the dirtying kernel"; reset_knobs; return 1; }
  begin not-converging || return; start_guest
  sleep 2
  migrate_bg p2p --bandwidth 2; wait_incoming; sleep 45
  log "virsh domjobabort $DOM (on src)"
  vsh src $LD/virsh-domjobabort.log domjobabort $DOM > $LD/virsh-domjobabort.out 2>&1
  log "virsh domjobabort exited rc=$?: $(grep -v ' : ' $LD/virsh-domjobabort.out | tr '\n' ' ')"
  wait_mig; sleep 2
  finish
}

# the same dirtying guest (build_dirty_kernel), migrated with --postcopy: pre-copy at 2 MiB/s
# (which would never converge); after 8 s, still in the first pass, `virsh migrate-postcopy`
# switches it to post-copy (QMP migrate-start-postcopy) and the guest runs on the destination.
# The post-copy phase is throttled too (--postcopy-bandwidth 2, else the rest of guest RAM would
# go over loopback in a fraction of a second and post-copy would be over at once); ~4 s after
# the switch the destination QEMU (which now runs the guest) is SIGKILLed, as if the
# destination host crashed. No --postcopy-resume: the failure is only recorded.
# Post-copy needs userfaultfd in the destination QEMU, which runs as nobody here: with the
# kernel default vm.unprivileged_userfaultfd=0 it fails ("userfaultfd not available:
# Operation not permitted" in the dst QEMU log, and libvirt's migrate-set-capabilities error
# "Postcopy is not supported"), so this scenario sets it to 1 (what hosts that use post-copy
# with an unprivileged QEMU do) and puts the old value back at the end.
sc_postcopy-failed() {
  RAND_MB=0; GUEST_KERNEL=$BASE/dirty/dirty.elf
  build_dirty_kernel || { echo "cannot build the dirtying kernel"; reset_knobs; return 1; }
  local uffd=/proc/sys/vm/unprivileged_userfaultfd old_uffd
  old_uffd=$(cat $uffd) && echo 1 > $uffd || { echo "cannot set $uffd"; reset_knobs; return 1; }
  begin postcopy-failed || { echo $old_uffd > $uffd; return; }
  log "sysctl vm.unprivileged_userfaultfd: was $old_uffd, set to $(cat $uffd) for this scenario"
  start_guest
  sleep 2
  migrate_bg p2p --postcopy --bandwidth 2 --postcopy-bandwidth 2; wait_incoming; sleep 8
  log "virsh migrate-postcopy $DOM (on src)"
  vsh src $LD/virsh-migrate-postcopy.log migrate-postcopy $DOM > $LD/virsh-migrate-postcopy.out 2>&1
  log "virsh migrate-postcopy exited rc=$?: $(grep -v ' : ' $LD/virsh-migrate-postcopy.out | tr '\n' ' ')"
  for i in $(seq 1 50); do
    grep -q "changed state to postcopy-active" $LD/src-libvirtd.log 2>/dev/null && break; sleep 0.1
  done
  log "src log shows 'changed state to postcopy-active': $(grep -q 'changed state to postcopy-active' $LD/src-libvirtd.log && echo yes || echo no)"
  sleep 4
  local qp=$(qpid dst)
  if [ -n "$qp" ]; then log "SIGKILL destination qemu pid $qp"; kill -KILL $qp
  else log "no destination qemu left to kill"; fi
  for i in $(seq 1 120); do kill -0 $MIG_PID 2>/dev/null || break; sleep 0.5; done
  kill -0 $MIG_PID 2>/dev/null && log "virsh migrate still running 60 s after the kill (stopped by finish)" || wait_mig
  sleep 3
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
  log "finish: 'virsh list --all' on both sides, then virsh destroy $DOM on each side and every process stopped by PID"
  finish
  echo $old_uffd > $uffd; echo "sysctl vm.unprivileged_userfaultfd set back to $(cat $uffd)"
}

# the mirror image of dst-qemu-killed: p2p at 2 MiB/s (48 MiB of random guest RAM, ~25 s),
# and ~4 s after the destination showed the incoming domain, i.e. a few seconds into Perform,
# the SOURCE QEMU (the one running the guest) is SIGKILLed, as a crash of it would
sc_src-qemu-killed() {
  begin src-qemu-killed || return; start_guest
  kill_qemu_in_perform src 2
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
  finish
}

# the migration URI (--migrateuri tcp://127.0.0.1:$MIGPORT) names a port that another process
# already listens on, on the destination side: a small python3 listener (as nobody, its own
# process) on 127.0.0.1:$MIGPORT that never accepts. libvirt does not allocate a port when the
# URI names one; it tells the destination QEMU `migrate-incoming tcp:[::]:PORT`, and that bind
# SUCCEEDS next to the 127.0.0.1 listener (no "Address already in use"). The source QEMU then
# connects to 127.0.0.1:PORT, the more specific listener gets the connection, and the stream
# stalls once the socket buffers are full; libvirt has no timeout for it (a first run with a
# 600 s listener stalled for 600 s, and failed with "Connection reset by peer" when the listener
# exited). So ~20 s after the incoming domain shows up the listener is stopped by PID (SIGTERM:
# its unaccepted connection is reset), as a squatter that closes would do
sc_migration-port-in-use() {
  begin migration-port-in-use || return; start_guest
  EXEC=exec asuser dst python3 -c "import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $MIGPORT)); s.listen(1); time.sleep(600)" >/dev/null 2>&1 &
  local lp=$! i
  EXTRA_PIDS="$EXTRA_PIDS $lp"
  for i in $(seq 1 50); do ss -Hltn "sport = :$MIGPORT" | grep -q . && break; sleep 0.1; done
  log "listener pid $lp (python3, as nobody): $(ss -Hltn "sport = :$MIGPORT" | awk '{print $1, $4}' | tr '\n' ' ')"
  migrate_bg p2p; wait_incoming; sleep 1
  log "sockets on port $MIGPORT: $(ss -Htn -a "sport = :$MIGPORT or dport = :$MIGPORT" | awk '{print $1, $4, $5}' | tr '\n' ';')"
  sleep 19
  log "SIGTERM listener pid $lp"; kill -TERM $lp
  wait_mig; sleep 2
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
  finish
}

# a network partition of the migration data path only: p2p at 2 MiB/s (48 MiB of random guest
# RAM, ~25 s); ~4 s after the destination showed the incoming domain, iptables DROPs every TCP
# packet to and from the migration port on the loopback interface (INPUT -i lo, --dport and
# --sport: the data and the ACKs), so the stream stalls silently (no RST, no error: the
# sender's TCP retransmits with backoff for ~15 min, tcp_retries2) while the daemons' own
# connection, a unix socket here, stays healthy. After ~20 s of stall the operator cancels:
# `virsh domjobabort` on src. ~10 s later (whether or not the migration has ended by then) the
# rules are deleted again (exactly those, -D), and `iptables -S` before/after goes into
# TIMELINE.txt. A trap deletes them too if the scenario ends early (return, exit, signal).
STREAM_RULES=()
stream_rules_del() {   # delete the rules this scenario added (only those), log the ruleset
  local r
  [ ${#STREAM_RULES[@]} -gt 0 ] || return 0
  for r in "${STREAM_RULES[@]}"; do
    iptables -D $r && log "iptables -D $r" || log "iptables -D $r FAILED"
  done
  STREAM_RULES=()
  log "iptables -S after removal: $(iptables -S | tr '\n' ';')"
}
sc_stream-blocked-cancelled() {
  begin stream-blocked-cancelled || return
  trap 'stream_rules_del; trap - RETURN EXIT INT TERM HUP' RETURN
  trap 'stream_rules_del' EXIT
  trap 'stream_rules_del; exit 130' INT TERM HUP
  start_guest
  local ss_f="sport = :$MIGPORT or dport = :$MIGPORT" r i
  log "iptables -S before: $(iptables -S | tr '\n' ';')"
  migrate_bg p2p --bandwidth 2; wait_incoming; sleep 4
  log "sockets on port $MIGPORT: $(ss -Htin "$ss_f" | tr -s ' \t\n' ' ')"
  for r in "INPUT -i lo -p tcp --dport $MIGPORT -j DROP" "INPUT -i lo -p tcp --sport $MIGPORT -j DROP"; do
    iptables -I $r && { STREAM_RULES+=("$r"); log "iptables -I $r"; } || log "iptables -I $r FAILED"
  done
  log "iptables -S with the block: $(iptables -S | tr '\n' ';')"
  for i in 2 10 20; do   # snapshots of the stalled connection 2, 10 and 20 s into the block
    case $i in 2) sleep 2 ;; 10) sleep 8 ;; 20) sleep 10 ;; esac
    log "sockets on port $MIGPORT ${i}s into the block: $(ss -Htin "$ss_f" | tr -s ' \t\n' ' ')"
  done
  log "virsh domjobabort $DOM (on src)"
  vsh src $LD/virsh-domjobabort.log domjobabort $DOM > $LD/virsh-domjobabort.out 2>&1
  log "virsh domjobabort exited rc=$?: $(grep -v ' : ' $LD/virsh-domjobabort.out | tr '\n' ' ')"
  for i in $(seq 1 20); do kill -0 $MIG_PID 2>/dev/null || break; sleep 0.5; done
  kill -0 $MIG_PID 2>/dev/null && log "virsh migrate still running 10 s after domjobabort (rules still in place)" \
                               || log "virsh migrate ended within $((i/2)) s of domjobabort (rules still in place)"
  log "sockets on port $MIGPORT: $(ss -Htin "$ss_f" | tr -s ' \t\n' ' ')"
  stream_rules_del
  for i in $(seq 1 60); do kill -0 $MIG_PID 2>/dev/null || break; sleep 0.5; done
  kill -0 $MIG_PID 2>/dev/null && log "virsh migrate still running 30 s after the rules were removed (stopped by finish)" || wait_mig
  sleep 2
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
  finish
}

# a network partition of the daemons' own connection (the dconn), both daemons healthy: the
# source reaches the destination daemon through tcp-relay.py (qemu+tcp://127.0.0.1:16710/session
# -> the destination's unix socket, run as the daemons' user), so the dconn is a TCP connection;
# the migration data goes over its own port as usual.  p2p at 1 MiB/s (48 MiB of random guest
# RAM, ~50 s); ~3 s after the destination showed the incoming domain, iptables DROPs every
# packet to and from port 16710 on the loopback interface (no RST): the keepalive pings and
# replies of both daemons are lost while both keep running.  The rules are deleted once virsh
# migrate has ended (a trap deletes them too if the scenario ends early); the relay is stopped.
sc_dconn-blocked-keepalive() {
  local port=16710 r
  begin dconn-blocked-keepalive || return
  trap 'stream_rules_del; trap - RETURN EXIT INT TERM HUP' RETURN
  trap 'stream_rules_del' EXIT
  trap 'stream_rules_del; exit 130' INT TERM HUP
  start_guest
  EXEC=exec asuser dst python3 $HERE/tcp-relay.py 127.0.0.1 $port "$(sock dst)" >> $LD/TIMELINE.txt 2>&1 &
  local relay=$!; EXTRA_PIDS="$EXTRA_PIDS $relay"
  sleep 1
  log "tcp-relay pid $relay: 127.0.0.1:$port -> $(sock dst)"
  DST_URI="qemu+tcp://127.0.0.1:$port/session"
  log "iptables -S before: $(iptables -S | tr '\n' ';')"
  migrate_bg p2p --bandwidth 1; wait_incoming; sleep 3
  log "sockets on port $port: $(ss -Htin "sport = :$port or dport = :$port" | tr -s ' \t\n' ' ')"
  for r in "INPUT -i lo -p tcp --dport $port -j DROP" "INPUT -i lo -p tcp --sport $port -j DROP"; do
    iptables -I $r && { STREAM_RULES+=("$r"); log "iptables -I $r"; } || log "iptables -I $r FAILED"
  done
  log "iptables -S with the block: $(iptables -S | tr '\n' ';')"
  wait_mig
  log "sockets on port $port: $(ss -Htin "sport = :$port or dport = :$port" | tr -s ' \t\n' ' ')"
  stream_rules_del
  sleep 2
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
  finish
}

# "shared storage not mounted on the destination": the guest gets a disk, a 16 MiB raw file
# ($BASE/tiny-disk.raw, made with truncate, owned by nobody, virtio vda, cache default). Once
# the source QEMU has it open, the file is deleted: the source keeps its open descriptor (the
# guest runs on), but both daemons share this machine's filesystem, so for the destination the
# disk is gone, as on a destination where the NFS share is not mounted. Then two p2p
# migrations without storage copy, on the same daemons: first without --unsafe (libvirt's
# safety check refuses it: the disk is on a local, non-shared filesystem), its virsh logs in
# virsh-migrate-refused.{log,out}; then with --unsafe (the scenario's migration, virsh-migrate.*),
# which lets the destination try to use the missing disk. The disk file is removed at the end
# (it already is, unless the scenario stopped early).
sc_dst-storage-missing() {
  DISK_FILE=$BASE/tiny-disk.raw
  rm -f $DISK_FILE; truncate -s 16M $DISK_FILE && chown $RUNAS_UID:$RUNAS_GID $DISK_FILE && \
    chmod 600 $DISK_FILE || { echo "cannot create $DISK_FILE"; rm -f $DISK_FILE; reset_knobs; return 1; }
  local disk=$DISK_FILE
  begin dst-storage-missing || { rm -f $disk; return; }
  log "disk file: $(ls -l $disk) (filesystem $(stat -f -c %T $(dirname $disk)))"
  start_guest
  local qp=$(qpid src)
  log "source qemu pid $qp has the disk open: $(ls -l /proc/$qp/fd 2>/dev/null | grep -F "$disk" | awk '{print $(NF-2), $(NF-1), $NF}' | tr '\n' ';')"
  rm -f $disk
  log "deleted $disk (exists now: $([ -e $disk ] && echo yes || echo no)); source qemu fd: $(ls -l /proc/$qp/fd 2>/dev/null | grep -F "$disk" | awk '{print $(NF-3), $(NF-2), $(NF-1), $NF}' | tr '\n' ';')"
  local args=(migrate --live $MIG_VERBOSE --p2p $DOM "$(uri dst)" --migrateuri tcp://127.0.0.1:$MIGPORT)
  log "virsh ${args[*]}   (without --unsafe)"
  vsh src $LD/virsh-migrate-refused.log "${args[@]}" > $LD/virsh-migrate-refused.out 2>&1
  log "virsh migrate (without --unsafe) exited rc=$?: $(grep -v ' : ' $LD/virsh-migrate-refused.out | tr '\r\n' '  ' | tail -c 300)"
  sleep 2
  migrate_bg p2p --unsafe; wait_mig; sleep 2
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
  finish
  rm -f $disk; echo "disk file $disk removed (exists: $([ -e $disk ] && echo yes || echo no))"
}

# ---- migrations libvirt refuses up front (issue 14): one virsh migrate each, with a flag
# combination or a device the source's checks reject before any data is sent. The daemons'
# filters are the lab's (3:util), so a refusal reported as OPERATION_INVALID, which the daemon
# logs at debug level (daemonErrorLogFilter), leaves no error line: only virsh shows the reason.
# refused_migrate <virsh migrate args...>: run it, wait for it, record the domain state after
refused_migrate() {
  local args=(migrate "$@" $DOM "$(uri dst)")
  log "virsh ${args[*]}"
  vsh src $LD/virsh-migrate.log "${args[@]}" > $LD/virsh-migrate.out 2>&1
  log "virsh migrate exited rc=$?: $(grep -v ' : ' $LD/virsh-migrate.out | tr '\r\n' '  ' | tail -c 300)"
  sleep 1
  for side in src dst; do log "domain state on $side: $(vq $side domstate $DOM --reason 2>&1 | tr '\n' ' ')"; done
}
# post-copy over a tunnelled (libvirt-stream) migration: ARGUMENT_UNSUPPORTED, logged at error
sc_refused-postcopy-tunnelled() {
  begin refused-postcopy-tunnelled || return; start_guest
  refused_migrate --live --p2p --tunnelled --postcopy
  finish
}
# post-copy without --live: ARGUMENT_UNSUPPORTED
sc_refused-postcopy-offline() {
  begin refused-postcopy-offline || return; start_guest
  refused_migrate --p2p --postcopy --migrateuri tcp://127.0.0.1:$MIGPORT
  finish
}
# zero-copy without parallel (multifd) migration: OPERATION_INVALID, demoted to debug
sc_refused-zerocopy() {
  begin refused-zerocopy || return; start_guest
  refused_migrate --live --p2p --zerocopy --migrateuri tcp://127.0.0.1:$MIGPORT
  finish
}
# a device libvirt does not migrate: an ivshmem-plain shared memory region without
# role='master' (QEMU maps /dev/shm/lab-shm): OPERATION_INVALID, demoted to debug
sc_refused-shmem-device() {
  EXTRA_DEVICES="
    <shmem name='lab-shm'>
      <model type='ivshmem-plain'/>
      <size unit='M'>4</size>
    </shmem>"
  begin refused-shmem-device || return; start_guest
  refused_migrate --live --p2p --migrateuri tcp://127.0.0.1:$MIGPORT
  finish
  rm -f /dev/shm/lab-shm
}

# ---------------------------------------------------------------- logs through syslog and journald
# LOG_VIA=forms: every daemon writes each record to four outputs at once,
#   log_outputs="1:file:<side>-libvirtd.log 1:syslog:libvirtd-<side> 1:journald 1:stderr"
# so one run gives the same records in every form a host really writes (the file is the
# reference the others are compared with):
# - syslog: a real rsyslogd (own config; it owns /dev/log, which glibc's syslog() writes to),
#   one file per daemon in the traditional and the high-precision template, and `messages`
#   with everything it received (both daemons interleaved, as /var/log/messages);
# - journald: Debian's real systemd-journald, standalone (no systemd as PID 1), in a private
#   mount namespace that bind-mounts its config and its journal directory (it has no option
#   for either); its sockets are in the shared /run/systemd/journal/;
# - stderr: the daemon's stderr is connected to the same journald with systemd-cat (stdout
#   transport, identifier libvirtd), as systemd does for a service's stderr.
# Both log daemons are started before the libvirt daemons and stopped by PID after the export.
FORMS_RUN_JOURNAL_EXISTED=1
forms_start() {
  F=$BASE/forms
  if [ -e /dev/log ]; then echo "/dev/log exists: another syslog daemon is running"; return 1; fi
  if [ -S /run/systemd/journal/socket ] && pgrep -x systemd-journal >/dev/null; then
    echo "a systemd-journald is already running"; return 1; fi
  [ -d /run/systemd/journal ] && FORMS_RUN_JOURNAL_EXISTED=1 || FORMS_RUN_JOURNAL_EXISTED=0
  rm -rf $F; mkdir -p $F/rsyslog-work $F/syslog $F/journald/runlog
  { echo "global(workDirectory=\"$F/rsyslog-work\")"
    echo 'module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")'
    echo "*.* action(type=\"omfile\" file=\"$F/syslog/messages\" template=\"RSYSLOG_TraditionalFileFormat\")"
    for side in $SIDES; do
      echo "if \$programname == 'libvirtd-$side' then {"
      echo "  action(type=\"omfile\" file=\"$F/syslog/$side-syslog.log\" template=\"RSYSLOG_TraditionalFileFormat\")"
      echo "  action(type=\"omfile\" file=\"$F/syslog/$side-syslog-precise.log\" template=\"RSYSLOG_FileFormat\")"
      echo "}"
    done; } > $F/rsyslog.conf
  rsyslogd -f $F/rsyslog.conf -i $F/rsyslog.pid || { echo "rsyslogd did not start"; return 1; }
  for i in $(seq 1 50); do [ -S /dev/log ] && break; sleep 0.1; done
  cat > $F/journald/journald.conf <<'CONF'
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
RuntimeMaxUse=2G
RuntimeMaxFileSize=1G
CONF
  setsid unshare -m --propagation private sh -c "mount --bind $F/journald/journald.conf /etc/systemd/journald.conf &&
    mount --bind $F/journald/runlog /run/log &&
    exec env SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info /lib/systemd/systemd-journald" \
    > $F/journald/journald.stderr 2>&1 &
  JOURNALD_PID=$!
  for i in $(seq 1 100); do [ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/stdout ] && break; sleep 0.1; done
  [ -S /run/systemd/journal/stdout ] || { echo "journald did not start"; return 1; }
  echo "forms: rsyslogd pid $(cat $F/rsyslog.pid), systemd-journald pid $JOURNALD_PID"
}
forms_stop() {
  local p
  [ -n "${F:-}" ] || return 0
  if [ -f $F/rsyslog.pid ]; then
    p=$(cat $F/rsyslog.pid); kill -TERM $p 2>/dev/null
    for i in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
    rm -f $F/rsyslog.pid
  fi
  if [ -n "${JOURNALD_PID:-}" ]; then
    kill -TERM $JOURNALD_PID 2>/dev/null
    for i in $(seq 1 50); do kill -0 $JOURNALD_PID 2>/dev/null || break; sleep 0.1; done
    kill -0 $JOURNALD_PID 2>/dev/null && kill -KILL $JOURNALD_PID
    JOURNALD_PID=""
    # leave /run as it was: the sockets journald made there have no listener any more
    [ $FORMS_RUN_JOURNAL_EXISTED = 0 ] && rm -rf /run/systemd/journal
  fi
  F=""
}
# export what the log daemons got, per daemon pid (the stderr form: the stdout transport)
forms_collect() {
  local J=$F/journald/runlog/journal/$(cat /etc/machine-id) side pid
  for side in $SIDES; do
    case $side in src) pid=$SRC_PID ;; dst) pid=$DST_PID ;; dst2) pid=$DST2_PID ;; esac
    journalctl -D $J -o json          _PID=$pid _TRANSPORT=journal > $LD/$side-journal.json
    journalctl -D $J -o export        _PID=$pid _TRANSPORT=journal > $LD/$side-journal.export
    journalctl -D $J -o short-precise _PID=$pid _TRANSPORT=journal > $LD/$side-journal-short-precise.txt
    journalctl -D $J -o short-precise _PID=$pid _TRANSPORT=stdout  > $LD/$side-stderr-journal-short-precise.txt
    journalctl -D $J -o short-iso     _PID=$pid _TRANSPORT=stdout  > $LD/$side-stderr-journal-short-iso.txt
    cp $F/syslog/$side-syslog.log $F/syslog/$side-syslog-precise.log $LD/ 2>/dev/null
  done
  cp $F/syslog/messages $LD/syslog-messages.log
  log "journal: $(journalctl -D $J -q --no-pager -o cat | wc -l) lines in all; syslog: $(wc -l < $F/syslog/messages) lines in messages"
}

# ---------------------------------------------------------------- concurrent migrations
start_guest2() { vq src create $BASE/tiny2.xml && log "guest $DOM2 started on src (qemu pid $(qpid src $DOM2))"; }
# migrate_dom_bg <domain> <dst side> <port> [extra virsh args]: a p2p migration of one of two
# guests, its virsh logs in virsh-migrate-<domain>.{log,out}; sets MIG_PID_<domain>
migrate_dom_bg() {
  local dom=$1 to=$2 port=$3; shift 3
  local args=(migrate --live $MIG_VERBOSE --p2p "$@" $dom "$(uri $to)" --migrateuri tcp://127.0.0.1:$port)
  log "virsh ${args[*]}"
  EXEC=exec vsh src $LD/virsh-migrate-$dom.log "${args[@]}" > $LD/virsh-migrate-$dom.out 2>&1 &
  local p=$!; EXTRA_PIDS="$EXTRA_PIDS $p"; eval "MIG_PID_$dom=$p"
  log "virsh migrate of $dom pid $p"
}
wait_dom_mig() {   # wait_dom_mig <domain>
  local p; eval "p=\$MIG_PID_$1"
  wait $p; local rc=$?
  log "virsh migrate of $1 exited rc=$rc: $(grep -v ' : ' $LD/virsh-migrate-$1.out | tr '\r\n' '  ' | tail -c 300)"
}
wait_incoming_on() {   # wait_incoming_on <side> <domain>
  for i in $(seq 1 150); do vq $1 list --all 2>/dev/null | grep -q " $2 " && break; sleep 0.1; done
  log "incoming domain $2 visible on $1 (qemu pid $(qpid $1 $2))"
}

# two guests leave src at the same moment, tiny for dst and tiny2 for dst2 (a third daemon),
# both p2p at --bandwidth 1 (48 MiB of random RAM each: ~50 s); 3 s after both incoming
# domains show up, dst2's daemon is frozen (SIGSTOP): tiny2's dconn dies by keepalive while
# tiny's migration goes on to the end. Every daemon logs through all outputs (LOG_VIA=forms):
# the journal has no thread ids, and both migrations run in src at once
sc_forms-concurrent-keepalive() {
  LOG_VIA=forms; SIDES="src dst dst2"
  begin forms-concurrent-keepalive || return; start_guest; start_guest2
  local p1=$MIGPORT p2=$((MIGPORT+1)); MIGPORT=$((MIGPORT+1))
  migrate_dom_bg $DOM dst $p1 --bandwidth 1
  migrate_dom_bg $DOM2 dst2 $p2 --bandwidth 1
  wait_incoming_on dst $DOM; wait_incoming_on dst2 $DOM2; sleep 3
  log "SIGSTOP dst2 libvirtd pid $DST2_PID"; kill -STOP $DST2_PID
  wait_dom_mig $DOM2; sleep 2
  log "SIGCONT dst2 libvirtd pid $DST2_PID"; kill -CONT $DST2_PID
  wait_dom_mig $DOM; sleep 4
  for side in $SIDES; do log "domains on $side: $(vq $side list --all 2>&1 | tr -s ' \n' ' ')"; done
  finish
}

# two guests leave src for dst at the same moment, both p2p at --bandwidth 1; ~8 s after both
# incoming domains show up `virsh domjobabort tiny` cancels the first, tiny2's goes on to the end
sc_forms-concurrent-abort() {
  LOG_VIA=forms
  begin forms-concurrent-abort || return; start_guest; start_guest2
  local p1=$MIGPORT p2=$((MIGPORT+1)); MIGPORT=$((MIGPORT+1))
  migrate_dom_bg $DOM dst $p1 --bandwidth 1
  migrate_dom_bg $DOM2 dst $p2 --bandwidth 1
  wait_incoming_on dst $DOM; wait_incoming_on dst $DOM2; sleep 8
  log "virsh domjobabort $DOM (on src)"
  vsh src $LD/virsh-domjobabort.log domjobabort $DOM > $LD/virsh-domjobabort.out 2>&1
  log "virsh domjobabort exited rc=$?: $(grep -v ' : ' $LD/virsh-domjobabort.out | tr '\n' ' ')"
  wait_dom_mig $DOM; wait_dom_mig $DOM2; sleep 2
  for side in $SIDES; do log "domains on $side: $(vq $side list --all 2>&1 | tr -s ' \n' ' ')"; done
  finish
}

ALL="dst-qemu-killed dst-daemon-killed rpc-filtered-keepalive short-keepalive domain-exists
client-keepalive-nonp2p client-keepalive-nonp2p-late nonp2p-ok tunnelled-ok virtlogd-client save-negative lock-timeout
not-converging postcopy-failed src-qemu-killed migration-port-in-use stream-blocked-cancelled
dst-storage-missing tunnelled-dst-qemu-killed refused-postcopy-tunnelled refused-postcopy-offline
refused-zerocopy refused-shmem-device dconn-blocked-keepalive forms-concurrent-keepalive forms-concurrent-abort"
[ $(id -u) = 0 ] || { echo "run as root"; exit 1; }
reset_knobs
setup_base
echo "libvirt: $(libvirtd --version)  qemu: $(qemu-system-x86_64 --version | head -1)"
TSTART=$(date +%s)
for s in ${@:-$ALL}; do sc_$s; done
echo "all requested scenarios done in $(( $(date +%s) - TSTART )) s"
