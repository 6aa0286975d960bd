"""A fault-injecting TCP proxy for transfer tests (stdlib only).

The proxy sits between a client (floe) and a registry. Its asyncio loop runs in a
background thread, so test code drives it synchronously:

    proxy = FaultProxy("127.0.0.1", registry_port).start()
    run floe against proxy.host                      # "127.0.0.1:PORT"
    proxy.cut_down_after(32 << 20, how="fin")
    proxy.bytes_down, proxy.bytes_up                 # forwarded bytes (since reset_counters())
    proxy.stop()

Counters
    bytes_down   registry -> client bytes forwarded (after faults: cut bytes are not counted,
                 a flipped byte is)
    bytes_up     client -> registry bytes forwarded
    connections  client connections accepted
    intercepted  requests answered by the proxy itself (http_error_next, http_error_on)
    bytes_dropped client bytes of requests http_error_on answered (head and body), read and
                 thrown away, never forwarded: bytes_up + bytes_dropped is what the client sent
    reset_counters() zeroes all five; it does not touch armed faults.
    events       list of dicts, one per fault that fired: {"fault" ("cut", "stall", "flip",
                 "http_error"), "direction", "at" (offset since armed; for http_error the
                 request line answered), "bytes_down", "bytes_up" (counters right after it
                 fired), "time" (time.monotonic())}. wait_fired(fault) blocks until one fired.

One-shot faults, armed from the test thread. Offsets count the bytes of that direction over
*all* connections since the fault was armed (not the counters above, which the test may reset):
    cut_down_after(n, how)   when the downstream count passes n, forward exactly up to byte n,
                             then close that connection on both sides: "fin" = flush and shut
                             down gracefully (the client reads every forwarded byte, then EOF),
                             "rst" = SO_LINGER 0, so both peers get a reset (the client's kernel
                             may discard bytes it had received but the client had not read).
    cut_up_after(n, how)     the same for client -> registry bytes.
    cut_up_at_next_request_after(n, how)
                             once n client -> registry bytes have passed, cut the connection
                             whose next read starts an HTTP request line (e.g. the next PATCH of
                             a chunked upload), forwarding none of that request: the registry
                             sees a clean boundary between requests. (Read boundaries stand in
                             for request boundaries: floe does not pipeline requests.)
    stall_down_after(n, s)   at downstream byte n, stop forwarding (that connection) for s seconds.
    flip_down_byte_at(n)     XOR 0xFF into the downstream byte at offset n.
    http_error_next(status, retry_after=None, count=1)
                             answer the next `count` HTTP requests with `status` (and a
                             Retry-After header) without contacting the registry, then close
                             the connection.
    http_error_on(method, status, retry_after=None, count=1, path=None, skip=0, code=None)
                             let `skip` matching requests through, then answer the next
                             `count` requests with this method (and, with `path`, whose
                             request target matches that regular expression, re.search) with
                             `status` (and Retry-After), on any connection, kept-alive ones
                             included: the request head and its body (by Content-Length) are
                             read and dropped (so the client finishes sending and reads the
                             answer; they count in bytes_dropped, not bytes_up), the answer says
                             "Connection: close" and the connection is closed. The registry
                             sees none of that request. `code`: the distribution error code in
                             the answer's body (default UNAVAILABLE for 503, else UNKNOWN).
                             Rules fire in the order they were armed;
                             the event's "at" is the request line.
Each fault disarms itself after firing; later connections are forwarded untouched.

Limitation of http_error_next (http_error_on has not got it): the proxy does not parse HTTP
framing there, so it can only see the *first* request of a *fresh* connection. A request sent on a kept-alive connection is forwarded
even while an HTTP error is armed. The intercepted response carries "Connection: close", so a
client's next request after an intercepted one does arrive on a fresh connection. Connections
whose first bytes are not an HTTP request line (e.g. a TLS ClientHello, as floe sends to probe
a loopback registry for https) are forwarded and do not use up the count.

CLI, for manual use (prints the port it listens on, then serves until interrupted):
    python3 faultproxy.py --listen 127.0.0.1:0 --upstream 127.0.0.1:5000 \
        [--cut-down-after N[:fin|rst]] [--cut-up-after N[:fin|rst]] \
        [--stall-down-after N:SECONDS] [--flip-down-byte-at N] [--http-error STATUS[:RETRY_AFTER]]
        [--http-error-on METHOD:STATUS[:RETRY_AFTER[:COUNT]]]

http_error_on recognises a request by a read that starts with a whole request line, as
cut_up_at_next_request_after does (floe does not pipeline, and a body chunk that starts with
"PATCH /x HTTP/1.1\r\n" does not happen in random test data). Bodies sent with
"Transfer-Encoding: chunked" are not supported (the request is forwarded).
"""
import argparse
import asyncio
import http.client
import json
import re
import socket
import struct
import sys
import threading
import time

