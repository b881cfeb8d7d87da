"""A small scripted POP3 server for what a real server will not do.

It speaks enough of RFC 1939 and RFC 2449 for libcurl's login (CAPA,
USER/PASS) and for tern's engine (UIDL, LIST, RETR, DELE, RSET, NOOP,
QUIT), reading pipelined commands in order. The mailbox persists across
connections; DELE takes effect at QUIT, as in a real server.

Misbehaviour, set as attributes before or between connections:
  uidl=False        no UIDL (not in CAPA, and the command fails)
  pipelining=False  PIPELINING not advertised
  ignore_dele=True  DELE answers +OK but QUIT deletes nothing
  refuse_dele=TEXT  DELE answers "-ERR TEXT"
  drop_in_retr=N    close the connection half way through RETR N
  stall_in_retr=N   go silent half way through RETR N (until closed)
  hold_in_retr=N    pause half way through RETR N until release();
                    holding is set meanwhile
  long_line=N       the UIDL listing carries a line of N characters
  list_sizes={n: s} LIST reports size s for message n (a lying server)
  down=True         close every connection at once, before the greeting
                    (a server that is not there); refused counts them
  lockstep=True     a server that reads one command at a time: before
                    each reply it looks whether more has arrived, records
                    it in violations and ends the session with -ERR
"""

import select
import socket
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def send(self, text):
        if isinstance(text, str):
            text = text.encode()
        if self.server.fake.lockstep and self.early():
            raise ConnectionError("a command before the reply")
        self.wfile.write(text)

    def early(self):
        """Has the client sent more before this reply? (lockstep: the
        reads are unbuffered, so the socket holds all that arrived.)"""
        srv = self.server.fake
        r, _, _ = select.select([self.connection], [], [], 0.1)
        if not r:
            return False
        data = self.connection.recv(4096, socket.MSG_PEEK)
        if not data:
            return False  # the client closed: nothing early
        last = srv.log[-1] if srv.log else "(greeting)"
        srv.violations.append((last, data.decode(errors="replace")))
        self.wfile.write(b"-ERR one command at a time\r\n")
        return True

    def handle(self):
        try:
            self.session()
        except (ConnectionError, BrokenPipeError):
            pass  # the client went away: that is what some tests do

    def session(self):
        srv = self.server.fake
        srv.connections += 1
        if srv.down:
            srv.refused += 1
            return
        if srv.lockstep:
            # Unbuffered: what the client sent stays in the socket.
            self.rfile = self.connection.makefile("rb", 0)
        deleted = set()
        self.send("+OK fake POP3 ready\r\n")
        user = None
        authed = False
        while True:
            line = self.rfile.readline(100000)
            if not line:
                return
            srv.log.append(line.decode(errors="replace").rstrip("\r\n"))
            parts = line.decode(errors="replace").strip().split(" ")
            cmd, args = parts[0].upper(), parts[1:]
            with srv.lock:
                msgs = list(srv.messages)
            live = [i for i in range(1, len(msgs) + 1) if i not in deleted]
            if cmd == "CAPA":
                caps = ["USER", "TOP"]
                if srv.uidl:
                    caps.append("UIDL")
                if srv.pipelining:
                    caps.append("PIPELINING")
                self.send("+OK\r\n" + "".join(c + "\r\n" for c in caps) +
                          ".\r\n")
            elif cmd == "USER":
                user = args[0] if args else ""
                self.send("+OK\r\n")
            elif cmd == "PASS":
                if user == srv.user and " ".join(args) == srv.password:
                    authed = True
                    self.send("+OK logged in\r\n")
                else:
                    self.send("-ERR [AUTH] authentication failed\r\n")
            elif not authed and cmd != "QUIT":
                self.send("-ERR log in first\r\n")
            elif cmd == "NOOP" or cmd == "RSET":
                if cmd == "RSET":
                    deleted.clear()
                self.send("+OK\r\n")
            elif cmd == "STAT":
                self.send("+OK %d %d\r\n" % (
                    len(live), sum(len(msgs[i - 1][1]) for i in live)))
            elif cmd == "UIDL":
                if not srv.uidl:
                    self.send("-ERR unknown command\r\n")
                    continue
                out = "+OK\r\n"
                if srv.long_line:
                    out += "1 " + "x" * srv.long_line + "\r\n"
                for i in live:
                    out += "%d %s\r\n" % (i, msgs[i - 1][0])
                self.send(out + ".\r\n")
            elif cmd == "LIST":
                out = "+OK\r\n"
                for i in live:
                    size = srv.list_sizes.get(i, len(msgs[i - 1][1]))
                    out += "%d %d\r\n" % (i, size)
                self.send(out + ".\r\n")
            elif cmd == "RETR" or cmd == "TOP":
                n = int(args[0]) if args and args[0].isdigit() else 0
                if n not in live:
                    self.send("-ERR no such message\r\n")
                    continue
                data = _stuff(msgs[n - 1][1])
                if srv.stall_in_retr == n:
                    self.send(b"+OK\r\n" + data[:len(data) // 2])
                    self.wfile.flush()
                    self.rfile.read()  # until the client gives up
                    return
                if srv.hold_in_retr == n:
                    self.send(b"+OK\r\n" + data[:len(data) // 2])
                    self.wfile.flush()
                    srv.holding.set()
                    srv.released.wait()
                    self.send(data[len(data) // 2:] + b".\r\n")
                    continue
                if srv.drop_in_retr == n:
                    self.send(b"+OK\r\n" + data[:len(data) // 2])
                    self.wfile.flush()
                    self.request.shutdown(socket.SHUT_RDWR)
                    return
                self.send(b"+OK\r\n" + data + b".\r\n")
            elif cmd == "DELE":
                n = int(args[0]) if args and args[0].isdigit() else 0
                if n not in live:
                    self.send("-ERR no such message\r\n")
                    continue
                if srv.refuse_dele is not None:
                    self.send("-ERR %s\r\n" % srv.refuse_dele)
                    continue
                deleted.add(n)
                self.send("+OK deleted\r\n")
            elif cmd == "QUIT":
                if authed and not srv.ignore_dele:
                    with srv.lock:
                        srv.messages = [m for i, m in
                                        enumerate(srv.messages, 1)
                                        if i not in deleted]
                self.send("+OK bye\r\n")
                return
            else:
                self.send("-ERR unknown command\r\n")


def _stuff(raw):
    """Dot-stuff a message and make sure it ends with CRLF."""
    lines = raw.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                    for l in lines)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakePOP3:
    """messages: a list of (uidl, raw bytes)."""

    def __init__(self, messages=None, user="alice", password="secret"):
        self.messages = list(messages or [])
        self.user, self.password = user, password
        self.uidl = True
        self.pipelining = True
        self.ignore_dele = False
        self.refuse_dele = None
        self.drop_in_retr = 0
        self.stall_in_retr = 0
        self.hold_in_retr = 0
        self.holding = threading.Event()
        self.released = threading.Event()
        self.long_line = 0
        self.list_sizes = {}
        self.lockstep = False
        self.down = False
        self.refused = 0
        self.violations = []
        self.connections = 0
        self.log = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def rc(self, name="fake", extra=""):
        return (f"account {name}\n"
                f"    protocol pop3\n"
                f"    host 127.0.0.1\n"
                f"    port {self.port}\n"
                f"    tls off\n"
                f"    user {self.user}\n"
                f"    password \"{self.password}\"\n"
                f"{extra}")

    def release(self):
        """End a hold_in_retr pause."""
        self.released.set()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
