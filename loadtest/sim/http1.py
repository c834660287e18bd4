"""HTTP/1.1 on asyncio streams, just enough for the simulator: requests with a
Content-Length body, JSON answers and chunked NDJSON streams."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection; None when the client closed it cleanly."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise ValueError("truncated request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise ValueError("request head too large") from exc
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length > MAX_BODY_BYTES:
        raise ValueError("request body too large")
    body = await reader.readexactly(length) if length else b""
    return Request(method, target.split("?", 1)[0], headers, body)


async def watch_for_hangup(reader: asyncio.StreamReader) -> bool:
    """While an answer is served: True when the client hangs up, False when it sends more
    (our clients never pipeline, so neither should happen before the answer ends)."""
    try:
        return await reader.read(1) == b""
    except ConnectionError:
        return True


def _status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode()


async def write_raw(writer: asyncio.StreamWriter, status: int, content_type: bytes,
                    body: bytes) -> None:
    writer.write(_status_line(status) + b"Content-Type: " + content_type
                 + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()


async def write_json(writer: asyncio.StreamWriter, status: int, body: Any) -> None:
    await write_raw(writer, status, b"application/json; charset=utf-8",
                    json.dumps(body).encode())


async def start_chunked(writer: asyncio.StreamWriter, content_type: bytes) -> None:
    writer.write(_status_line(200) + b"Content-Type: " + content_type
                 + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    await writer.drain()


async def write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


async def end_chunked(writer: asyncio.StreamWriter) -> None:
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def ndjson(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