__all__ = ["FaultProxy"]

DOWN, UP = "down", "up"
_READ_SIZE = 256 * 1024
_HTTP_REQUEST_LINE = re.compile(rb"^[A-Z]{3,12} ")
_FULL_REQUEST_LINE = re.compile(rb"^[A-Z]{3,12} [^ \r\n]+ HTTP/1\.[01]\r\n")
_MAX_REQUEST_HEAD = 64 * 1024
_FIN_DRAIN_SECONDS = 2.0  # after a graceful cut, read (and drop) what the peer still sends


class _Fault:
    def __init__(self, kind, direction, trigger, **params):
        self.kind, self.direction, self.trigger = kind, direction, trigger
        self.params = params  # how / seconds
        self.armed_at = 0     # absolute offset in that direction when armed

    @property
    def position(self):
        return self.armed_at + self.trigger


class _Conn:
    """One proxied connection: the client side and (unless intercepted) the upstream side."""

    def __init__(self, proxy, c_reader, c_writer):
        self.proxy = proxy
        self.c_reader, self.c_writer = c_reader, c_writer
        self.u_reader = self.u_writer = None
        self.closed = False
        self.tasks = []

    def writer_for(self, direction):
        return self.c_writer if direction == DOWN else self.u_writer

    async def close(self, how="fin"):
        """Close both sides. "fin": flush, shut down writing, drain what the peers still send
        for a moment (so the kernel sends FIN, not RST, for unread data), then close.
        "rst": SO_LINGER 0 and close, which resets both connections."""
        if self.closed:
            return
        self.closed = True
        # The other direction's pump must stop reading before we drain its reader.
        current = asyncio.current_task()
        for t in self.tasks:
            if t is not current:
                t.cancel()
        writers = [w for w in (self.c_writer, self.u_writer) if w is not None]
        readers = [r for r in (self.c_reader, self.u_reader) if r is not None]
        if how == "rst":
            # What was forwarded leaves the proxy first; the reset may still make the peer's
            # kernel drop what the peer had not read yet.
            for w in writers:
                for _ in range(500):
                    if w.transport.is_closing() or not w.transport.get_write_buffer_size():
                        break
                    await asyncio.sleep(0.01)
            for w in writers:
                sock = w.get_extra_info("socket")
                if sock is not None:
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    except OSError:
                        pass
                w.transport.abort()
        else:
            for w in writers:
                try:
                    await asyncio.wait_for(w.drain(), _FIN_DRAIN_SECONDS)
                    if w.can_write_eof():
                        w.write_eof()
                except (ConnectionError, OSError, RuntimeError, asyncio.TimeoutError):
                    pass

            async def drain(reader):
                try:
                    while await reader.read(_READ_SIZE):
                        pass
                except (ConnectionError, OSError):
                    pass

            try:
                await asyncio.wait_for(asyncio.gather(*(drain(r) for r in readers)),
                                       _FIN_DRAIN_SECONDS)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
            for w in writers:
                w.close()


