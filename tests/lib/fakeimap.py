"""A scripted IMAP server for misbehaviour a real server will not produce.

It logs anyone in, answers CAPABILITY, ENABLE, LIST, SELECT, UID SEARCH
and LOGOUT like a small server with one message in INBOX, and answers
UID FETCH with whatever bytes the test gives (hostile ones). Plain TCP on
127.0.0.1; one thread per connection.
"""

import socket
import threading

CAPS = b"IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE ESEARCH AUTH=PLAIN"


class FakeImap:
    def __init__(self, fetch_reply, list_reply=b'* LIST () "/" INBOX\r\n',
                 badcharset=False, exists=1, bye_after_body=False,
                 drop_after_body=False):
        """fetch_reply: bytes sent before the tagged OK of a UID FETCH of
        headers (the tag is appended as '<tag> OK done'), or a function
        of the command line that gives them; list_reply the
        same for LIST. badcharset: refuse a UID SEARCH naming a CHARSET.
        exists: the messages in INBOX (UIDs 1 to exists).
        bye_after_body: close the connection after each UID FETCH of a
        whole message (BODY.PEEK[]), as a server that logs out an idle or
        busy client does. drop_after_body: after such a FETCH, close the
        connection without a word when the next command comes, as a
        connection that looked alive but was gone does."""
        self.fetch_reply = fetch_reply
        self.badcharset = badcharset
        self.exists = exists
        self.bye_after_body = bye_after_body
        self.drop_after_body = drop_after_body
        self.logins = 0
        self.list_reply = list_reply
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.commands = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        f = conn.makefile("rb")
        after_body = False
        try:
            conn.sendall(b"* OK [CAPABILITY " + CAPS + b"] fake ready\r\n")
            while True:
                line = f.readline()
                if not line:
                    break
                parts = line.rstrip(b"\r\n").split(b" ")
                tag, cmd = parts[0], b" ".join(parts[1:3]).upper()
                self.commands.append(line)
                if after_body and self.drop_after_body:
                    break
                if cmd.startswith(b"CAPABILITY"):
                    conn.sendall(b"* CAPABILITY " + CAPS + b"\r\n" + tag +
                                 b" OK done\r\n")
                elif cmd.startswith(b"AUTHENTICATE") or \
                        cmd.startswith(b"LOGIN"):
                    self.logins += 1
                    conn.sendall(tag + b" OK [CAPABILITY " + CAPS +
                                 b"] logged in\r\n")
                elif cmd.startswith(b"LIST"):
                    conn.sendall(self.list_reply + tag + b" OK done\r\n")
                elif cmd.startswith(b"SELECT"):
                    conn.sendall(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n"
                                 b"* OK [UIDNEXT %d] x\r\n"
                                 % (self.exists, self.exists + 1) + tag +
                                 b" OK [READ-WRITE] done\r\n")
                elif cmd.startswith(b"UID SEARCH") and self.badcharset \
                        and b" CHARSET " in line.upper():
                    conn.sendall(tag + b" NO [BADCHARSET (US-ASCII)] no\r\n")
                elif cmd.startswith(b"UID SEARCH"):
                    conn.sendall(b'* ESEARCH (TAG "' + tag + b'") UID ALL ' +
                                 (b"1:%d" % self.exists if self.exists > 1
                                  else b"1") + b"\r\n" + tag +
                                 b" OK done\r\n")
                elif cmd.startswith(b"UID FETCH"):
                    bye = self.bye_after_body and b"BODY.PEEK[]" in line
                    after_body = b"BODY.PEEK[]" in line
                    conn.sendall((self.fetch_reply(line)
                                  if callable(self.fetch_reply)
                                  else self.fetch_reply) +
                                 tag + b" OK done\r\n" +
                                 (b"* BYE enough for now\r\n" if bye
                                  else b""))
                    if bye:
                        break
                elif cmd.startswith(b"LOGOUT"):
                    conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                    break
                else:
                    conn.sendall(tag + b" OK done\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def rc(self):
        """rc text for an account "fake" on this server."""
        return ("account fake\n protocol imap\n host 127.0.0.1\n"
                " port %d\n tls off\n user a\n password b\n" % self.port)

    def close(self):
        self.sock.close()
