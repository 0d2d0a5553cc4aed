"""A deliberately tiny namespacing stdio proxy: the harness's stand-in for a gateway.

Usage: refproxy.py '{"everything": ["node", ".../index.js", "stdio"], "time": [...]}'

It exists only so the ``gateway-*`` scenarios are themselves tested (a check that cannot
pass against a correct namespacing proxy is a harness bug, not a gatekit bug). It is not a
specification of gatekit; where the two differ, GATEKIT.md and PROTOCOL.md win.

Behaviour: ``server/discover`` → -32601; the client's ``initialize`` is forwarded to every
upstream (so server-everything sees the client's ``sampling`` capability); ``*/list`` fan out
and prefix ``name``/``uri`` with ``<upstream>__``; ``tools/call``/``prompts/get``/
``resources/read`` route by prefix; ``ping`` is answered locally; server→client requests
(e.g. ``sampling/createMessage``) are relayed with proxy-assigned ids; upstream
notifications pass through unchanged. Requests are handled concurrently (a tool call that
triggers sampling waits while the client's sampling answer travels back).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from typing import Any

SEP = "__"
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
LISTS = {"tools/list": ("tools", "name"), "prompts/list": ("prompts", "name"),
         "resources/list": ("resources", "uri")}
ROUTED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


class Upstream:
    def __init__(self, name: str, proc: asyncio.subprocess.Process, proxy: "Proxy") -> None:
        self.name, self.proc, self.proxy = name, proc, proxy
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())

    async def request(self, method: str, params: Any) -> dict[str, Any]:
        rid = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        return await future

    async def pump(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            message = json.loads(raw)
            if "method" in message and "id" in message:
                self.proxy.relay_server_request(self, message)
            elif "method" in message:
                self.proxy.write(message)
            elif message.get("id") in self.pending:
                self.pending.pop(message["id"]).set_result(message)
        for future in self.pending.values():
            future.set_result({"error": {"code": -32000, "message": f"{self.name} exited"}})


class Proxy:
    def __init__(self) -> None:
        self.upstreams: dict[str, Upstream] = {}
        self.relayed: dict[str, tuple[Upstream, Any]] = {}
        self.relay_ids = itertools.count(1)

    def write(self, message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def relay_server_request(self, upstream: Upstream, message: dict[str, Any]) -> None:
        proxy_id = f"relay-{next(self.relay_ids)}"
        self.relayed[proxy_id] = (upstream, message["id"])
        self.write({**message, "id": proxy_id})

    async def fan_out(self, method: str, params: Any) -> dict[str, dict[str, Any]]:
        names = list(self.upstreams)
        replies = await asyncio.gather(*(self.upstreams[n].request(method, params) for n in names))
        return dict(zip(names, replies))

    async def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        method, params = message["method"], message.get("params") or {}
        if method == "initialize":
            replies = await self.fan_out(method, params)
            first = next(iter(replies.values())).get("result", {})
            return {"result": {"protocolVersion": first.get("protocolVersion", "2025-11-25"),
                               "capabilities": {"tools": {"listChanged": True}, "prompts": {},
                                                "resources": {}},
                               "serverInfo": {"name": "refproxy", "version": "0"}}}
        if method == "ping":
            return {"result": {}}
        if method in LISTS:
            key, field = LISTS[method]
            items = []
            for name, reply in (await self.fan_out(method, params)).items():
                for item in reply.get("result", {}).get(key, []):
                    items.append({**item, field: f"{name}{SEP}{item[field]}"})
            return {"result": {key: sorted(items, key=lambda i: i[field].lower())}}
        if method in ROUTED:
            field = ROUTED[method]
            server, _, inner = str(params.get(field, "")).partition(SEP)
            if server not in self.upstreams or not inner:
                return {"error": {"code": INVALID_PARAMS, "message": f"not namespaced: {params}"}}
            reply = await self.upstreams[server].request(method, {**params, field: inner})
            return {k: reply[k] for k in ("result", "error") if k in reply}
        return {"error": {"code": METHOD_NOT_FOUND, "message": "Method not found"}}

    async def answer(self, message: dict[str, Any]) -> None:
        self.write({"jsonrpc": "2.0", "id": message["id"], **await self.handle(message)})

    async def serve(self, commands: dict[str, list[str]]) -> None:
        for name, argv in commands.items():
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            self.upstreams[name] = upstream = Upstream(name, proc, self)
            asyncio.create_task(upstream.pump())
        reader = asyncio.StreamReader(limit=1 << 24)
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks = set()
        async for raw in reader:
            if not raw.strip():
                continue
            message = json.loads(raw)
            if "method" not in message:  # the client's answer to a relayed server request
                upstream, original = self.relayed.pop(message.get("id"), (None, None))
                if upstream is not None:
                    upstream.send({**message, "id": original})
            elif "id" not in message:  # a notification (e.g. initialized): to every upstream
                for upstream in self.upstreams.values():
                    upstream.send(message)
            else:
                task = asyncio.create_task(self.answer(message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        for upstream in self.upstreams.values():
            if upstream.proc.stdin is not None:
                upstream.proc.stdin.close()
        await asyncio.gather(*(u.proc.wait() for u in self.upstreams.values()))


if __name__ == "__main__":
    asyncio.run(Proxy().serve(json.loads(sys.argv[1])))
