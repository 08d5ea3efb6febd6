"""Run one command and report its wall time, CPU time and peak memory as JSON.

    python -I -S bench/spawn.py RESULT.json TIMEOUT -- COMMAND [ARGS...]

Why a separate small process: Linux starts a child's peak RSS (ru_maxrss) at the
peak RSS of the process that forked it, so a command started by a benchmark
script that holds 100,000 generated records in memory would report that
script's size. This launcher is a bare interpreter (stdlib only, no site), so the
floor it leaves is a few MB, below any `crm` process. The command inherits
stdin, stdout and stderr; it is killed after TIMEOUT seconds.
"""

import json
import os
import signal
import sys
import time


def main() -> int:
    result, timeout, sep, *argv = sys.argv[1:]
    if sep != "--" or not argv:
        print("usage: spawn.py RESULT.json TIMEOUT -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print(f"spawn.py: cannot run {argv[0]}: {e.strerror}", file=sys.stderr)
        os._exit(127)
    timed_out = []

    def kill(signum, frame):
        timed_out.append(True)
        os.kill(pid, signal.SIGKILL)

    signal.signal(signal.SIGALRM, kill)
    signal.setitimer(signal.ITIMER_REAL, float(timeout))
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    peak_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    with open(result, "w") as f:
        json.dump(
            {
                "seconds": seconds,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_mb": peak_mb,
                "code": os.waitstatus_to_exitcode(status),
                "timed_out": bool(timed_out),
            },
            f,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
