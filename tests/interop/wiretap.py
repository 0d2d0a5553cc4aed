"""Transparent stdio tap: runs a command and records every line crossing its stdin/stdout.

Usage: wiretap.py LOG_FILE -- COMMAND [ARGS...]

The tap sits between an MCP client and the stdio server it spawns, copies bytes unchanged
in both directions and appends one JSON object per line to LOG_FILE:
``{"dir": "c2s" | "s2c", "t": <seconds since start>, "line": "<raw line>"}``.
The driver reads the log afterwards to report what the client really sent (for example the
``server/discover`` probe and what followed it), which the SDK does not expose.

Invariants: the server's stderr is inherited untouched; the tap exits with the server's exit
code once the server is gone; EOF on the tap's stdin closes the server's stdin (the normal
stdio shutdown signal); SIGTERM/SIGINT are forwarded to the server.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: wiretap.py LOG_FILE -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    log_path, command = argv[0], argv[2:]
    started = time.monotonic()
    log = open(log_path, "a", encoding="utf-8")
    log_lock = threading.Lock()

    def record(direction: str, raw: bytes) -> None:
        entry = {
            "dir": direction,
            "t": round(time.monotonic() - started, 6),
            "line": raw.decode("utf-8", errors="replace").rstrip("\r\n"),
        }
        with log_lock:
            log.write(json.dumps(entry) + "\n")
            log.flush()

    try:
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as exc:
        print(f"wiretap: cannot start {command[0]!r}: {exc}", file=sys.stderr)
        return 127

    def forward_signal(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward_signal)
    signal.signal(signal.SIGINT, forward_signal)

    def client_to_server() -> None:
        assert child.stdin is not None
        try:
            for raw in iter(sys.stdin.buffer.readline, b""):
                record("c2s", raw)
                child.stdin.write(raw)
                child.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the server went away; the other direction reports it
        finally:
            try:
                child.stdin.close()
            except OSError:
                pass

    upstream = threading.Thread(target=client_to_server, daemon=True)
    upstream.start()

    assert child.stdout is not None
    out = sys.stdout.buffer
    try:
        for raw in iter(child.stdout.readline, b""):
            record("s2c", raw)
            out.write(raw)
            out.flush()
    except BrokenPipeError:
        pass  # the client closed its end; wait for the server below
    code = child.wait()
    log.close()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
