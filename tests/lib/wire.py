"""Loopback plumbing shared by the scripted servers and the cutting proxy.

Listener accepts TCP connections on a free port of 127.0.0.1 and serves
each in a thread of its own until stop(). Proxy is a Listener that
forwards every connection to a real server (Dovecot) and breaks it where
a test says, which is how "the server did it, the client did not hear"
is produced on purpose:

    proxy = wire.Proxy(dovecot.imap_port)
    proxy.add(wire.cut(3, at="reply", how="rst"))  # 3rd command overall
    ... tern with `port proxy.port`, `tls off` ...
    proxy.commands      # every client command line seen, in order
    proxy.stop()

A rule counts the client's IMAP commands (lines that start with a tag,
not the literals inside them, not DONE or SASL continuation lines) that
match its pattern, over every connection of the proxy, and acts on the
nth. Where it acts:

    at="command"   the nth command never reaches the server
    at="reply"     the server ran it and answered; the tagged answer
                   never reaches the client (the untagged data before it
                   does), and later pipelined commands are held back
    at="answered"  the client heard the answer; later commands are held
                   back
    responses=R    (with at="reply") cut once R untagged responses of
                   the answer went through: a cut in the middle of a
                   long FETCH

How: "fin" closes the client's side with a FIN (and the server's
connection), "rst" resets it (SO_LINGER 0), "blackhole" stops
forwarding both ways and keeps both sockets open, no FIN, no RST,
"call" runs fn(conn, command) at that point and forwards as usual
(a test kills tern there). A raw proxy (raw=True) passes bytes as they
come, TLS included, and knows one rule: cut_bytes(n, conn). rewrite_reply() and rewrite_command() change
the answer to, or the text of, every matching command.
"""

import re
import socket
import struct
import threading
import time

COMMAND = re.compile(rb"^([A-Za-z0-9._-]+) ([A-Za-z]+)(?: ([A-Za-z]+))?")
LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n$")


def literal_size(line):
    """The size of the literal a line announces at its end, or None."""
    m = LITERAL.search(line)
    return int(m.group(1)) if m else None


def close_fin(sock):
    """Close with a FIN even when the peer still sends: shut the write
    side, read what it still says for a moment, then close."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(5)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


def close_rst(sock):
    """Close with a RST: linger on, timeout 0. A thread blocked in recv()
    on the socket would keep it open past close(): SHUT_RD wakes it
    first, and sends nothing."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    sock.close()


class Listener:
    """Accepts on a free port of 127.0.0.1; serve(sock, n) runs in a
    thread per connection (n counts from 1)."""

    def __init__(self, backlog=16):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(backlog)
        self.port = self.lsock.getsockname()[1]
        self.accepted = 0
        self.errors = []  # exceptions in serving threads, for the test
        self.open_socks = []
        self._threads = []
        self._stopping = False
        self._wake = None
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def serve(self, sock, n):
        raise NotImplementedError

    def track(self, sock):
        self.open_socks.append(sock)
        return sock

    def _accept(self):
        while True:
            try:
                s, addr = self.lsock.accept()
            except OSError:
                return
            if self._stopping and addr == self._wake:
                s.close()
                return
            self.accepted += 1
            self.track(s)
            t = threading.Thread(target=self._run, args=(s, self.accepted),
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, s, n):
        try:
            self.serve(s, n)
        except OSError:
            pass  # the peer went away: what many tests do
        except Exception as e:  # noqa: BLE001 -- recorded for the test
            self.errors.append(repr(e))

    def stop(self):
        """Stop accepting (a connection made just before is still
        served), end every connection, join the threads."""
        if self._thread.is_alive():
            # Wake accept() with a connection of known address.
            self._stopping = True
            w = socket.socket()
            try:
                w.bind(("127.0.0.1", 0))
                self._wake = w.getsockname()
                w.settimeout(1)
                w.connect(("127.0.0.1", self.port))
            except OSError:
                pass
            finally:
                w.close()
            self._thread.join(10)
        for s in list(self.open_socks):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(10)
        for s in self.open_socks:
            try:
                s.close()
            except OSError:
                pass
        self.lsock.close()


class Rule:
    """What to do at the nth command matching a pattern (see the module
    comment); made by cut(), blackhole(), call(), rewrite_*()."""

    def __init__(self, kind, nth=1, match=None, at="command",
                 responses=None, fn=None, times=1):
        assert at in ("command", "reply", "answered")
        self.kind = kind
        self.nth = nth
        self.match = re.compile(match.encode() if isinstance(match, str)
                                else match) if match else None
        self.at = at
        self.responses = responses
        self.fn = fn
        self.times = times  # None: every match from the nth on
        self.seen = 0
        self.fired = 0

    def matches(self, line):
        return self.match is None or self.match.search(line) is not None

    def take(self, line):
        """Count a command; True when the rule applies to it."""
        if not self.matches(line):
            return False
        self.seen += 1
        if self.seen < self.nth:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


