"""The scripted IMAP and POP3 server, for misbehaviour a real server will
not produce. Everything a real server can do is tested against Dovecot.

One engine (FakeServer) listens on a free port of 127.0.0.1 (wire.Listener),
serves each connection in a thread of its own, speaks TLS (implicit or
STARTTLS) when given a certificate, reads the client's command lines in
order (pipelined ones too) and records them in srv.commands (text, no
CRLF), with every byte each client sent split into what came before TLS
(on the wire for anyone to read) and inside it, so a test can assert that
no credential went out in the clear.

Three personalities on that engine:

    FakeServer("imap"|"pop3", cert, ...)  logs in one user and answers
        OK to the rest; misbehaves around STARTTLS and the greeting;
        `script` answers chosen commands (the TLS tests)
    FakeImap(fetch_reply, ...)  anyone logs in; one INBOX; UID FETCH
        answers with the test's (hostile) bytes (bodies, structures)
    ScriptedImap(uids)  an INBOX of UIDs whose header fetch misbehaves
        as .mode says (untagged surprises, a literal cut short)
    FakePOP3(messages)  a POP3 mailbox that persists across
        connections, DELE at QUIT, with switches for what real servers
        get wrong (no UIDL, ignored DELE, a drop or stall in RETR)

    with FakeServer("imap", cert=certs.good, starttls="refuse") as srv:
        ... connect to srv.port ...
        srv.conns[0].plain  # bytes the client sent before TLS
"""

import base64
import email.utils
import os
import select
import socket
import ssl
import subprocess
import threading
import time

import wire


def make_cert(directory, name, hosts):
    """A self-signed EC certificate (fast to make) whose CN is hosts[0] and
    whose subjectAltName lists every host (IP addresses as such). Returns
    (certfile, keyfile)."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    san = ",".join(("IP:" if h.replace(".", "").isdigit() else "DNS:") + h
                   for h in hosts)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
         "-out", cert, "-days", "2", "-subj", "/CN=" + hosts[0],
         "-addext", "subjectAltName=" + san],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class Certs:
    """The certificates the TLS tests need, made once in directory.

    good: for 127.0.0.1 and localhost (trust it with cafile=good[0]);
    wrong_host: for wrong.example only (trusted too, so only the name is
    wrong); untrusted: for 127.0.0.1 but from no CA the client knows.
    """

    def __init__(self, directory):
        self.good = make_cert(directory, "good", ["localhost", "127.0.0.1"])
        self.wrong_host = make_cert(directory, "wrong", ["wrong.example"])
        self.untrusted = make_cert(directory, "untrusted",
                                   ["localhost", "127.0.0.1"])


HANGUP = "hangup"


class Conn:
    """One client connection: what it sent, and how TLS went."""

    def __init__(self, sock, track=None):
        self.sock = sock
        self.track = track
        self.tls = False
        self.plain = b""  # client bytes before TLS
        self.secure = b""  # client bytes inside TLS
        self.tls_error = None  # why the handshake failed, if it did
        self.closed_by_client = False
        self.state = {}  # what a personality keeps per connection
        self._rbuf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def recv(self):
        """Some bytes, or b"" when the client closed or failed."""
        try:
            data = self.sock.recv(65536)
        except (OSError, ssl.SSLError):
            data = b""
        if not data:
            self.closed_by_client = True
        elif self.tls:
            self.secure += data
        else:
            self.plain += data
        return data

    def readline(self):
        """A line without its CRLF, or None when the client closed."""
        while b"\n" not in self._rbuf:
            data = self.recv()
            if not data:
                return None
            self._rbuf += data
        line, self._rbuf = self._rbuf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def drain(self):
        """Read until the client gives up."""
        while self.recv():
            pass

    def starttls(self, certkey):
        """Handshake as the server; False (with tls_error) on failure."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*certkey)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.tls_error = str(e)
            return False
        if self.track:
            self.track(self.sock)  # stop() must reach the new socket
        self.tls = True
        self._rbuf = b""
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def sent_everything(self):
        return self.plain + self.secure


