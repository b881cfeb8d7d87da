"""A small scripted IMAP or POP3 server for misbehaviour that a real server
will not produce: STARTTLS hidden or refused, a PREAUTH greeting, bytes
injected after the STARTTLS reply, certificates for the wrong host or from
an unknown issuer.

It listens on a free port of 127.0.0.1 in a thread, serves each
connection in a thread of its own, and records every byte each client sent, split into what
came before TLS (plaintext, on the wire for anyone to read) and what came
inside TLS, so a test can assert that no credential ever went out in the
clear. Everything else about the protocols is the least a client needs to
log in.

    with FakeServer("imap", cert=certs.good, starttls="refuse") as srv:
        ... connect to srv.port ...
        srv.conns[0].plain  # bytes the client sent before TLS
"""

import base64
import os
import socket
import ssl
import subprocess
import threading
import time


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

    def __init__(self, sock):
        self.sock = sock
        self.tls = False
        self.plain = b""  # client bytes before TLS
        self.secure = b""  # client bytes inside TLS
        self.tls_error = None  # why the handshake failed, if it did
        self.closed_by_client = False
        self._rbuf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self):
        """A line without its CRLF, or None when the client closed."""
        while b"\n" not in self._rbuf:
            try:
                data = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                self.closed_by_client = True
                return None
            if self.tls:
                self.secure += data
            else:
                self.plain += data
            self._rbuf += data
        line, self._rbuf = self._rbuf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def starttls(self, certkey):
        """Handshake as the server; False (with tls_error) on failure."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*certkey)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.tls_error = str(e)
            return False
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


class FakeServer:
    """A scripted server for protocol "imap" or "pop3".

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
    there. srv.commands lists every command line received, in order. greeting: "ok" or, for IMAP, "preauth".
    """

    def __init__(self, proto, cert, implicit_tls=False,
                 advertise_starttls=True, starttls="ok", greeting="ok",
                 user="alice", password="secret", script=None):
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
        self.commands = []  # every command line received, decoded
        self.conns = []
        self.logins = 0  # successful logins
        self.errors = []  # exceptions in the server thread
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self._wake = None  # the address stop() wakes accept() from
        self._sessions = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        # Wake accept() with a connection of known address: one the
        # client made just before (and closed at once) is still served.
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
        self.thread.join(10)
        for c in self.conns:  # wake sessions still waiting for a line
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._sessions:
            t.join(10)
        self.lsock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def _serve(self):
        while True:
            try:
                s, addr = self.lsock.accept()
            except OSError:
                return
            if addr == self._wake:
                s.close()
                return
            s.settimeout(10)
            c = Conn(s)
            self.conns.append(c)
            # A thread per connection: a client may hold two at once.
            t = threading.Thread(target=self._session, args=(c,),
                                 daemon=True)
            self._sessions.append(t)
            t.start()

    def _session(self, c):
        try:
            if not self.implicit_tls or c.starttls(self.cert):
                if self.proto == "imap":
                    self._imap(c)
                else:
                    self._pop3(c)
        except Exception as e:  # noqa: BLE001 -- recorded for the test
            if not isinstance(e, (OSError, ssl.SSLError)):
                self.errors.append(repr(e))
        finally:
            c.close()

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

    def _imap(self, c):
        if self.greeting == "preauth":
            c.send("* PREAUTH [CAPABILITY IMAP4rev1] logged in already\r\n")
        else:
            c.send("* OK fake IMAP ready\r\n")
        while True:
            line = c.readline()
            if line is None:
                return
            text = line.decode(errors="replace")
            self.commands.append(text)
            words = text.split(" ")
            tag = words[0]
            cmd = words[1].upper() if len(words) > 1 else ""
            key = cmd
            if cmd == "UID" and len(words) > 2:
                key = "UID " + words[2].upper()
            done = self._scripted(c, key, tag, text)
            if done == HANGUP:
                return
            if done:
                continue
            if cmd == "CAPABILITY":
                caps = "IMAP4rev1 AUTH=PLAIN SASL-IR"
                if self.advertise_starttls and not c.tls:
                    caps += " STARTTLS"
                c.send("* CAPABILITY %s\r\n%s OK done\r\n" % (caps, tag))
            elif cmd == "STARTTLS":
                if self.starttls_mode == "refuse":
                    c.send("%s NO STARTTLS is not for you\r\n" % tag)
                    continue
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
                    return
            elif cmd == "AUTHENTICATE":
                blob = words[3] if len(words) > 3 else None
                if blob is None:
                    c.send("+ \r\n")
                    blob = (c.readline() or b"").decode(errors="replace")
                if self._check_plain(blob):
                    self.logins += 1
                    c.send("%s OK logged in\r\n" % tag)
                else:
                    c.send("%s NO [AUTHENTICATIONFAILED] no\r\n" % tag)
            elif cmd == "LOGIN":
                ok = (len(words) > 3 and words[2].strip('"') == self.user
                      and words[3].strip('"') == self.password)
                self.logins += ok
                c.send("%s %s\r\n" % (tag, "OK logged in" if ok
                                      else "NO [AUTHENTICATIONFAILED] no"))
            elif cmd == "LOGOUT":
                c.send("* BYE\r\n%s OK bye\r\n" % tag)
                return
            else:
                c.send("%s OK done\r\n" % tag)

    def _pop3(self, c):
        c.send("+OK fake POP3 ready\r\n")
        user_ok = False
        while True:
            line = c.readline()
            if line is None:
                return
            text = line.decode(errors="replace")
            self.commands.append(text)
            words = text.split(" ")
            cmd = words[0].upper()
            done = self._scripted(c, cmd, "", text)
            if done == HANGUP:
                return
            if done:
                continue
            if cmd == "CAPA":
                caps = "+OK\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n"
                if self.advertise_starttls and not c.tls:
                    caps += "STLS\r\n"
                c.send(caps + ".\r\n")
            elif cmd == "STLS":
                if self.starttls_mode == "refuse":
                    c.send("-ERR STLS is not for you\r\n")
                    continue
                if self.starttls_mode == "inject":
                    c.send("+OK Begin TLS\r\n+OK injected\r\n")
                elif self.starttls_mode == "inject-late":
                    c.send("+OK Begin TLS\r\n")
                    time.sleep(0.05)
                    c.send("+OK injected\r\n")
                else:
                    c.send("+OK Begin TLS\r\n")
                if not c.starttls(self.cert):
                    return
            elif cmd == "AUTH":
                blob = words[2] if len(words) > 2 else None
                if blob is None:
                    c.send("+ \r\n")
                    blob = (c.readline() or b"").decode(errors="replace")
                if self._check_plain(blob):
                    self.logins += 1
                    c.send("+OK logged in\r\n")
                else:
                    c.send("-ERR [AUTH] no\r\n")
            elif cmd == "USER":
                user_ok = len(words) > 1 and words[1] == self.user
                c.send("+OK\r\n")
            elif cmd == "PASS":
                if user_ok and " ".join(words[1:]) == self.password:
                    self.logins += 1
                    c.send("+OK logged in\r\n")
                else:
                    c.send("-ERR [AUTH] no\r\n")
            elif cmd == "QUIT":
                c.send("+OK bye\r\n")
                return
            else:
                c.send("+OK\r\n")