def cut(nth=1, at="command", how="fin", match=None, responses=None):
    assert how in ("fin", "rst")
    return Rule(how, nth, match, at, responses)


def blackhole(nth=1, at="answered", match=None, responses=None):
    return Rule("blackhole", nth, match, at, responses)


def call(fn, nth=1, at="command", match=None, times=1):
    return Rule("call", nth, match, at, fn=fn, times=times)


def cut_bytes(n, conn=1, how="fin"):
    """For a raw proxy (TLS passes through it): cut connection number
    conn once n bytes of the server's went to the client."""
    r = Rule(how, conn)
    r.bytes = n
    return r


def rewrite_reply(match, fn, times=None):
    """fn(tag, tagged_line) -> the line the client gets instead."""
    return Rule("rewrite_reply", 1, match, "reply", fn=fn, times=times)


def rewrite_command(match, fn, times=None):
    """fn(line) -> the first line of the command the server gets."""
    return Rule("rewrite_command", 1, match, "command", fn=fn, times=times)


class ProxyConn:
    """One client connection through the proxy and its server side."""

    def __init__(self, proxy, n, client, server):
        self.proxy = proxy
        self.n = n
        self.client = client
        self.server = server
        self.commands = []  # first lines of the client's commands
        self.hold = False  # client bytes are no longer forwarded
        self.dead = False  # cut or blackholed
        self.watch = {}  # tag -> [rule, command line, responses seen]
        self.lock = threading.Lock()

    def act(self, rule, line):
        """Apply a cut or blackhole now."""
        with self.lock:
            if self.dead:
                return
            self.dead = True
        self.proxy.events.append((self.n, rule.kind, rule.at,
                                  line.rstrip(b"\r\n").decode(
                                      errors="replace")))
        if rule.kind == "blackhole":
            self.hold = True
            return
        if rule.kind == "rst":
            close_rst(self.client)
        else:
            threading.Thread(target=close_fin, args=(self.client,),
                             daemon=True).start()
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def blackhole(self):
        with self.lock:
            self.dead = True
            self.hold = True

    def pump_raw(self, src, dst, limit=None, rule=None):
        """Bytes as they come (a raw proxy); cut after limit bytes."""
        sent = 0
        while True:
            data = src.recv(65536)
            if not data or self.dead:
                break
            if limit is not None and sent + len(data) >= limit:
                dst.sendall(data[:limit - sent])
                self.act(rule, b"(%d bytes)" % limit)
                return
            dst.sendall(data)
            sent += len(data)
        if not self.dead:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def pump_client(self):
        """Client to server, one command at a time."""
        buf = b""
        literal = 0  # bytes of a literal still to pass
        cur = None  # (tag, line, rules) of the command being passed
        while True:
            data = self.client.recv(65536)
            if not data:
                break
            buf += data
            while buf:
                if self.dead:
                    buf = b""  # a blackhole swallows what comes
                    break
                if literal:
                    part, buf = buf[:literal], buf[literal:]
                    literal -= len(part)
                    if not self.hold:
                        self.server.sendall(part)
                    continue
                i = buf.find(b"\n")
                if i < 0:
                    break
                line, buf = buf[:i + 1], buf[i + 1:]
                size = literal_size(line)
                start = cur is None
                if start:
                    cur = self.command(line)
                    if cur is None:  # cut before it reached the server
                        buf = b""
                        break
                    line = cur[1]
                if size is not None:
                    literal = size
                    if not self.hold:
                        self.server.sendall(line)
                    continue
                if not self.hold:
                    self.server.sendall(line)
                rules = cur[2]
                cur = None
                for r in rules:
                    if r.at in ("reply", "answered"):
                        # Hold what the client pipelines after it: the
                        # server is to do this command and no more.
                        self.hold = True
        try:
            self.server.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def command(self, line):
        """The first line of a client command: record it, apply the
        rules. Returns (tag, line to send, rules waiting for the answer)
        or None when the command must not reach the server."""
        m = COMMAND.match(line)
        if not m:
            # DONE, a SASL line: not a command, passed as it is.
            return (None, line, [])
        tag = m.group(1)
        text = line.rstrip(b"\r\n").decode(errors="replace")
        p = self.proxy
        waiting = []
        with p.lock:
            p.commands.append(text)
            p.conn_commands.append((self.n, text))
            self.commands.append(text)
            fire = [r for r in p.rules if r.take(line)]
        for r in fire:
            if r.kind == "rewrite_command":
                line = r.fn(line)
            elif r.kind == "call" and r.at == "command":
                r.fn(self, text)
            elif r.at == "command":
                self.act(r, line)  # cut or blackholed: not sent
                return None
            else:
                waiting.append(r)
        if waiting:
            with self.lock:
                self.watch[tag] = [waiting, text, 0]
        return (tag, line, [r for r in waiting
                            if r.kind not in ("rewrite_reply", "call")])

    def pump_server(self):
        """Server to client, one response at a time."""
        buf = b""
        literal = 0
        at_start = True  # the next line starts a response
        while True:
            data = self.server.recv(65536)
            if not data:
                break
            buf += data
            while buf:
                if self.dead:
                    buf = b""
                    break
                if literal:
                    part, buf = buf[:literal], buf[literal:]
                    literal -= len(part)
                    self.client.sendall(part)
                    continue
                i = buf.find(b"\n")
                if i < 0:
                    break
                line, buf = buf[:i + 1], buf[i + 1:]
                size = literal_size(line)
                if at_start and line.startswith(b"* ") and self.watch:
                    self.count_response()
                    if self.dead:
                        break
                if at_start and not line.startswith((b"* ", b"+")):
                    line = self.tagged(line)
                    if line is None:
                        buf = b""
                        break
                self.client.sendall(line)
                if size is not None:
                    literal = size
                    at_start = False
                else:
                    at_start = True
        if not self.dead:
            close_fin(self.client)

    def count_response(self):
        """An untagged response starts: a cut after R of them?"""
        for tag, w in list(self.watch.items()):
            w[2] += 1
            for r in w[0]:
                if (r.at == "reply" and r.responses is not None
                        and w[2] > r.responses
                        and r.kind in ("fin", "rst", "blackhole")):
                    self.act(r, w[1].encode())
                    return

    def tagged(self, line):
        """A tagged answer: the rules waiting for it. None: cut."""
        tag = line.split(b" ", 1)[0]
        with self.lock:
            w = self.watch.pop(tag, None)
        if w is None:
            return line
        rules, text = w[0], w[1].encode()
        for r in rules:
            if r.kind == "rewrite_reply":
                line = r.fn(tag, line)
            elif r.kind == "call" and r.at == "reply":
                r.fn(self, w[1])
            elif r.at == "reply":
                self.act(r, text)
                return None
        after = [r for r in rules if r.at == "answered"]
        if after:
            self.client.sendall(line)
            for r in after:
                if r.kind == "call":
                    r.fn(self, w[1])
                else:
                    self.act(r, text)
            return None if self.dead else b""
        return line