class FakeServer(wire.Listener):
    """The engine, and a server for protocol "imap" or "pop3" that logs
    in one user.

    cert: (certfile, keyfile) for TLS. implicit_tls: TLS from the first
    byte (imaps/pop3s) instead of STARTTLS. advertise_starttls: list
    STARTTLS/STLS in the capabilities. starttls: how the STARTTLS command
    is answered: "ok", "refuse" (NO / -ERR), "inject" (the OK and an
    extra untagged response in one write, the classic response
    injection), or "inject-late" (the extra response a moment later, in a
    packet of its own, where the client expects the TLS handshake).

    script: what to answer after the greeting, per command name (IMAP: the
    word after the tag, "UID FETCH" for UID commands; POP3: the command),
    consulted before the built-in answers. A value is a str, sent with
    {tag} replaced by the command's tag, or a callable f(conn, tag, line)
    that sends what it likes and may return HANGUP to cut the connection
    there. srv.commands lists every command line received, in order.
    greeting: "ok" or, for IMAP, "preauth". timeout: seconds a connection
    may stay silent (None: forever).
    """

    def __init__(self, proto, cert=None, implicit_tls=False,
                 advertise_starttls=True, starttls="ok", greeting="ok",
                 user="alice", password="secret", script=None, timeout=10):
        super().__init__()
        assert proto in ("imap", "pop3")
        self.proto = proto
        self.cert = cert
        self.implicit_tls = implicit_tls
        self.advertise_starttls = advertise_starttls
        self.starttls_mode = starttls
        self.greeting = greeting
        self.user = user
        self.password = password
        self.script = script or {}
        self.timeout = timeout
        self.commands = []  # every command line received, decoded
        self.conns = []
        self.logins = 0  # successful logins
        self.lock = threading.Lock()

    @property
    def connections(self):
        return self.accepted

    def close(self):
        self.stop()

    def rc(self, name="fake", extra=""):
        """rc text for an account on this server, without TLS."""
        return (f"account {name}\n"
                f"    protocol {self.proto}\n"
                f"    host 127.0.0.1\n"
                f"    port {self.port}\n"
                f"    tls off\n"
                f"    user {self.user}\n"
                f"    password \"{self.password}\"\n"
                f"{extra}")

    def serve(self, sock, n):
        sock.settimeout(self.timeout)
        c = Conn(sock, self.track)
        self.conns.append(c)
        try:
            if not self.implicit_tls or c.starttls(self.cert):
                if self.proto == "imap":
                    self._imap(c)
                else:
                    self._pop3(c)
        finally:
            c.close()

    def _lines(self, c):
        """The client's command lines, recorded, until it closes."""
        while True:
            line = c.readline()
            if line is None:
                return
            text = line.decode(errors="replace")
            with self.lock:
                self.commands.append(text)
            yield line, text

    def _scripted(self, c, key, tag, line):
        """Answer from the script; None if it has nothing for key."""
        if key not in self.script:
            return None
        act = self.script[key]
        if callable(act):
            return act(c, tag, line) or "handled"
        c.send(act.replace("{tag}", tag))
        return "handled"

    def _check_plain(self, blob):
        """A SASL PLAIN blob: is it our user and password?"""
        try:
            parts = base64.b64decode(blob).split(b"\0")
        except ValueError:
            return False
        return (len(parts) == 3 and parts[1] == self.user.encode()
                and parts[2] == self.password.encode())

    # IMAP

    def imap_greet(self, c):
        if self.greeting == "preauth":
            c.send("* PREAUTH [CAPABILITY IMAP4rev1] logged in already\r\n")
        else:
            c.send("* OK fake IMAP ready\r\n")

    def _imap(self, c):
        self.imap_greet(c)
        for line, text in self._lines(c):
            words = text.split(" ")
            tag = words[0]
            cmd = words[1].upper() if len(words) > 1 else ""
            key = cmd
            if cmd == "UID" and len(words) > 2:
                key = "UID " + words[2].upper()
            if self.imap_command(c, tag, key, words, line) == HANGUP:
                return

    def imap_command(self, c, tag, key, words, line):
        """Answer one command; HANGUP ends the connection."""
        text = line.decode(errors="replace")
        done = self._scripted(c, key, tag, text)
        if done:
            return done
        if key == "CAPABILITY":
            caps = "IMAP4rev1 AUTH=PLAIN SASL-IR"
            if self.advertise_starttls and not c.tls:
                caps += " STARTTLS"
            c.send("* CAPABILITY %s\r\n%s OK done\r\n" % (caps, tag))
        elif key == "STARTTLS":
            if self.starttls_mode == "refuse":
                c.send("%s NO STARTTLS is not for you\r\n" % tag)
                return None
            if self.starttls_mode == "inject":
                c.send("%s OK Begin TLS\r\n"
                       "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] "
                       "injected\r\n" % tag)
            elif self.starttls_mode == "inject-late":
                c.send("%s OK Begin TLS\r\n" % tag)
                time.sleep(0.05)
                c.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] "
                       "injected\r\n")
            else:
                c.send("%s OK Begin TLS\r\n" % tag)
            if not c.starttls(self.cert):
                return HANGUP
        elif key == "AUTHENTICATE":
            blob = words[3] if len(words) > 3 else None
            if blob is None:
                c.send("+ \r\n")
                blob = (c.readline() or b"").decode(errors="replace")
            if self._check_plain(blob):
                self.logins += 1
                c.send("%s OK logged in\r\n" % tag)
            else:
                c.send("%s NO [AUTHENTICATIONFAILED] no\r\n" % tag)
        elif key == "LOGIN":
            ok = (len(words) > 3 and words[2].strip('"') == self.user
                  and words[3].strip('"') == self.password)
            self.logins += ok
            c.send("%s %s\r\n" % (tag, "OK logged in" if ok
                                  else "NO [AUTHENTICATIONFAILED] no"))
        elif key == "LOGOUT":
            c.send("* BYE\r\n%s OK bye\r\n" % tag)
            return HANGUP
        else:
            c.send("%s OK done\r\n" % tag)
        return None

    # POP3

    def _pop3(self, c):
        c.send("+OK fake POP3 ready\r\n")
        for line, text in self._lines(c):
            words = text.split(" ")
            if self.pop3_command(c, words[0].upper(), words[1:],
                                 text) == HANGUP:
                return

    def pop3_command(self, c, cmd, args, text):
        """Answer one command; HANGUP ends the connection."""
        done = self._scripted(c, cmd, "", text)
        if done:
            return done
        if cmd == "CAPA":
            caps = "+OK\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n"
            if self.advertise_starttls and not c.tls:
                caps += "STLS\r\n"
            c.send(caps + ".\r\n")
        elif cmd == "STLS":
            if self.starttls_mode == "refuse":
                c.send("-ERR STLS is not for you\r\n")
                return None
            if self.starttls_mode == "inject":
                c.send("+OK Begin TLS\r\n+OK injected\r\n")
            elif self.starttls_mode == "inject-late":
                c.send("+OK Begin TLS\r\n")
                time.sleep(0.05)
                c.send("+OK injected\r\n")
            else:
                c.send("+OK Begin TLS\r\n")
            if not c.starttls(self.cert):
                return HANGUP
        elif cmd == "AUTH":
            blob = args[1] if len(args) > 1 else None
            if blob is None:
                c.send("+ \r\n")
                blob = (c.readline() or b"").decode(errors="replace")
            if self._check_plain(blob):
                self.logins += 1
                c.send("+OK logged in\r\n")
            else:
                c.send("-ERR [AUTH] no\r\n")
        elif cmd == "USER":
            c.state["user_ok"] = bool(args) and args[0] == self.user
            c.send("+OK\r\n")
        elif cmd == "PASS":
            if c.state.get("user_ok") and " ".join(args) == self.password:
                self.logins += 1
                c.send("+OK logged in\r\n")
            else:
                c.send("-ERR [AUTH] no\r\n")
        elif cmd == "QUIT":
            c.send("+OK bye\r\n")
            return HANGUP
        else:
            c.send("+OK\r\n")
        return None


