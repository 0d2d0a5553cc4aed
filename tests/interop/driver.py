"""Interop driver: runs one scenario with the PyPI ``mcp`` SDK's stdio client.

Usage:
    driver.py --scenario NAME [--mode auto|legacy] [--deadline S] [--no-tap] -- COMMAND [ARGS...]

COMMAND is the stdio MCP server to spawn: the gatekit gateway (``gateway-*`` scenarios) or a
real server directly (``direct-*``). The driver connects with ``mcp.Client`` (default
``mode="auto"``: probe ``server/discover``, fall back to ``initialize`` on an error), runs the
scenario's checks in order, and prints exactly one JSON line on stdout:
``{"ok": true|false, "scenario": ..., "checks": [...], "facts": {...}, "wire": {...}, ...}``.
Exit status 0 on success, 1 on a failed check or any error (the message is also on stderr),
2 on bad usage.

The server is spawned behind wiretap.py (unless --no-tap) so the summary can report what the
client really put on the wire, e.g. the discover probe, its answer and the next method.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import anyio  # noqa: E402
import mcp  # noqa: E402
from mcp import Client, StdioServerParameters, types  # noqa: E402
from mcp.client.stdio import get_default_environment  # noqa: E402

import wire  # noqa: E402
from scenarios import SAMPLED_TEXT, SCENARIOS, CheckFailed, Context  # noqa: E402

# The whole scenario must finish within this (the cargo test kills the driver a bit later).
DEFAULT_DEADLINE_S = 45.0
# One request may take this long before the SDK reports a timeout; well under the deadline so
# a hung request is named rather than lost in the overall deadline.
REQUEST_TIMEOUT_S = 20.0
# Variables passed to the server on top of the SDK's safe default set (PATH, HOME, ...),
# so a gateway under test can be made to log or print backtraces.
PASSTHROUGH_ENV = ("RUST_LOG", "RUST_BACKTRACE", "GATEKIT_LOG")


def parse_args(argv: list[str]) -> argparse.Namespace:
    if "--" not in argv:
        raise SystemExit("driver.py: missing '-- COMMAND [ARGS...]' (the server to spawn)")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="driver.py", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--mode", default="auto", choices=("auto", "legacy"))
    parser.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE_S)
    parser.add_argument("--no-tap", action="store_true", help="spawn the server without wiretap.py")
    args = parser.parse_args(argv[:split])
    args.command = argv[split + 1 :]
    if not args.command:
        parser.error("empty command after '--'")
    return args


def server_params(command: list[str], tap_log: Path | None) -> StdioServerParameters:
    env = get_default_environment()
    env.update({k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ})
    if tap_log is None:
        return StdioServerParameters(command=command[0], args=command[1:], env=env)
    tap = [str(HERE / "wiretap.py"), str(tap_log), "--", *command]
    return StdioServerParameters(command=sys.executable, args=tap, env=env)


async def run(args: argparse.Namespace, tap_log: Path | None, summary: dict[str, Any]) -> None:
    scenario = SCENARIOS[args.scenario]
    seen: list[types.CreateMessageRequestParams] = []

    async def sample(_context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        seen.append(params)
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLED_TEXT),
            model="gatekit-interop-fixed",
            stop_reason="endTurn",
        )

    client = Client(
        server_params(args.command, tap_log),
        mode=args.mode,
        read_timeout_seconds=REQUEST_TIMEOUT_S,
        sampling_callback=sample if scenario.sampling else None,
        client_info=types.Implementation(name="gatekit-interop-driver", version="1"),
    )
    started = time.monotonic()
    async with client:
        summary["connect_ms"] = round((time.monotonic() - started) * 1000.0, 1)
        summary["protocol_version"] = client.protocol_version
        summary["server_name"] = client.server_info.name if client.server_info else None
        ctx = Context(client=client, target=scenario.target, sampling_requests=seen)
        for check in scenario.checks:
            name = check.__name__.removeprefix("check_")
            summary["facts"].update(await check(ctx))
            summary["checks"].append(name)


def describe(exc: BaseException) -> str:
    """One line per leaf exception: anyio task groups wrap the real cause in groups."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in exc.exceptions)
    text = str(exc) or repr(exc)
    return text if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {text}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # The legacy-era calls these scenarios make on purpose (ping, sampling) warn on every use.
    warnings.filterwarnings("ignore", category=mcp.MCPDeprecationWarning)
    summary: dict[str, Any] = {
        "ok": False,
        "scenario": args.scenario,
        "mode": args.mode,
        "sdk": f"mcp {importlib.metadata.version('mcp')}",
        "checks": [],
        "facts": {},
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gatekit-interop-") as scratch:
        tap_log = None if args.no_tap else Path(scratch) / "wire.jsonl"
        try:
            anyio.run(_bounded, args, tap_log, summary)
            summary["ok"] = True
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a summary line
            if isinstance(exc, KeyboardInterrupt):
                summary["error"] = "interrupted"
            else:
                summary["error"] = describe(exc)
            if os.environ.get("GATEKIT_INTEROP_TRACEBACK"):
                traceback.print_exception(exc, file=sys.stderr)
        summary["elapsed_ms"] = round((time.monotonic() - started) * 1000.0, 1)
        if tap_log is not None:
            summary["wire"] = wire.summarize(tap_log)
    print(json.dumps(summary, sort_keys=True), flush=True)
    if not summary["ok"]:
        print(f"driver.py: scenario {args.scenario} FAILED: {summary['error']}", file=sys.stderr)
        return 1
    return 0


async def _bounded(args: argparse.Namespace, tap_log: Path | None, summary: dict[str, Any]) -> None:
    try:
        with anyio.fail_after(args.deadline):
            await run(args, tap_log, summary)
    except TimeoutError as exc:
        done = ", ".join(summary["checks"]) or "none"
        raise CheckFailed(
            f"deadline of {args.deadline} s passed (checks done: {done}; connected: "
            f"{'connect_ms' in summary})"
        ) from exc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
