"""Reads a wiretap.py log and summarizes the client's side of the conversation.

The summary answers the questions the SDK hides: which methods the client sent and in what
order, how the ``server/discover`` probe was answered (error code or result) and how long
that took, and what the client sent right after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Enough of the opening sequence to show the era negotiation and the first calls.
FIRST_METHODS_SHOWN = 12


def _parse(path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    if not path.exists():
        return entries
    for text in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(text)
        try:
            entry["msg"] = json.loads(entry["line"])
        except json.JSONDecodeError:
            entry["msg"] = None  # not JSON-RPC: kept for the counts only
        entries.append(entry)
    return entries


def summarize(path: Path) -> dict[str, Any]:
    """Returns the wire summary of one session, as plain JSON-able data."""
    entries = _parse(path)
    client = [e for e in entries if e["dir"] == "c2s" and isinstance(e["msg"], dict)]
    server = [e for e in entries if e["dir"] == "s2c" and isinstance(e["msg"], dict)]
    methods = [e["msg"]["method"] for e in client if "method" in e["msg"]]
    summary: dict[str, Any] = {
        "client_methods": methods[:FIRST_METHODS_SHOWN],
        "client_lines": sum(1 for e in entries if e["dir"] == "c2s"),
        "server_lines": sum(1 for e in entries if e["dir"] == "s2c"),
        "server_requests": sorted(
            {e["msg"]["method"] for e in server if "method" in e["msg"] and "id" in e["msg"]}
        ),
        "discover": None,
    }
    probe_index = next(
        (i for i, e in enumerate(client) if e["msg"].get("method") == "server/discover"), None
    )
    if probe_index is None:
        return summary
    probe = client[probe_index]
    reply = next(
        (
            e
            for e in server
            if e["msg"].get("id") == probe["msg"].get("id") and "method" not in e["msg"]
        ),
        None,
    )
    following = next(
        (e["msg"]["method"] for e in client[probe_index + 1 :] if "method" in e["msg"]), None
    )
    discover: dict[str, Any] = {"answered": reply is not None, "next_method": following}
    if reply is not None:
        discover["reply_ms"] = round((reply["t"] - probe["t"]) * 1000.0, 1)
        if "error" in reply["msg"]:
            discover["error_code"] = reply["msg"]["error"].get("code")
            discover["error_message"] = reply["msg"]["error"].get("message")
        else:
            discover["result_keys"] = sorted(reply["msg"].get("result", {}).keys())
    summary["discover"] = discover
    return summary