# An IMAP server with one INBOX, for hostile answers to UID FETCH.

IMAP_CAPS = "IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE ESEARCH AUTH=PLAIN"


class FakeImap(FakeServer):
    """Logs anyone in, answers CAPABILITY, ENABLE, LIST, SELECT, UID
    SEARCH and LOGOUT like a small server with `exists` messages in INBOX
    (UIDs 1 to exists), and UID FETCH with whatever bytes the test gives.
    Plain TCP; started at once; close() when done.

    fetch_reply: bytes sent before the tagged OK of a UID FETCH (the tag
    is appended as '<tag> OK done'), or a function of the command line
    (bytes, CRLF included) that gives them; list_reply the same for LIST.
    badcharset: refuse a UID SEARCH naming a CHARSET. bye_after_body:
    close the connection after each UID FETCH of a whole message
    (BODY.PEEK[]), as a server that logs out an idle or busy client does.
    drop_after_body: after such a FETCH, close the connection without a
    word when the next command comes, as a connection that looked alive
    but was gone does."""

    def __init__(self, fetch_reply, list_reply=b'* LIST () "/" INBOX\r\n',
                 badcharset=False, exists=1, bye_after_body=False,
                 drop_after_body=False):
        super().__init__("imap", user="a", password="b", timeout=None)
        self.fetch_reply = fetch_reply
        self.list_reply = list_reply
        self.badcharset = badcharset
        self.exists = exists
        self.bye_after_body = bye_after_body
        self.drop_after_body = drop_after_body
        self.start()

    def imap_greet(self, c):
        c.send("* OK [CAPABILITY %s] fake ready\r\n" % IMAP_CAPS)

    def imap_command(self, c, tag, key, words, line):
        raw = line + b"\r\n"
        tag = tag.encode()
        if c.state.get("after_body") and self.drop_after_body:
            return HANGUP
        if key == "CAPABILITY":
            c.send(b"* CAPABILITY %s\r\n%s OK done\r\n"
                   % (IMAP_CAPS.encode(), tag))
        elif key in ("AUTHENTICATE", "LOGIN"):
            self.logins += 1
            c.send(b"%s OK [CAPABILITY %s] logged in\r\n"
                   % (tag, IMAP_CAPS.encode()))
        elif key == "LIST":
            c.send(self.list_reply + tag + b" OK done\r\n")
        elif key == "SELECT":
            c.send(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n"
                   b"* OK [UIDNEXT %d] x\r\n%s OK [READ-WRITE] done\r\n"
                   % (self.exists, self.exists + 1, tag))
        elif key == "UID SEARCH" and self.badcharset and \
                b" CHARSET " in raw.upper():
            c.send(tag + b" NO [BADCHARSET (US-ASCII)] no\r\n")
        elif key == "UID SEARCH":
            c.send(b'* ESEARCH (TAG "' + tag + b'") UID ALL ' +
                   (b"1:%d" % self.exists if self.exists > 1 else b"1") +
                   b"\r\n" + tag + b" OK done\r\n")
        elif key == "UID FETCH":
            body = b"BODY.PEEK[]" in raw
            bye = self.bye_after_body and body
            c.state["after_body"] = body
            reply = (self.fetch_reply(raw) if callable(self.fetch_reply)
                     else self.fetch_reply)
            c.send(reply + tag + b" OK done\r\n" +
                   (b"* BYE enough for now\r\n" if bye else b""))
            if bye:
                return HANGUP
        elif key == "LOGOUT":
            c.send(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            return HANGUP
        else:
            c.send(tag + b" OK done\r\n")
        return None


# An IMAP server with an INBOX of UIDs whose header index misbehaves.

def uid_header(uid):
    # A minute apart: the client's date order is the UID order.
    return (b"Subject: m%d\r\nMessage-ID: <m%d@example.org>\r\n"
            b"Date: %s\r\n\r\n"
            % (uid, uid, email.utils.formatdate(1704067200 + 60 * uid,
                                                 usegmt=True).encode()))


def fetch_item(seq, uid, hdr=True):
    """A FETCH response for a message, with its header literal or not."""
    out = b"* %d FETCH (UID %d FLAGS ()" % (seq, uid)
    if hdr:
        h = uid_header(uid)
        out += (b' RFC822.SIZE 50 INTERNALDATE "01-Jan-2024 00:00:00 +0000"'
                b" BODY[HEADER.FIELDS (SUBJECT MESSAGE-ID)] {%d}\r\n"
                % len(h) + h)
    return out + b")\r\n"


def uidset(text):
    """[(lo, hi)] of an IMAP UID set; * is a large number."""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        hi = hi or lo
        lo, hi = int(lo), (10 ** 9 if hi == "*" else int(hi))
        out.append((min(lo, hi), max(lo, hi)))
    return out


class ScriptedImap(FakeImap):
    """A mailbox of UIDs in INBOX (every folder LIST names holds the
    same); the header fetch, by UID or by message number, misbehaves as
    `mode` says: "good", "beyond" (an extra FETCH for a message past
    EXISTS), "expunge" (the second message expunged in the middle of the
    responses), "cut" (the connection cut in the middle of a literal) or
    any bytes (sent instead of the responses).

    hold: a threading.Event each UID FETCH of headers waits for before it
    is answered, so a test can look at the client while its index is
    incomplete (a FETCH by message number is answered at once)."""

    def __init__(self, uids, list_reply=b'* LIST () "/" INBOX\r\n'):
        self.uids = list(uids)
        self.mode = "good"
        self.hold = None
        super().__init__(b"", list_reply=list_reply)

    def header_fetch(self, c, tag, sets):
        seqs = [(i + 1, u) for i, u in enumerate(self.uids)
                if any(lo <= u <= hi for lo, hi in sets)]
        if isinstance(self.mode, bytes):
            c.send(self.mode)
        elif self.mode == "cut":
            # The first response whole, the second cut ten bytes into
            # its literal.
            first, second = fetch_item(*seqs[0]), fetch_item(*seqs[1])
            c.send(first + second[:second.index(b"}\r\n") + 13])
            return HANGUP
        elif self.mode == "expunge":
            gone = self.uids[1]
            out = fetch_item(*seqs[0]) + b"* 2 EXPUNGE\r\n"
            with self.lock:
                self.uids.remove(gone)
            out += b"".join(fetch_item(s - (s > 2), u)
                            for s, u in seqs[1:] if u != gone)
            c.send(out)
        else:
            out = b"".join(fetch_item(s, u) for s, u in seqs)
            if self.mode == "beyond":
                out += fetch_item(len(self.uids) + 40, 9999)
            c.send(out)
        c.send(tag + b" OK done\r\n")
        return None

    def imap_command(self, c, tag, key, words, line):
        btag = tag.encode()
        if key == "SELECT":
            c.send(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n"
                   b"* OK [UIDNEXT %d] x\r\n" %
                   (len(self.uids), max(self.uids) + 1) +
                   btag + b" OK [READ-WRITE] done\r\n")
        elif key == "UID SEARCH":
            c.send(b'* ESEARCH (TAG "' + btag + b'") UID ALL ' +
                   b",".join(b"%d" % u for u in self.uids) +
                   b"\r\n" + btag + b" OK done\r\n")
        elif key == "FETCH" and b"HEADER" in line.upper():
            # Message numbers to the UIDs of those messages.
            n = len(self.uids)
            sets = [(self.uids[lo - 1], self.uids[min(hi, n) - 1])
                    for lo, hi in uidset(words[2]) if 1 <= lo <= n]
            return self.header_fetch(c, btag, sets)
        elif key == "UID FETCH":
            sets = uidset(words[3])
            if b"HEADER" in line.upper():
                if self.hold is not None:
                    self.hold.wait(60)
                return self.header_fetch(c, btag, sets)
            c.send(b"".join(fetch_item(i + 1, u, hdr=False)
                            for i, u in enumerate(self.uids)
                            if any(lo <= u <= hi for lo, hi in sets)) +
                   btag + b" OK done\r\n")
        else:
            return super().imap_command(c, tag, key, words, line)
        return None


# A POP3 mailbox.

def _stuff(raw):
    """Dot-stuff a message and make sure it ends with CRLF."""
    lines = raw.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                    for l in lines)


