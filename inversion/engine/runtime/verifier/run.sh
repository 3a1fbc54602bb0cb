#!@SHELL@
# Task Studio verifier (@HARNESS@). The agent never sees this directory: it is copied in after the
# agent finished. Steps: nothing the agent started keeps running; the harness's shells are the
# system's; no preload hooks; the verifier's own interpreter and modules are the gold's
# (bootstrap.sha256); then verify.py compares the project and the Python environment with the gold's
# and, only if they match, grades the FAIL_TO_PASS and PASS_TO_PASS tests from JUnit XML written to a
# private directory. A reward of 0 is written first; the verdict's reward is put in place last.
# The tools: the toolbox's busybox where the image has one on a read-only mount (then this script
# runs in its static bash too, `runtime.trust`), else the system's, not what an earlier PATH entry
# may shadow.
PATH=@TOOLS@
export PATH
V=${BASH_SOURCE[0]%/*}
MODE=@MODE@
REWARD=/logs/verifier/reward.txt
reward() {  # Harbor reads reward.json before reward.txt: only this script's reward.txt may be there
    [ "$MODE" = harbor ] || return 0
    mkdir -p /logs/verifier && rm -rf -- /logs/verifier/reward.json && echo "$1" > "$REWARD"
}
verdict() {  # a verdict before verify.py could run: print it where this harness reads it
    reward 0  # again: a writer killed in step 1 may have replaced it
    echo "$1"
    if [ "$MODE" = tb ]; then
        echo "==================== short test summary info ===================="
        echo "FAILED studio_verifier::environment_repaired - $1"
    fi
    if [ -n "$suspect" ]; then  # the harness's chain goes once the verdict is out: Terminal-Bench reads
        from=([$$]=1); spare=([$$]=1)  # the pane as soon as the pane's shell moves on
        for p in "${chain[@]}"; do [ "$p" = "$pane" ] && spare[$p]=1 || from[$p]=1; done
        [ -n "$pane" ] && from[$pane]=1
        stop_below from spare
        reward 0
    fi
    exit 0
}
if [ "$MODE" = harbor ]; then
    reward 0
fi

# 1. Stop every process the agent may have left behind: each one that descends from the container's
#    first process, except that first chain and this script's ancestors. Trees rooted in a `docker
#    exec` (the harness's own processes, such as Terminal-Bench's `tmux wait`) are left alone.
#    The sweep repeats until it finds nothing to stop: a writer may fork between a look and a kill.
declare -A parent start state keep=([1]=1)
scan() {
    parent=(); start=(); state=()
    for p in /proc/[0-9]*; do
        s=$(<"$p/stat") || continue; s=${s##*) }; read -ra f <<<"$s"
        parent[${p#/proc/}]=${f[1]}; start[${p#/proc/}]=${f[19]}; state[${p#/proc/}]=${f[0]}
    done 2>/dev/null
}
scan
pid=$$
while [ -n "$pid" ] && [ "$pid" != 0 ]; do keep[$pid]=1; pid=${parent[$pid]}; done
first=1
while :; do  # the oldest child of each kept first process, if it started with the container
    oldest=""
    for n in "${!parent[@]}"; do
        if [ "${parent[$n]}" = "$first" ] && { [ -z "$oldest" ] || [ "${start[$n]}" -lt "${start[$oldest]}" ]; }; then oldest=$n; fi
    done
    [ -n "$oldest" ] && [ $((start[$oldest] - start[1])) -lt 500 ] || break
    keep[$oldest]=1; first=$oldest
done
stop_below() {  # stop every process at or below one of $1's (an array's name), except $2's
    local -n roots=$1 spared=$2
    local hit
    for round in 1 2 3 4 5 6 7 8; do
        scan; hit=()
        for n in "${!parent[@]}"; do
            [ -n "${spared[$n]}" ] || [ "${state[$n]}" = Z ] && continue
            up=$n
            while [ -n "$up" ] && [ "$up" -gt 1 ] && [ -z "${roots[$up]}" ]; do up=${parent[$up]}; done
            [ -n "$up" ] && [ -n "${roots[$up]}" ] && hit+=("$n")
        done
        # all stopped first, then killed: killed one by one (in the array's hash order), a wrapper whose
        # child died first woke and printed after the verdict ("Killed ..." as the pane's last line)
        [ "${#hit[@]}" -gt 0 ] || break
        kill -STOP "${hit[@]}" 2>/dev/null
        kill -9 "${hit[@]}" 2>/dev/null
    done
}
declare -A init=([1]=1)
stop_below init keep

# 1b. The harness's side: the shells between the harness and this script. Each must be the system's
#     shell running the harness's command line or a script of the tests directory: a `bash` earlier
#     on PATH (a script, or a program of its own) would run this script and then act on its verdict.
#     Anything else started from that chain (a writer forked before this script) is stopped.
#     Terminal-Bench types the command into a tmux pane: the chain ends below the tmux server.
chain=(); top=""; pane=""; p=${parent[$$]}
while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null)
    [ "${exe##*/}" = tmux ] && pane=$top && break
    chain+=("$p"); top=$p; p=${parent[$p]}
