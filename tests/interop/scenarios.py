"""Interop scenarios: checks run through the PyPI ``mcp`` SDK client against real servers.

A scenario is a target (which upstreams are reachable and under which name prefix) plus a
list of checks. Through the gateway every name carries the upstream's prefix
(``everything__echo``, ``time__get_current_time``, ``everything__demo://...``); directly
against a server the prefix is empty. Each check returns plain JSON-able facts for the
summary and raises ``CheckFailed`` with a message that says what was expected and what came.

Facts about the real servers these checks rely on (server-everything 2026.8.31,
mcp-server-time 2026.10.19), verified against them directly:
- ``echo {message}`` → text ``"Echo: <message>"``.
- ``get-sum {a, b}`` → text ``"The sum of 2 and 3 is 5."``.
- ``trigger-sampling-request {prompt, maxTokens}`` exists only when the client declared
  ``sampling``; it sends ``sampling/createMessage`` with the user message
  ``"Resource trigger-sampling-request context: <prompt>"`` and ``maxTokens``, then returns
  text ``"LLM sampling result: \\n<JSON of the client's CreateMessageResult>"``.
- ``get_current_time {timezone}`` → ``structuredContent {timezone, datetime, day_of_week,
  is_dst}`` and the same JSON as text.
- ``simple-prompt`` → one user message ``"This is a simple prompt without arguments."``.
- static resources ``demo://resource/static/document/<name>.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import Client, types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

# The text the sampling callback answers with; the tool result must carry it back.
SAMPLED_TEXT = "gatekit-sampled"
# Non-ASCII on purpose: the gateway must pass UTF-8 through unchanged.
ECHO_MESSAGE = "gatekit interop \u2713 caf\u00e9"
SIMPLE_PROMPT_TEXT = "This is a simple prompt without arguments."
# server-everything registers trigger-sampling-request right after `initialized`; through a
# gateway that happens when the gateway forwards the client's handshake, so poll a while.
SAMPLING_TOOL_WAIT_S = 10.0
SAMPLING_TOOL_POLL_S = 0.2
# The time server's answer must be close to this machine's clock (generous: no timing test).
CLOCK_SLACK = dt.timedelta(hours=1)


class CheckFailed(Exception):
    """A scenario check saw something other than what the real server produces."""


@dataclass
class Target:
    """Where the upstreams are: a name prefix per upstream, or None if it is not reachable."""

    everything: str | None
    time: str | None

    def prefixes(self) -> list[str]:
        return [p for p in (self.everything, self.time) if p is not None]


@dataclass
class Context:
    """What the checks share: the connected client and what the sampling callback saw."""

    client: Client
    target: Target
    sampling_requests: list[types.CreateMessageRequestParams] = field(default_factory=list)


Check = Callable[[Context], Awaitable[dict[str, Any]]]


def _only_text(result: types.CallToolResult, what: str) -> str:
    if result.is_error:
        raise CheckFailed(f"{what}: tool returned isError: {_texts(result)!r}")
    texts = _texts(result)
    if len(texts) != 1:
        raise CheckFailed(f"{what}: expected exactly one text block, got {result.content!r}")
    return texts[0]


def _texts(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


async def check_tools_listed(ctx: Context) -> dict[str, Any]:
    listing = await ctx.client.list_tools(cache_mode="refresh")
    names = sorted(tool.name for tool in listing.tools)
    wanted: list[str] = []
    if ctx.target.everything is not None:
        wanted += [ctx.target.everything + n for n in ("echo", "get-sum")]
    if ctx.target.time is not None:
        wanted += [ctx.target.time + n for n in ("get_current_time", "convert_time")]
    missing = [n for n in wanted if n not in names]
    if missing:
        raise CheckFailed(f"tools/list lacks {missing}; it listed {names}")
    prefixes = [p for p in ctx.target.prefixes() if p]
    if prefixes:
        stray = [n for n in names if not any(n.startswith(p) for p in prefixes)]
        if stray:
            raise CheckFailed(f"tools/list has names without an upstream prefix: {stray}")
    return {"tool_count": len(names), "tools": names}


async def check_echo(ctx: Context) -> dict[str, Any]:
    name = f"{ctx.target.everything}echo"
    text = _only_text(await ctx.client.call_tool(name, {"message": ECHO_MESSAGE}), name)
    if text != f"Echo: {ECHO_MESSAGE}":
        raise CheckFailed(f"{name}: expected {'Echo: ' + ECHO_MESSAGE!r}, got {text!r}")
    return {"echo_text": text}


async def check_sum(ctx: Context) -> dict[str, Any]:
    name = f"{ctx.target.everything}get-sum"
    text = _only_text(await ctx.client.call_tool(name, {"a": 2, "b": 3}), name)
    if not re.search(r"\b2\b.*\b3\b.*\bis 5(\.0)?\b", text):
        raise CheckFailed(f"{name}: expected the sum of 2 and 3 to be 5, got {text!r}")
    return {"sum_text": text}


async def check_time(ctx: Context) -> dict[str, Any]:
    name = f"{ctx.target.time}get_current_time"
    result = await ctx.client.call_tool(name, {"timezone": "UTC"})
    text = _only_text(result, name)
    if "UTC" not in text:
        raise CheckFailed(f"{name}: the result does not mention UTC: {text!r}")
    data = result.structured_content
    if not isinstance(data, dict) or data.get("timezone") != "UTC":
        raise CheckFailed(f"{name}: expected structuredContent.timezone 'UTC', got {data!r}")
    try:
        stamp = dt.datetime.fromisoformat(str(data.get("datetime")))
    except ValueError as exc:
        raise CheckFailed(f"{name}: datetime is not ISO 8601: {data!r}") from exc
    if stamp.utcoffset() != dt.timedelta(0):
        raise CheckFailed(f"{name}: expected a +00:00 offset, got {stamp.isoformat()}")
    if abs(stamp - dt.datetime.now(dt.timezone.utc)) > CLOCK_SLACK:
        raise CheckFailed(f"{name}: {stamp.isoformat()} is far from this machine's clock")
    return {"time": data}


async def check_ping(ctx: Context) -> dict[str, Any]:
    if ctx.client.protocol_version in MODERN_PROTOCOL_VERSIONS:
        # 2026-07-28 removed ping (the time server answers -32601); only legacy sessions ping.
        return {"ping": "not in " + ctx.client.protocol_version}
    await ctx.client.send_ping()
    return {"ping": "ok"}


async def check_sampling(ctx: Context) -> dict[str, Any]:
    name = f"{ctx.target.everything}trigger-sampling-request"
    polls = 0
    listed: list[str] = []
    with anyio.move_on_after(SAMPLING_TOOL_WAIT_S):
        while name not in listed:
            if polls:
                await anyio.sleep(SAMPLING_TOOL_POLL_S)
            polls += 1
            listed = [tool.name for tool in (await ctx.client.list_tools(cache_mode="refresh")).tools]
    if name not in listed:
        raise CheckFailed(
            f"{name} never appeared in tools/list within {SAMPLING_TOOL_WAIT_S} s (server-everything "
            f"registers it only when the client's initialize declares sampling); listed {sorted(listed)}"
        )
    text = _only_text(await ctx.client.call_tool(name, {"prompt": "hi", "maxTokens": 10}), name)
    if len(ctx.sampling_requests) != 1:
        raise CheckFailed(
            f"{name}: expected one sampling/createMessage, the callback saw {len(ctx.sampling_requests)}"
        )
    request = ctx.sampling_requests[0]
    sent = [m.content.text for m in request.messages if isinstance(m.content, types.TextContent)]
    if request.max_tokens != 10 or not any(t.endswith("hi") for t in sent):
        raise CheckFailed(f"{name}: the sampling request lost its arguments: {request!r}")
    if SAMPLED_TEXT not in text:
        raise CheckFailed(f"{name}: the tool result lacks the sampled text {SAMPLED_TEXT!r}: {text!r}")
    return {"sampling_text": text, "sampling_prompt": sent, "tool_list_polls": polls}


async def check_prompt(ctx: Context) -> dict[str, Any]:
    name = f"{ctx.target.everything}simple-prompt"
    listed = sorted(p.name for p in (await ctx.client.list_prompts(cache_mode="refresh")).prompts)
    if name not in listed:
        raise CheckFailed(f"prompts/list lacks {name}; it listed {listed}")
    prompt = await ctx.client.get_prompt(name)
    texts = [m.content.text for m in prompt.messages if isinstance(m.content, types.TextContent)]
    if texts != [SIMPLE_PROMPT_TEXT]:
        raise CheckFailed(f"prompts/get {name}: expected [{SIMPLE_PROMPT_TEXT!r}], got {prompt!r}")
    return {"prompts": listed, "prompt_text": texts[0]}


async def check_resources(ctx: Context) -> dict[str, Any]:
    base = f"{ctx.target.everything}demo://resource/static/document/"
    listed = sorted(str(r.uri) for r in (await ctx.client.list_resources(cache_mode="refresh")).resources)
    documents = [u for u in listed if u.startswith(base)]
    if not documents:
        raise CheckFailed(f"resources/list has no URI starting with {base!r}; it listed {listed}")
    uri = next((u for u in documents if u.endswith("/features.md")), documents[0])
    contents = (await ctx.client.read_resource(uri)).contents
    texts = [c.text for c in contents if isinstance(c, types.TextResourceContents)]
    if not texts or not texts[0].strip():
        raise CheckFailed(f"resources/read {uri}: expected a non-empty text document, got {contents!r}")
    return {"resource_uris": documents, "read_uri": uri, "read_chars": len(texts[0])}


@dataclass(frozen=True)
class Scenario:
    """A named target plus its checks, run in order on one connection."""

    target: Target
    checks: tuple[Check, ...]
    sampling: bool = False


GATEWAY = Target(everything="everything__", time="time__")
EVERYTHING = Target(everything="", time=None)
TIME = Target(everything=None, time="")

BASIC_EVERYTHING = (check_tools_listed, check_echo, check_sum, check_ping)
CATALOG = (check_prompt, check_resources)

SCENARIOS: dict[str, Scenario] = {
    "gateway-basic": Scenario(
        GATEWAY, (check_tools_listed, check_echo, check_sum, check_time, check_ping)
    ),
    "gateway-sampling": Scenario(GATEWAY, (check_sampling,), sampling=True),
    "gateway-prompts-resources": Scenario(GATEWAY, CATALOG),
    "direct-everything": Scenario(EVERYTHING, BASIC_EVERYTHING),
    "direct-time": Scenario(TIME, (check_tools_listed, check_time, check_ping)),
    "direct-sampling": Scenario(EVERYTHING, (check_sampling,), sampling=True),
    "direct-prompts-resources": Scenario(EVERYTHING, CATALOG),
}