class FakePOP3(FakeServer):
    """A POP3 mailbox: messages, a list of (uidl, raw bytes), that
    persists across connections; DELE takes effect at QUIT, as in a real
    server. It speaks enough of RFC 1939 and RFC 2449 for libcurl's login
    (CAPA, USER/PASS) and for tern's engine (UIDL, LIST, RETR, DELE, RSET,
    NOOP, QUIT), pipelined commands in order. Started at once.

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
      down=True         close every connection at once, before the
                        greeting (a server that is not there); refused
                        counts them
      lockstep=True     a server that reads one command at a time: before
                        each reply it looks whether more has arrived,
                        records it in violations and ends the session
                        with -ERR
    """

    def __init__(self, messages=None, user="alice", password="secret"):
        super().__init__("pop3", user=user, password=password, timeout=None)
        self.messages = list(messages or [])
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
        self.down = False
        self.refused = 0
        self.lockstep = False
        self.violations = []
        self.start()

    def release(self):
        """End a hold_in_retr pause."""
        self.released.set()

    def close(self):
        self.released.set()
        super().close()

    def _pop3(self, c):
        if self.down:
            with self.lock:
                self.refused += 1
            return
        super()._pop3(c)

    def _early(self, c, text):
        """lockstep: has the client sent more before this reply?"""
        data = c._rbuf
        if not data:
            r, _, _ = select.select([c.sock], [], [], 0.1)
            if r:
                try:
                    data = c.sock.recv(4096, socket.MSG_PEEK)
                except OSError:
                    data = b""
        if not data:
            return False
        with self.lock:
            self.violations.append((text, data.decode(errors="replace")))
        c.send("-ERR one command at a time\r\n")
        return True

    def pop3_command(self, c, cmd, args, text):
        if self.lockstep and self._early(c, text):
            return HANGUP
        deleted = c.state.setdefault("deleted", set())
        with self.lock:
            msgs = list(self.messages)
        live = [i for i in range(1, len(msgs) + 1) if i not in deleted]
        authed = c.state.get("authed", False)
        if cmd == "CAPA":
            caps = ["USER", "TOP"]
            if self.uidl:
                caps.append("UIDL")
            if self.pipelining:
                caps.append("PIPELINING")
            c.send("+OK\r\n" + "".join(x + "\r\n" for x in caps) + ".\r\n")
        elif cmd == "USER":
            c.state["user"] = args[0] if args else ""
            c.send("+OK\r\n")
        elif cmd == "PASS":
            if c.state.get("user") == self.user and \
                    " ".join(args) == self.password:
                c.state["authed"] = True
                self.logins += 1
                c.send("+OK logged in\r\n")
            else:
                c.send("-ERR [AUTH] authentication failed\r\n")
        elif not authed and cmd != "QUIT":
            c.send("-ERR log in first\r\n")
        elif cmd in ("NOOP", "RSET"):
            if cmd == "RSET":
                deleted.clear()
            c.send("+OK\r\n")
        elif cmd == "STAT":
            c.send("+OK %d %d\r\n" % (
                len(live), sum(len(msgs[i - 1][1]) for i in live)))
        elif cmd == "UIDL":
            if not self.uidl:
                c.send("-ERR unknown command\r\n")
                return None
            out = "+OK\r\n"
            if self.long_line:
                out += "1 " + "x" * self.long_line + "\r\n"
            for i in live:
                out += "%d %s\r\n" % (i, msgs[i - 1][0])
            c.send(out + ".\r\n")
        elif cmd == "LIST":
            out = "+OK\r\n"
            for i in live:
                size = self.list_sizes.get(i, len(msgs[i - 1][1]))
                out += "%d %d\r\n" % (i, size)
            c.send(out + ".\r\n")
        elif cmd in ("RETR", "TOP"):
            n = int(args[0]) if args and args[0].isdigit() else 0
            if n not in live:
                c.send("-ERR no such message\r\n")
                return None
            data = _stuff(msgs[n - 1][1])
            if self.hold_in_retr == n:
                c.send(b"+OK\r\n" + data[:len(data) // 2])
                self.holding.set()
                self.released.wait()
                c.send(data[len(data) // 2:] + b".\r\n")
                return None
            if self.stall_in_retr == n:
                c.send(b"+OK\r\n" + data[:len(data) // 2])
                c.drain()  # until the client gives up
                return HANGUP
            if self.drop_in_retr == n:
                c.send(b"+OK\r\n" + data[:len(data) // 2])
                c.sock.shutdown(socket.SHUT_RDWR)
                return HANGUP
            c.send(b"+OK\r\n" + data + b".\r\n")
        elif cmd == "DELE":
            n = int(args[0]) if args and args[0].isdigit() else 0
            if n not in live:
                c.send("-ERR no such message\r\n")
                return None
            if self.refuse_dele is not None:
                c.send("-ERR %s\r\n" % self.refuse_dele)
                return None
            deleted.add(n)
            c.send("+OK deleted\r\n")
        elif cmd == "QUIT":
            if authed and not self.ignore_dele:
                with self.lock:
                    self.messages = [m for i, m in
                                     enumerate(self.messages, 1)
                                     if i not in deleted]
            c.send("+OK bye\r\n")
            return HANGUP
        else:
            c.send("-ERR unknown command\r\n")
        return None
