#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and types into it, for testing the interactive
console (line editing, Ctrl-C, Ctrl-D). Standard library only.

    python3 tools/testserver/pty_session.py STEPS_JSON -- COMMAND [ARG...]

STEPS_JSON is a list of steps: ["type", "text"] sends bytes (\\r for Enter, \\u0003 for
Ctrl-C, \\u0004 for Ctrl-D); ["until", "text", seconds] waits until the output contains
text (from the start of the step) or the time passes. Prints everything the command wrote,
then "EXIT <status>" on the last line.
"""
import json
import os
import pty
import select
import sys
import time


def main():
    steps = json.loads(sys.argv[1])
    command = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    out = b""

    def pump(seconds, until=None):
        nonlocal out
        start, end = len(out), time.time() + seconds
        while time.time() < end:
            if until is not None and until.encode() in out[start:]:
                return
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                out += data

    for step in steps:
        if step[0] == "type":
            os.write(fd, step[1].encode())
        elif step[0] == "until":
            pump(step[2], step[1])
    deadline = time.time() + 10
    status = None
    while time.time() < deadline:
        pump(0.1)
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.WEXITSTATUS(code) if os.WIFEXITED(code) else -1
            break
    if status is None:
        os.kill(pid, 9)
        status = -9
    pump(0.2)
    sys.stdout.write(out.decode(errors="replace"))
    sys.stdout.write(f"\nEXIT {status}\n")


if __name__ == "__main__":
    main()