class Proxy(Listener):
    """Forwards each connection to 127.0.0.1:target, breaking it as its
    rules say (see the module comment)."""

    def __init__(self, target, rules=(), raw=False):
        super().__init__()
        self.target = target
        self.raw = raw  # bytes pass as they come: no commands, no rules
        self.rules = list(rules)
        self.lock = threading.Lock()
        self.commands = []  # every client command line, in order
        self.conn_commands = []  # (connection number, command line)
        self.events = []  # (connection, kind, at, command) of each break
        self.conns = []
        self.start()

    def add(self, rule):
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        """Drop the rules and the records (between rounds of a test)."""
        with self.lock:
            self.rules = []
            self.commands = []
            self.conn_commands = []
            self.events = []

    def blackhole_all(self):
        """Stop forwarding on every open connection, sockets kept open."""
        for c in list(self.conns):
            c.blackhole()

    def serve(self, client, n):
        try:
            server = socket.create_connection(("127.0.0.1", self.target),
                                              10)
        except OSError:
            close_rst(client)
            return
        server.settimeout(None)
        self.track(server)
        c = ProxyConn(self, n, client, server)
        self.conns.append(c)
        if self.raw:
            with self.lock:
                cut = [r for r in self.rules
                       if getattr(r, "bytes", None) is not None
                       and r.nth == n]
            down = (lambda: c.pump_raw(server, client, cut[0].bytes,
                                       cut[0])) if cut else \
                (lambda: c.pump_raw(server, client))
            up = lambda: c.pump_raw(client, server)  # noqa: E731
        else:
            down, up = c.pump_server, c.pump_client
        t = threading.Thread(target=self._pump, args=(down,), daemon=True)
        t.start()
        self._pump(up)
        t.join()
        if not c.dead:
            for s in (client, server):
                try:
                    s.close()
                except OSError:
                    pass

    def _pump(self, fn):
        try:
            fn()
        except OSError:
            pass


def wait_for(pred, timeout, what="a condition", step=0.05):
    """Poll pred() until true; AssertionError after timeout seconds."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %ss waiting for %s"
                                 % (timeout, what))
        time.sleep(step)