done
suspect=""
for p in "${chain[@]}"; do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null)
    case "$exe" in
        /usr/bin/bash | /usr/bin/dash | /bin/bash | /bin/dash | /studio-trust/bin/bash) ;;
        *) suspect="the harness's shell ($p) is ${exe:-a program that cannot be read}, not the system's"; break ;;
    esac
    mapfile -d '' -t args < "/proc/$p/cmdline" 2>/dev/null
    for ((i = 1; i < ${#args[@]}; i++)); do
        case "${args[i]}" in
            -c | /tests/* | "$V"/*) break ;;  # the harness's command line, or its tests directory
            -o | +o) ((i++)) ;;
            -* | +*) ;;
            *) suspect="the harness's shell ($p) runs ${args[i]}"; break 2 ;;
        esac
    done
done
# This script's own children count: a shell that forked a writer and then became this script (a
# harness's `bash -c` execs its one command) left the writer as its child. Its legitimate children
# (command substitutions, verify.py) have ended whenever this runs.
declare -A from=([$$]=1) spare=([$$]=1)
for p in "${chain[@]}"; do spare[$p]=1; done
[ -n "$top" ] && from[$top]=1
stop_below from spare
# a suspect chain itself goes after its verdict is out (a tmux pane's own shell stays: tb waits on it)
[ -n "$suspect" ] && verdict "tampered: $suspect"

reward 0  # whatever wrote it before the writers were stopped

# 2. No preloaded library may hook the tools below; the environment goes to verify.py as it is.
[ -e /etc/ld.so.preload ] && verdict "tampered: /etc/ld.so.preload added"
P=$(mktemp -d /tmp/.studio-verify.XXXXXXXX) || verdict "tampered: no private directory could be made"
# The tests run in the container's own environment (its first process's: the image's ENV lines and
# the harness's settings), not a login shell's, which resets PATH.
cp /proc/1/environ "$P/env" 2>/dev/null || env -0 > "$P/env"
unset LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT PYTHONPATH PYTHONHOME PYTHONSTARTUP BASH_ENV

# 3. When the container started, a few seconds early: PID 1's start, or the engine's files for it if
#    older. An inode whose ctime is older is the image's (Linux sets ctime to the present on every
#    change, and rename, link and copy-up make it new too), so the checks below read only what
#    changed since, unless something in here could set the clock back or mount (then all of it).
SINCE=""
cap=$(grep -h '^CapBnd' /proc/self/status /proc/1/status 2>/dev/null | tr -d '\t' | cut -d: -f2 | sort -u)
btime=$(grep '^btime ' /proc/stat 2>/dev/null | cut -d' ' -f2)
# /proc counts in USER_HZ ticks: 100 on x86 and arm (elsewhere, or if unsure, everything is read)
ticks() { getconf CLK_TCK 2>/dev/null || case "$(uname -m)" in x86_64 | i?86 | aarch64 | arm*) echo 100 ;; esac; }
if [[ $cap =~ ^[0-9a-f]+$ && $btime =~ ^[0-9]+$ && ${start[1]} =~ ^[0-9]+$ ]] && [ "$(ticks)" = 100 ] \
    && ! (( 0x$cap & (1 << 21 | 1 << 25) )); then  # CAP_SYS_ADMIN, CAP_SYS_TIME
    SINCE=$((btime + start[1] / 100 - 5))
    for t in $(stat -c %Z /etc/hostname /etc/hosts /etc/resolv.conf 2>/dev/null); do
        [ "$t" -lt "$SINCE" ] && SINCE=$((t - 5))
    done
fi
declare -A ctime
if [ -n "$SINCE" ]; then
    mapfile -t files < <(cut -d' ' -f3- "$V/bootstrap.sha256")
    while read -r t n; do ctime[$n]=$t; done < <(stat -c '%Z %n' -- "${files[@]}" 2>/dev/null)
fi
bootstrap() {  # bootstrap.sha256's lines ($1: -v for the non-.pyc ones) whose file changed since SINCE
    mapfile -t lines < <(grep $1 '[.]pyc$' "$V/bootstrap.sha256")
    for line in "${lines[@]}"; do
        if [ -z "$SINCE" ] || [ "${ctime[${line#*  }]:-$SINCE}" -ge "$SINCE" ]; then printf '%s\n' "$line"; fi
    done
}

# 4. The verifier's interpreter and the modules it imports are the gold's. Their cached bytecode
#    (the .pyc lines) is read only if all of it is the gold's; otherwise they compile privately.
#    Two halves are checked at once (the interpreter and libcrypto alone are 11 MB).
mapfile -t sums < <(bootstrap -v)
half() { for ((i = $1; i < ${#sums[@]}; i += 2)); do printf '%s\n' "${sums[i]}"; done; }
check() {  # sums on stdin hold; prints the failing lines (busybox has no --quiet)
    local out rc
    out=$(sha256sum -c - 2>&1); rc=$?
    [ "$rc" = 0 ] || printf '%s\n' "$out" | grep -v ': OK$'
    return "$rc"
}
half 1 | check > "$P/bootstrap.1" 2>&1 & odd=$!
half 0 | check > "$P/bootstrap.0" 2>&1; even=$?
wait "$odd"; odd=$?
if [ "${#sums[@]}" -gt 0 ] && { [ "$even" != 0 ] || { [ "${#sums[@]}" -gt 1 ] && [ "$odd" != 0 ]; }; }; then
    verdict "tampered: the verifier's interpreter or its modules changed: $(cat "$P"/bootstrap.[01] | head -c 300 | tr '\n' ' ')"
fi
# 4b. The loader gives the verifier's interpreter the gold's libraries: an entry an agent put ahead in
#     the loader's cache (or a library directory) would load a shim whose constructor runs inside
#     verify.py before any check it makes, and whose destructor rewrites the reward it wrote
#     (`loader_cache_shim_startup`). The loader itself is one of the files checked above; in list
#     mode it maps the libraries without running any of their code.
declare -A boot=()
ld=""
while read -r line; do
    f=${line#*  }; boot[$f]=1
    case "${f##*/}" in ld-linux*.so* | ld64.so*) ld=$f ;; esac
done < "$V/bootstrap.sha256"
if [ -n "$ld" ]; then
    listing=$("$ld" --list "@PYTHON@" 2>&1) || [[ $listing == *"not a dynamic executable"* ]] \
        || verdict "tampered: the loader cannot list the verifier's interpreter's libraries: ${listing:0:200}"
    while read -r name arrow path _; do
        [ "$arrow" = "=>" ] || continue
        [ -n "${boot[$(readlink -f -- "$path")]}" ] || verdict "tampered: the loader resolves $name to $path, not to the gold's library"
    done <<< "$listing"
fi
PYC=(-X "pycache_prefix=$P/pyc")
pycs=$(bootstrap "")
if grep -q '[.]pyc$' "$V/bootstrap.sha256" \
    && { [ -z "$pycs" ] || check <<<"$pycs" > /dev/null 2>&1; }; then PYC=(); fi

# 5. Compare, then grade; verify.py writes the reward last, privately. Whatever started meanwhile is
#    stopped before the reward is put where the harness reads it.
@PYTHON@ -I -S -B "${PYC[@]}" "$V/verify.py" check "$V/verifier.json" "$P/env" "$P/reward" "$P/verdict.json" \
    $([ "$MODE" = tb ] && echo --tb) "--since=$SINCE" "--shell=$BASH" || verdict "the verifier could not finish (exit $?)"
stop_below init keep; stop_below from spare
if [ "$MODE" = harbor ]; then
    cp "$P/verdict.json" /logs/verifier/verdict.json 2>/dev/null
    [ "$(cat "$P/reward" 2>/dev/null)" = 1 ] && reward 1 || reward 0
fi
exit 0