class FaultProxy:
    def __init__(self, upstream_host, upstream_port, listen_host="127.0.0.1", listen_port=0):
        self.upstream_host, self.upstream_port = upstream_host, int(upstream_port)
        self.listen_host, self.listen_port = listen_host, int(listen_port)
        self.host = None
        self.port = None
        self._lock = threading.Lock()
        self._faults = {DOWN: [], UP: []}
        self._total = {DOWN: 0, UP: 0}   # absolute, never reset: fault offsets count from here
        self._http_errors = []           # [(status, retry_after)] one per request to answer
        self._http_rules = []            # http_error_on: [{method, path, status, retry_after,
                                         #                  left, skip}]
        self._conns = set()
        self._loop = None
        self._thread = None
        self._server = None
        self._fired = threading.Condition(self._lock)
        self.events = []
        self.reset_counters()

    # -- counters ------------------------------------------------------------------------------
    def reset_counters(self):
        with self._lock:
            self.bytes_down = 0
            self.bytes_up = 0
            self.connections = 0
            self.intercepted = 0
            self.bytes_dropped = 0

    # -- faults --------------------------------------------------------------------------------
    def _arm(self, fault):
        with self._lock:
            fault.armed_at = self._total[fault.direction]
            self._faults[fault.direction].append(fault)
        return self

    def cut_down_after(self, n, how="fin"):
        if how not in ("fin", "rst"):
            raise ValueError("how must be 'fin' or 'rst'")
        return self._arm(_Fault("cut", DOWN, int(n), how=how))

    def cut_up_after(self, n, how="fin"):
        if how not in ("fin", "rst"):
            raise ValueError("how must be 'fin' or 'rst'")
        return self._arm(_Fault("cut", UP, int(n), how=how))

    def cut_up_at_next_request_after(self, n, how="fin"):
        if how not in ("fin", "rst"):
            raise ValueError("how must be 'fin' or 'rst'")
        return self._arm(_Fault("cut_req", UP, int(n), how=how))

    def stall_down_after(self, n, seconds):
        return self._arm(_Fault("stall", DOWN, int(n), seconds=float(seconds)))

    def flip_down_byte_at(self, n):
        return self._arm(_Fault("flip", DOWN, int(n)))

    def http_error_next(self, status, retry_after=None, count=1):
        with self._lock:
            self._http_errors.extend([(int(status), retry_after)] * int(count))
        return self

    def http_error_on(self, method, status, retry_after=None, count=1, path=None, skip=0,
                      code=None):
        if int(count) < 1 or int(skip) < 0:
            raise ValueError("count must be at least 1, skip at least 0")
        rule = {"method": method.upper().encode("ascii"), "status": int(status),
                "retry_after": retry_after, "left": int(count), "skip": int(skip),
                "code": code,
                "path": re.compile(path.encode() if isinstance(path, str) else path)
                if path is not None else None}
        with self._lock:
            self._http_rules.append(rule)
        return self

    def clear_faults(self):
        with self._lock:
            self._faults = {DOWN: [], UP: []}
            self._http_errors = []
            self._http_rules = []

    def armed(self):
        """How many faults (and HTTP errors) are still waiting to fire."""
        with self._lock:
            return (len(self._faults[DOWN]) + len(self._faults[UP]) + len(self._http_errors)
                    + sum(r["left"] for r in self._http_rules))

    def wait_fired(self, fault, timeout=60):
        """Blocks until an event of kind `fault` ("cut", "stall", "flip", "http_error") fired;
        returns it (or None after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._fired:
            while True:
                for e in self.events:
                    if e["fault"] == fault:
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._fired.wait(left)

    def _record(self, fault, direction, at):
        # caller holds the lock
        self.events.append({"fault": fault, "direction": direction, "at": at,
                            "bytes_down": self.bytes_down, "bytes_up": self.bytes_up,
                            "time": time.monotonic()})
        self._fired.notify_all()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self):
        ready = threading.Event()
        failure = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(asyncio.start_server(
                    self._on_client, self.listen_host, self.listen_port,
                    reuse_address=True))
            except BaseException as e:  # reported to start()'s caller
                failure.append(e)
                ready.set()
                loop.close()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            self.host = f"{self.listen_host}:{self.port}"
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name="faultproxy", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    async def _shutdown(self):
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for conn in list(self._conns):
            for w in (conn.c_writer, conn.u_writer):
                if w is not None:
                    w.transport.abort()
            for t in conn.tasks:
                t.cancel()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def stop(self):
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return (f"<FaultProxy {self.host} -> {self.upstream_host}:{self.upstream_port} "
                f"down={self.bytes_down} up={self.bytes_up}>")

    # -- the proxy -----------------------------------------------------------------------------
    async def _on_client(self, c_reader, c_writer):
        conn = _Conn(self, c_reader, c_writer)
        self._conns.add(conn)
        with self._lock:
            self.connections += 1
        try:
            first = b""
            with self._lock:
                sniff = bool(self._http_errors)
            if sniff:
                first = await self._read_request_head(c_reader)
                if _HTTP_REQUEST_LINE.match(first):
                    with self._lock:
                        answer = self._http_errors.pop(0) if self._http_errors else None
                        if answer:
                            self.intercepted += 1
                            line = first.split(b"\r\n", 1)[0].decode("latin-1")
                            self._record("http_error", UP, line)
                    if answer:
                        await self._answer(conn, *answer)
                        return
            try:
                conn.u_reader, conn.u_writer = await asyncio.open_connection(
                    self.upstream_host, self.upstream_port)
            except OSError:
                c_writer.transport.abort()
                return
            if first:
                first = await self._intercept(conn, first)
                if first is None:
                    return
            if first and not await self._forward(conn, UP, first):
                return
            conn.tasks = [asyncio.ensure_future(self._pump(conn, UP)),
                          asyncio.ensure_future(self._pump(conn, DOWN))]
            await asyncio.gather(*conn.tasks, return_exceptions=True)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (conn.c_writer, conn.u_writer):
                if w is not None and not w.transport.is_closing():
                    w.transport.abort()
            self._conns.discard(conn)

    async def _read_request_head(self, reader):
        """The first bytes of a connection: up to the end of the request head if they look like
        HTTP, otherwise whatever arrived first."""
        data = await reader.read(_READ_SIZE)
        while (data and _HTTP_REQUEST_LINE.match(data) and b"\r\n\r\n" not in data
               and len(data) < _MAX_REQUEST_HEAD):
            more = await reader.read(_READ_SIZE)
            if not more:
                break
            data += more
        return data

    def _matching_rule(self, head):
        """The http_error_on rule `head` (a request head) uses up, or None. Caller holds the
        lock."""
        line = head.split(b"\r\n", 1)[0]
        method, target = line.split(b" ")[:2]
        for rule in self._http_rules:
            if rule["method"] == method and (rule["path"] is None
                                             or rule["path"].search(target)):
                return rule
        return None

    async def _intercept(self, conn, data):
        """http_error_on: when `data` (the start of a client read) starts a request that an
        armed rule matches, drop that request whole and answer it: returns None. Otherwise
        returns the bytes to forward (`data`, plus the rest of the head when it read more)."""
        if not _FULL_REQUEST_LINE.match(data):
            return data
        with self._lock:
            if not self._http_rules or self._matching_rule(data) is None:
                return data
        while b"\r\n\r\n" not in data and len(data) < _MAX_REQUEST_HEAD:
            more = await conn.c_reader.read(_READ_SIZE)
            if not more:
                break
            data += more
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            return data  # no end of head: not a request this proxy can frame (forwarded)
        fields = {}
        for l in head.split(b"\r\n")[1:]:
            name, _, value = l.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            return data  # unsupported framing: forwarded untouched
        with self._lock:
            rule = self._matching_rule(head)  # armed rules may have changed meanwhile
            if rule is None:
                return data
            if rule["skip"]:
                rule["skip"] -= 1  # one of the matching requests let through first
                return data
            rule["left"] -= 1
            if not rule["left"]:
                self._http_rules.remove(rule)
            self.intercepted += 1
        length = int(fields.get(b"content-length", b"0") or 0)
        dropped = len(data)
        left = length - len(body)
        while left > 0:
            more = await conn.c_reader.read(min(left, _READ_SIZE))
            if not more:
                break
            dropped += len(more)
            left -= len(more)
        with self._lock:
            self.bytes_dropped += dropped
            self._record("http_error", UP, head.split(b"\r\n", 1)[0].decode("latin-1"))
        await self._answer(conn, rule["status"], rule["retry_after"], rule["code"])
        return None

    async def _answer(self, conn, status, retry_after, code=None):
        reason = http.client.responses.get(status, "Error")
        code = code or ("UNAVAILABLE" if status == 503 else "UNKNOWN")
        body = json.dumps({"errors": [{"code": code,
                                       "message": "injected by faultproxy",
                                       "detail": None}]}).encode()
        head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json",
                f"Content-Length: {len(body)}", "Connection: close",
                "Docker-Distribution-Api-Version: registry/2.0"]
        if retry_after is not None:
            head.append(f"Retry-After: {retry_after}")
        conn.c_writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await conn.close("fin")

    async def _pump(self, conn, direction):
        reader = conn.u_reader if direction == DOWN else conn.c_reader
        writer = conn.writer_for(direction)
        try:
            while not conn.closed:
                data = await reader.read(_READ_SIZE)
                if not data:
                    # half-close: pass the EOF on, the other direction goes on
                    if not conn.closed and writer.can_write_eof():
                        writer.write_eof()
                    return
                if direction == UP:
                    data = await self._intercept(conn, data)
                    if data is None:
                        return
                if not await self._forward(conn, direction, data):
                    return
        except (ConnectionError, OSError):
            await conn.close("rst")

    async def _forward(self, conn, direction, data):
        """Forwards `data`, applying armed faults. False when the connection was cut."""
        writer = conn.writer_for(direction)
        while data:
            action = None
            with self._lock:
                pos = self._total[direction]
                end = pos + len(data)
                fault = None
                for f in self._faults[direction]:
                    if f.kind == "flip":
                        fires = pos <= f.position < end
                    elif f.kind == "cut_req":
                        fires = pos >= f.position and bool(_FULL_REQUEST_LINE.match(data))
                    else:
                        fires = f.position < end
                    if fires and (fault is None or f.position < fault.position):
                        fault = f
                if fault is not None:
                    self._faults[direction].remove(fault)
                    k = max(0, fault.position - pos)
                    if fault.kind == "flip":
                        data = data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:]
                        head, data = data[:k + 1], data[k + 1:]
                    else:
                        head, data = data[:k], data[k:]
                    action = fault
                else:
                    head, data = data, b""
                self._total[direction] += len(head)
                if direction == DOWN:
                    self.bytes_down += len(head)
                else:
                    self.bytes_up += len(head)
                if action is not None:
                    self._record("cut" if action.kind == "cut_req" else action.kind, direction,
                                 self._total[direction] - action.armed_at
                                 - (1 if action.kind == "flip" else 0))
            if head:
                writer.write(head)
                await writer.drain()
            if action is None or action.kind == "flip":
                continue
            if action.kind in ("cut", "cut_req"):
                await conn.close(action.params["how"])
                return False
            if action.kind == "stall":
                await asyncio.sleep(action.params["seconds"])
        return True


# -- CLI -------------------------------------------------------------------------------------

def _host_port(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def main(argv=None):
    p = argparse.ArgumentParser(description="Fault-injecting TCP proxy (see the module doc).")
    p.add_argument("--listen", type=_host_port, default=("127.0.0.1", 0), metavar="HOST:PORT")
    p.add_argument("--upstream", type=_host_port, required=True, metavar="HOST:PORT")
    p.add_argument("--cut-down-after", metavar="N[:fin|rst]")
    p.add_argument("--cut-up-after", metavar="N[:fin|rst]")
    p.add_argument("--stall-down-after", metavar="N:SECONDS")
    p.add_argument("--flip-down-byte-at", type=int, metavar="N")
    p.add_argument("--http-error", metavar="STATUS[:RETRY_AFTER]")
    p.add_argument("--http-error-on", metavar="METHOD:STATUS[:RETRY_AFTER[:COUNT]]")
    args = p.parse_args(argv)

    proxy = FaultProxy(*args.upstream, listen_host=args.listen[0], listen_port=args.listen[1])
    proxy.start()
    if args.cut_down_after:
        n, _, how = args.cut_down_after.partition(":")
        proxy.cut_down_after(int(n), how or "fin")
    if args.cut_up_after:
        n, _, how = args.cut_up_after.partition(":")
        proxy.cut_up_after(int(n), how or "fin")
    if args.stall_down_after:
        n, _, s = args.stall_down_after.partition(":")
        proxy.stall_down_after(int(n), float(s))
    if args.flip_down_byte_at is not None:
        proxy.flip_down_byte_at(args.flip_down_byte_at)
    if args.http_error:
        status, _, retry = args.http_error.partition(":")
        proxy.http_error_next(int(status), retry or None)
    if args.http_error_on:
        method, status, *rest = args.http_error_on.split(":")
        proxy.http_error_on(method, int(status), (rest[0] if rest else "") or None,
                            int(rest[1]) if len(rest) > 1 else 1)
    print(proxy.port, flush=True)
    print(f"faultproxy: {proxy.host} -> {args.upstream[0]}:{args.upstream[1]}",
          file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        print(f"faultproxy: {proxy.bytes_down} bytes down, {proxy.bytes_up} up, "
              f"{proxy.connections} connections", file=sys.stderr)
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
