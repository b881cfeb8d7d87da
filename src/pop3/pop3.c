/*
 * The POP3 account driver: one session per sync, an explicit state machine
 * over a connection from the net module.
 *
 *	CAPA -> LISTING (UIDL, LIST) -> TRANSFER (RETR, DELE) -> QUIT -> DONE
 *
 * Durability (DESIGN.md): a message is committed to the store before its
 * DELE is sent, and a DELE counts only once QUIT is answered +OK. Each
 * server message is known by its UIDL (or, on a server without UIDL, by the
 * SHA-256 of its bytes) in the store's pop3_uidl table:
 *
 *	KEPT	stored and left on the server (keep yes)
 *	DELE	stored; to be deleted on the server. Written in the same
 *		transaction as the message, so a crash after the commit turns
 *		into a DELE at the next sync, never a second download.
 *	GONE	deleted: QUIT was answered +OK after the DELE.
 *
 * Commits are batched (BATCH_MSGS messages or BATCH_BYTES bytes in one
 * transaction) by a writer thread, so the store's fsyncs overlap the
 * transfer; a batch's DELEs are queued only after its commit returned.
 * With PIPELINING (RFC 2449) up to WINDOW commands are in flight, one at a
 * time otherwise. A failure before QUIT leaves every DELE of the session
 * unapplied (the connection is dropped, or RSET then QUIT when the stream
 * is still in step), and keeps the messages that arrived whole.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "tern/core.h"
#include "tern/mime.h"
#include "tern/net.h"
#include "tern/oauth.h"
#include "tern/pop3.h"
#include "tern/util.h"

#define WINDOW 32 /* commands in flight with PIPELINING */
#define BATCH_MSGS 256 /* messages per store transaction */
#define BATCH_BYTES (16 * 1024 * 1024)
#define LINE_MAX_POP3 8192 /* longest status or listing line */
#define MAX_MESSAGES 1000000 /* longest listing we accept */
#define READ_CHUNK (64 * 1024)
#define WRITER_JOBS 256 /* messages waiting for the writer */
#define WRITER_BYTES (8 * 1024 * 1024) /* bytes waiting for the writer */
#define PRESIZE_MAX (4 * 1024 * 1024) /* trust LIST sizes up to this */
#define HASH_PREFIX "sha256:" /* identity of a message without UIDL */
#define PROGRESS_MS 200

enum pop3_state {
	ST_CONNECT,
	ST_CAPA,
	ST_LISTING,
	ST_TRANSFER,
	ST_QUIT,
	ST_DONE,
	ST_FAILED,
};

static const char *const state_names[] = {
	"connect",
	"capa",
	"listing",
	"transfer",
	"quit",
	"done",
	"failed",
};

enum cmd_kind {
	CMD_CAPA,
	CMD_UIDL,
	CMD_LIST,
	CMD_RETR,
	CMD_DELE,
	CMD_RSET,
	CMD_QUIT,
};

static const char *const cmd_names[] = {
	"CAPA",
	"UIDL",
	"LIST",
	"RETR",
	"DELE",
	"RSET",
	"QUIT",
};

struct cmd {
	enum cmd_kind kind;
	uint32_t msgno;
};

enum action {
	ACT_NONE, /* leave it alone */
	ACT_RETR, /* download it */
	ACT_DELE, /* already stored: delete it on the server */
};

struct msg {
	int listed; /* LIST named it */
	uint64_t size; /* as LIST said */
	char *id; /* valid UIDL, or the content hash once downloaded */
	int dup; /* its UIDL appears more than once in the listing */
	enum action action;
	int dele_after; /* DELE once its batch is committed */
	int dele_ok; /* the server answered +OK to its DELE */
};

/*
 * Points for tern_fault (tests): pop3-retr: inside the body of a RETR;
 * pop3-after-commit: a batch committed, its DELEs not sent;
 * pop3-after-dele: a DELE answered, QUIT not sent.
 */
struct job {
	uint32_t msgno;
	struct buf body;
	/* Parsed by the session thread, which waits on the network while
	 * the writer waits on the disk. */
	struct mime_envelope env;
};

struct session {
	struct tern *t;
	struct rc_account *a;
	const struct sync_opts *o;
	struct store *store;
	int64_t account_id;
	int64_t inbox_id;
	struct net_conn *conn;
	struct pop3_parser parser;
	enum pop3_state state;
	char *err; /* set by the reply handlers */

	struct cmd inflight[POP3_PARSER_QUEUE];
	size_t ihead, icount;
	size_t window;
	struct buf out; /* commands not yet sent */

	int net_broken; /* a send or read failed: the stream is unusable */
	int cap_pipelining;
	int has_uidl;
	int quit_ok;

	struct msg *msgs; /* indexed by message number */
	uint32_t nmsgs; /* highest message number + 1 */
	struct store_pop3_uidl *known;
	size_t nknown;
	char **session_ids; /* hash identities stored in this session */
	size_t nsession_ids;

	uint32_t *retrq, *deleq;
	size_t nretr, retr_next, ndele, dele_next;

	struct buf body; /* the message being received */
	int body_over; /* it exceeded max_message_size */
	/* The store's writer (store/writer.c) while messages arrive. */
	struct store_writer *w;
	pthread_mutex_t done_lock; /* guards what follows */
	uint32_t *done; /* committed, DELE allowed */
	size_t ndone;
	char *commit_err; /* the writer's last commit failed */
	struct store_ckpt *ckpt;
	/* Owned by the writer during TRANSFER: */
	uint32_t *batch;
	size_t nbatch;
	size_t batch_bytes;
	int in_txn;

	uint64_t nnew, nremoved, ntoo_big, retr_done, retr_total;
	uint64_t bytes, bytes_total, last_progress;
	int64_t now;
};

static void
session_state(struct session *s, enum pop3_state to)
{
	if (s->t->verbose && s->state != to)
		fprintf(stderr, "tern: pop3 %s: %s -> %s\n", s->a->name,
		    state_names[s->state], state_names[to]);
	s->state = to;
}

static void
session_progress(struct session *s, int force)
{
	struct sync_progress p;
	uint64_t now;

	if (s->o == NULL || s->o->progress == NULL)
		return;
	now = now_ms();
	if (!force && now - s->last_progress < PROGRESS_MS)
		return;
	s->last_progress = now;
	memset(&p, 0, sizeof p);
	p.account = s->a->name;
	p.folder = "INBOX";
	p.what = "downloading";
	p.done = s->retr_done;
	p.total = s->retr_total;
	p.bytes = s->bytes;
	s->o->progress(s->o->arg, &p);
}

/*
 * A warning for the user that does not fail the sync: to the caller's
 * note callback, else on stderr.
 */
static void session_note(struct session *s, const char *fmt, ...)
    TERN_PRINTF(2, 3);

static void
session_note(struct session *s, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (s->o != NULL && s->o->note != NULL)
		s->o->note(s->o->arg, s->a->name, text);
	else
		tern_warnx("%s: %s", s->a->name, text);
	free(text);
}

/* What the net layer warns about while it connects, as a note. */
static void
session_net_note(void *arg, const char *text)
{
	session_note(arg, "%s", text);
}

/* Record a failure from a reply handler; returns -1 to stop the parser. */
static int session_fail(struct session *s, const char *fmt, ...)
    TERN_PRINTF(2, 3);

static int
session_fail(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->err == NULL) {
		va_start(ap, fmt);
		s->err = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Queue a command; it goes out with the next flush. */
static void
session_cmd(struct session *s, enum cmd_kind kind, uint32_t msgno)
{
	static const enum pop3_reply reply[] = {
		POP3_REPLY_LIST,
		POP3_REPLY_LIST,
		POP3_REPLY_LIST,
		POP3_REPLY_DATA,
		POP3_REPLY_LINE,
		POP3_REPLY_LINE,
		POP3_REPLY_LINE,
	};
	struct cmd *c;

	if (pop3_parser_expect(&s->parser, reply[kind]) != 0)
		abort(); /* the window is far below the queue size */
	c = &s->inflight[(s->ihead + s->icount) % POP3_PARSER_QUEUE];
	c->kind = kind;
	c->msgno = msgno;
	s->icount++;
	if (msgno != 0)
		(void)buf_printf(&s->out, "%s %u\r\n", cmd_names[kind], msgno);
	else
		(void)buf_printf(&s->out, "%s\r\n", cmd_names[kind]);
}

static struct msg *
session_msg(struct session *s, uint32_t msgno)
{
	uint32_t n;

	if (msgno >= s->nmsgs) {
		n = msgno + 1 > s->nmsgs * 2 ? msgno + 1 : s->nmsgs * 2;
		if (n > MAX_MESSAGES + 1)
			n = MAX_MESSAGES + 1;
		s->msgs = xreallocarray(s->msgs, n, sizeof *s->msgs);
		memset(s->msgs + s->nmsgs, 0, (n - s->nmsgs) * sizeof *s->msgs);
		s->nmsgs = n;
	}
	return &s->msgs[msgno];
}

/* "N REST" of a UIDL or LIST line; -1 if malformed. */
static int
parse_listing_line(const char *l, size_t len, uint32_t *msgno,
    const char **rest, size_t *restlen)
{
	const char *sp = memchr(l, ' ', len);
	uint64_t n;

	if (sp == NULL ||
	    parse_uint64(l, (size_t)(sp - l), MAX_MESSAGES, &n) != 0 || n == 0)
		return -1;
	*msgno = (uint32_t)n;
	*rest = sp + 1;
	*restlen = len - (size_t)(sp + 1 - l);
	/* Some servers pad with more spaces or add fields after a space. */
	while (*restlen > 0 && **rest == ' ') {
		(*rest)++;
		(*restlen)--;
	}
	if ((sp = memchr(*rest, ' ', *restlen)) != NULL)
		*restlen = (size_t)(sp - *rest);
	return 0;
}

static int
find_known(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_pop3_uidl *)elem)->uidl);
}

static struct store_pop3_uidl *
session_known(struct session *s, const char *id)
{
	if (s->nknown == 0)
		return NULL;
	return bsearch(id, s->known, s->nknown, sizeof *s->known, find_known);
}

/*
 * The writer: a thread that stores messages while the session keeps
 * reading, so the store's writes and fsyncs overlap the transfer instead
 * of stalling it. The session hands over each whole message (a job) and
 * takes back, after each commit, the message numbers whose DELE the
 * commit allows. The queue is bounded in jobs and bytes; while it is full
 * the session waits. Only the writer touches the store during TRANSFER.
 */

/* Hand committed message numbers to the session (done_lock held). */
static void
writer_publish(struct session *s, uint32_t msgno)
{
	s->done[s->ndone++] = msgno;
}

/* Commit the open batch, then publish the DELEs it allows. */
static int
writer_commit(struct session *s, char **cause)
{
	size_t i;

	if (!s->in_txn)
		return 0;
	s->in_txn = 0;
	if (store_commit(s->store, cause) != 0) {
		s->nbatch = 0;
		return -1;
	}
	tern_fault("pop3-after-commit");
	pthread_mutex_lock(&s->done_lock);
	for (i = 0; i < s->nbatch; i++) {
		if (s->msgs[s->batch[i]].dele_after)
			writer_publish(s, s->batch[i]);
	}
	pthread_mutex_unlock(&s->done_lock);
	s->nbatch = 0;
	s->batch_bytes = 0;
	return 0;
}

/* The identity of a message without UIDL: the hash of its bytes. */
static char *
content_id(const char *data, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *id = xmalloc(sizeof HASH_PREFIX + 2 * SHA256_DIGEST_LENGTH);
	size_t i;

	SHA256((const unsigned char *)data, len, md);
	memcpy(id, HASH_PREFIX, sizeof HASH_PREFIX - 1);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(id + sizeof HASH_PREFIX - 1 + 2 * i, 3, "%02x", md[i]);
	return id;
}

/* The length of the header block (up to the empty line), or len. */
static size_t
header_len(const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == p || (nl == p + 1 && *p == '\r'))
			return (size_t)(nl + 1 - data);
		p = nl + 1;
	}
	return len;
}

/* Store one whole message in the open batch (writer thread). */
static int
writer_store(struct session *s, uint32_t msgno, const struct buf *body,
    const struct mime_envelope *env, char **cause)
{
	struct msg *m = &s->msgs[msgno];
	struct store_msg sm;
	struct store_pop3_uidl u;
	size_t i;
	int ret = -1;

	if (m->id == NULL) {
		/* No UIDL: known by content. One already stored (a crash
		 * before QUIT, or the same bytes twice) is only deleted. */
		m->id = content_id(body->data, body->len);
		for (i = 0; i < s->nsession_ids; i++) {
			if (strcmp(s->session_ids[i], m->id) == 0)
				break;
		}
		if (i < s->nsession_ids || session_known(s, m->id) != NULL) {
			/* Stored by an earlier sync, or in the open batch,
			 * whose commit the DELE must wait for. */
			if (!s->in_txn) {
				m->dele_after = 0;
				pthread_mutex_lock(&s->done_lock);
				writer_publish(s, msgno);
				pthread_mutex_unlock(&s->done_lock);
				return 0;
			}
			m->dele_after = 1;
			s->batch[s->nbatch++] = msgno;
			if (s->nbatch >= BATCH_MSGS)
				return writer_commit(s, cause);
			return 0;
		}
		s->session_ids = xreallocarray(s->session_ids,
		    s->nsession_ids + 1, sizeof *s->session_ids);
		s->session_ids[s->nsession_ids++] = m->id;
	}

	memset(&sm, 0, sizeof sm);
	sm.folder_id = s->inbox_id;
	core_msg_from_envelope(&sm, env);
	sm.internaldate = s->now;
	sm.pop3_uidl = m->id;
	sm.fetched_at = s->now;

	if (!s->in_txn) {
		if (store_begin(s->store, cause) != 0)
			goto out;
		s->in_txn = 1;
	}
	if (store_msg_insert_packed(s->store, s->account_id, &sm, body->data,
	        body->len, cause) != 0)
		goto out;
	u.uidl = m->id;
	u.message_id = sm.id;
	u.first_seen = s->now;
	u.state = m->dele_after ? STORE_POP3_DELE : STORE_POP3_KEPT;
	if (store_pop3_uidl_put(s->store, s->account_id, &u, cause) != 0)
		goto out;
	s->nnew++;
	s->batch[s->nbatch++] = msgno;
	s->batch_bytes += body->len;
	ret = 0;
	if (s->nbatch >= BATCH_MSGS || s->batch_bytes >= BATCH_BYTES)
		ret = writer_commit(s, cause);
out:
	sm.pop3_uidl = NULL;
	return ret;
}

/* Store one message (the writer's thread). */
static int
writer_run(void *arg, void *job, char **cause)
{
	struct job *j = job;

	if (writer_store(arg, j->msgno, &j->body, &j->env, cause) != 0) {
		if (*cause == NULL)
			set_cause(cause, "storing a message failed");
		return -1;
	}
	return 0;
}

static void
job_free(void *job)
{
	struct job *j = job;

	buf_free(&j->body);
	mime_envelope_clear(&j->env);
	free(j);
}

/* The writer's last words: keep what is stored whole (no DELE was sent
 * for it); after a failure the batch is rolled back instead. */
static void
writer_finish(void *arg, int failed)
{
	struct session *s = arg;
	char *cause = NULL;

	if (failed) {
		if (s->in_txn) {
			s->in_txn = 0;
			store_rollback(s->store);
		}
		return;
	}
	if (writer_commit(s, &cause) != 0) {
		pthread_mutex_lock(&s->done_lock);
		free(s->commit_err);
		s->commit_err = cause;
		pthread_mutex_unlock(&s->done_lock);
	}
}

static int
writer_start(struct session *s, char **cause)
{
	struct store_writer_params p;

	memset(&p, 0, sizeof p);
	p.run = writer_run;
	p.free = job_free;
	p.finish = writer_finish;
	p.arg = s;
	p.max_jobs = WRITER_JOBS;
	p.max_bytes = WRITER_BYTES;
	s->done = xreallocarray(NULL, s->nmsgs + 1, sizeof *s->done);
	if ((s->w = store_writer_start(&p)) == NULL)
		return set_cause(cause, "cannot start the store's writer");
	return 0;
}

/* Tell the writer no more jobs come; wait until it has stored them. */
static void
writer_stop(struct session *s)
{
	char *cause = NULL;

	if (s->w == NULL)
		return;
	if (store_writer_stop(&s->w, 0, &cause) != 0) {
		pthread_mutex_lock(&s->done_lock);
		if (s->commit_err == NULL)
			s->commit_err = cause;
		else
			free(cause);
		pthread_mutex_unlock(&s->done_lock);
	}
}

/* Move the DELEs that commits allowed to the session's queue; -1 (and
 * the cause in s->err) if the writer failed. */
static int
writer_collect(struct session *s)
{
	char *cause = NULL;
	size_t i;
	int ret = 0;

	if (s->done == NULL)
		return 0;
	pthread_mutex_lock(&s->done_lock);
	for (i = 0; i < s->ndone; i++)
		s->deleq[s->ndele++] = s->done[i];
	s->ndone = 0;
	if (s->commit_err != NULL)
		ret = session_fail(s, "%s", s->commit_err);
	pthread_mutex_unlock(&s->done_lock);
	if (ret == 0 && s->w != NULL &&
	    store_writer_failed(s->w, &cause) != 0) {
		ret = session_fail(s, "%s", cause);
		free(cause);
	}
	return ret;
}

/* Hand the message just received to the writer (session thread). */
static int
writer_queue(struct session *s, uint32_t msgno)
{
	struct job *j = xcalloc(1, sizeof *j);
	char *cause = NULL;
	int ret = 0;

	/* Parsed here, where the thread waits on the network while the
	 * writer waits on the disk. */
	mime_envelope_parse(
	    s->body.data, header_len(s->body.data, s->body.len), &j->env);
	j->msgno = msgno;
	j->body = s->body;
	if (store_writer_queue(s->w, j, j->body.cap, &cause) != 0) {
		ret = session_fail(s, "%s", cause);
		free(cause);
	}
	/* A fresh buffer for the next message; the job owns this one. */
	buf_init(&s->body, (size_t)s->a->max_message_size);
	return ret;
}

/* A whole message arrived for msgno (session thread). */
static int
session_message(struct session *s, uint32_t msgno)
{
	s->retr_done++;
	if (s->body_over) {
		session_note(s,
		    "message %u is larger than max_message_size "
		    "(%llu bytes); left on the server",
		    msgno, (unsigned long long)s->a->max_message_size);
		s->ntoo_big++;
		return 0;
	}
	return writer_queue(s, msgno);
}

/* Server text for a message: bounded, control characters made visible. */
static char *
server_text(const char *data, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	text_visible(&b, data, len > 200 ? 200 : len, 0);
	return buf_steal(&b, NULL);
}

/* The parser's callback: one event of the reply to the oldest command. */
static int
session_event(void *arg, enum pop3_event ev, const char *data, size_t len)
{
	struct session *s = arg;
	struct cmd *c = &s->inflight[s->ihead];
	struct msg *m = NULL;
	const char *rest;
	size_t restlen;
	uint32_t msgno;
	uint64_t size;
	char *text = NULL;
	int done = ev == POP3_EV_END || ev == POP3_EV_ERR, ret = 0;

	if (s->icount == 0)
		return session_fail(s, "reply without a command");
	if (c->msgno != 0)
		m = &s->msgs[c->msgno];
	switch (c->kind) {
	case CMD_CAPA:
		if (ev == POP3_EV_LINE) {
			if (len == 10 &&
			    ascii_strncasecmp(data, "PIPELINING", 10) == 0)
				s->cap_pipelining = 1;
		}
		break;
	case CMD_UIDL:
		if (ev == POP3_EV_ERR)
			s->has_uidl = 0;
		else if (ev == POP3_EV_LINE) {
			if (parse_listing_line(
			        data, len, &msgno, &rest, &restlen) != 0)
				return session_fail(
				    s, "the server sent a malformed UIDL line");
			m = session_msg(s, msgno);
			free(m->id);
			m->id = NULL;
			if (pop3_uidl_valid(rest, restlen))
				m->id = xstrndup(rest, restlen);
			else
				session_note(s,
				    "message %u has an invalid "
				    "UIDL; it is known by its content",
				    msgno);
		}
		break;
	case CMD_LIST:
		if (ev == POP3_EV_ERR) {
			text = server_text(data, len);
			ret = session_fail(
			    s, "the server refused LIST: %s", text);
			goto out;
		}
		if (ev == POP3_EV_LINE) {
			if (parse_listing_line(
			        data, len, &msgno, &rest, &restlen) != 0 ||
			    parse_uint64(
			        rest, restlen, UINT64_MAX / 2, &size) != 0)
				return session_fail(
				    s, "the server sent a malformed LIST line");
			m = session_msg(s, msgno);
			m->listed = 1;
			m->size = size;
		}
		break;
	case CMD_RETR:
		if (ev == POP3_EV_OK) {
			buf_reset(&s->body);
			s->body_over = 0;
			if (m->size > 0 && m->size < s->a->max_message_size &&
			    m->size < PRESIZE_MAX &&
			    s->body.cap < m->size + 1) {
				/* Grow once rather than by doubling; only so
				 * far on the server's word. */
				(void)buf_add(&s->body, "", 0);
				s->body.data = xreallocarray(
				    s->body.data, (size_t)m->size + 1, 1);
				s->body.cap = (size_t)m->size + 1;
			}
		} else if (ev == POP3_EV_DATA) {
			if (s->body.len == 0)
				tern_fault("pop3-retr");
			s->bytes += len;
			if (!s->body_over &&
			    buf_add(&s->body, data, len) != 0) {
				s->body_over = 1;
				buf_reset(&s->body);
			}
			session_progress(s, 0);
		} else if (ev == POP3_EV_END) {
			if (session_message(s, c->msgno) != 0)
				return -1;
		} else if (ev == POP3_EV_ERR) {
			text = server_text(data, len);
			session_note(s,
			    "the server refused to send message "
			    "%u: %s",
			    c->msgno, text);
			s->retr_done++;
		}
		break;
	case CMD_DELE:
		if (ev == POP3_EV_OK) {
			m->dele_ok = 1;
			tern_fault("pop3-after-dele");
		} else {
			text = server_text(data, len);
			session_note(s,
			    "the server refused to delete message "
			    "%u: %s",
			    c->msgno, text);
		}
		break;
	case CMD_RSET:
		break;
	case CMD_QUIT:
		if (s->state == ST_FAILED)
			break;
		if (ev == POP3_EV_OK)
			s->quit_ok = 1;
		else {
			text = server_text(data, len);
			ret = session_fail(s,
			    "the server refused QUIT, so no message was "
			    "deleted there: %s",
			    text);
			goto out;
		}
		break;
	}
	if (c->kind == CMD_QUIT || c->kind == CMD_DELE || c->kind == CMD_RSET) {
		if (ev == POP3_EV_OK || ev == POP3_EV_ERR)
			done = 1;
	}
	if (done) {
		s->ihead = (s->ihead + 1) % POP3_PARSER_QUEUE;
		s->icount--;
	}
out:
	free(text);
	return ret;
}

/* Send what is queued, then read and handle one chunk of replies. */
static int
session_pump(struct session *s, char *rbuf, char **cause)
{
	ssize_t n;
	int r;

	if (s->out.len > 0) {
		if (net_send(s->conn, s->out.data, s->out.len, cause) != 0) {
			s->net_broken = 1;
			return -1;
		}
		buf_reset(&s->out);
	}
	if (s->icount == 0)
		return 0;
	if ((n = net_read(s->conn, rbuf, READ_CHUNK, cause)) < 0) {
		s->net_broken = 1;
		return -1;
	}
	r = pop3_parser_feed(
	    &s->parser, rbuf, (size_t)n, session_event, s, cause);
	if (r != 0) {
		/* Replies may be half read: nothing more can be said. */
		s->net_broken = 1;
		if (s->err != NULL) {
			free(*cause);
			*cause = s->err;
			s->err = NULL;
		}
		return -1;
	}
	return 0;
}

/* Pump until every command sent has its reply. */
static int
session_drain(struct session *s, char *rbuf, char **cause)
{
	while (s->icount > 0 || s->out.len > 0) {
		if (session_pump(s, rbuf, cause) != 0)
			return -1;
	}
	return 0;
}

static int
cmp_msgno_id(const void *a, const void *b, void *arg)
{
	const struct msg *m = arg;

	return strcmp(m[*(const uint32_t *)a].id, m[*(const uint32_t *)b].id);
}

/* 1 if the stored message of k has the size LIST gives for m, else 0. */
static int
session_same_size(struct session *s, const struct store_pop3_uidl *k,
    const struct msg *m, char **cause)
{
	struct store_msg sm;
	int r, same;

	if (k->message_id <= 0)
		return 0;
	if ((r = store_msg_get_id(s->store, k->message_id, &sm, cause)) < 0)
		return -1;
	same = r == 1 && sm.size >= 0 && (uint64_t)sm.size == m->size;
	store_msg_clear(&sm);
	return same;
}

/*
 * Decide what to do with each listed message, from the policy and what
 * the store knows.
 */
static int
session_plan(struct session *s, char **cause)
{
	struct rc_account *a = s->a;
	struct store_pop3_uidl *k;
	uint32_t i, *order, nord = 0;
	uint64_t maxsize = a->max_message_size;
	int64_t age;
	size_t j;
	int ret = -1, in_listing, r;

	if (a->keep && !s->has_uidl)
		return set_cause(cause,
		    "%s: the server does not support UIDL, which keep yes "
		    "needs to know what was downloaded; set keep no",
		    net_peer(s->conn));
	if (store_pop3_uidl_list(
	        s->store, s->account_id, &s->known, &s->nknown, cause) != 0)
		return -1;

	/* Mark the UIDLs that appear twice: such messages are downloaded
	 * (if new) but never deleted, since their identity is unsure. */
	order = xreallocarray(NULL, s->nmsgs + 1, sizeof *order);
	for (i = 1; i < s->nmsgs; i++) {
		if (s->msgs[i].listed && s->msgs[i].id != NULL)
			order[nord++] = i;
	}
	qsort_r(order, nord, sizeof *order, cmp_msgno_id, s->msgs);
	for (i = 1; i < nord; i++) {
		if (strcmp(s->msgs[order[i]].id, s->msgs[order[i - 1]].id) ==
		    0) {
			if (!s->msgs[order[i - 1]].dup)
				session_note(s,
				    "the server lists UIDL %s for "
				    "more than one message; they are "
				    "downloaded and left on the server",
				    s->msgs[order[i]].id);
			s->msgs[order[i]].dup = s->msgs[order[i - 1]].dup = 1;
		}
	}

	if (store_begin(s->store, cause) != 0)
		goto out;
	/* Forget deleted messages the server no longer lists. */
	for (j = 0; j < s->nknown && s->has_uidl; j++) {
		k = &s->known[j];
		if (k->state != STORE_POP3_GONE ||
		    strncmp(k->uidl, HASH_PREFIX, sizeof HASH_PREFIX - 1) == 0)
			continue;
		in_listing = 0;
		{
			size_t lo = 0, hi = nord;

			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				int c = strcmp(s->msgs[order[mid]].id, k->uidl);

				if (c == 0) {
					in_listing = 1;
					break;
				}
				if (c < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		if (!in_listing &&
		    store_pop3_uidl_delete(
		        s->store, s->account_id, k->uidl, cause) != 0) {
			store_rollback(s->store);
			goto out;
		}
	}
	if (store_commit(s->store, cause) != 0)
		goto out;

	for (i = 1; i < s->nmsgs; i++) {
		struct msg *m = &s->msgs[i];

		if (!m->listed)
			continue;
		k = m->id != NULL ? session_known(s, m->id) : NULL;
		if (k != NULL && k->state == STORE_POP3_GONE && !m->dup) {
			/* Deleted, QUIT confirmed it, and listed again: the
			 * server ignored the DELE (the same size as ours:
			 * delete again) or reused the UIDL for another
			 * message (download it; never delete unread mail). */
			if ((r = session_same_size(s, k, m, cause)) < 0)
				goto out;
			if (r == 0) {
				session_note(s,
				    "the server reuses UIDL %s for "
				    "a new message",
				    m->id);
				k = NULL;
			}
		}
		if (k == NULL) {
			if (m->id == NULL && a->keep) {
				session_note(s,
				    "message %u has no usable "
				    "UIDL; left on the server",
				    i);
				continue;
			}
			if (m->size > maxsize) {
				session_note(s,
				    "message %u (%llu bytes) is "
				    "larger than max_message_size; "
				    "left on the server",
				    i, (unsigned long long)m->size);
				s->ntoo_big++;
				continue;
			}
			m->action = ACT_RETR;
			m->dele_after = !a->keep && !m->dup;
			s->retrq[s->nretr++] = i;
			s->retr_total++;
			s->bytes_total += m->size;
			continue;
		}
		if (m->dup)
			continue;
		age = s->now - k->first_seen;
		if (k->state != STORE_POP3_KEPT || !a->keep ||
		    (a->keep_days > 0 &&
		        age >= (int64_t)a->keep_days * 86400) ||
		    (a->delete_remote && k->message_id == 0)) {
			m->action = ACT_DELE;
			s->deleq[s->ndele++] = i;
		}
	}
	ret = 0;
out:
	free(order);
	return ret;
}

/* After QUIT +OK: the DELEs took effect. */
static int
session_finish(struct session *s, char **cause)
{
	uint32_t i;

	if (store_begin(s->store, cause) != 0)
		return -1;
	for (i = 1; i < s->nmsgs; i++) {
		struct msg *m = &s->msgs[i];

		if (!m->dele_ok)
			continue;
		s->nremoved++;
		if (m->id != NULL &&
		    store_pop3_uidl_set_state(s->store, s->account_id, m->id,
		        STORE_POP3_GONE, cause) != 0) {
			store_rollback(s->store);
			return -1;
		}
	}
	return store_commit(s->store, cause);
}

static int
session_connect(struct session *s, char **cause)
{
	struct net_params p;
	const char *env;
	uint64_t ms;

	memset(&p, 0, sizeof p);
	p.scheme = "pop3";
	p.host = s->a->host;
	p.port = rc_account_port(s->a);
	p.tls = s->a->tls;
	p.verify = s->a->tls_verify;
	p.cafile = s->a->cafile;
	p.user = s->a->user;
	p.note = session_net_note;
	p.note_arg = s;
	/* A test hook: a short silence timeout for the stalled-server test. */
	if ((env = getenv("TERN_IO_TIMEOUT_MS")) != NULL &&
	    parse_uint64(env, strlen(env), 3600000, &ms) == 0 && ms > 0)
		p.io_timeout_ms = (long)ms;
	/* The password, or an OAuth token refreshed once when refused. */
	return oauth_net_connect(s->a, &p, &s->conn, cause);
}

static int
session_run(struct session *s, char *rbuf, char **cause)
{
	int r;

	session_state(s, ST_CONNECT);
	if ((r = session_connect(s, cause)) != 0) {
		/* Not a network trouble: a status line says so. */
		if (r == NET_ERR_AUTH && s->o != NULL && s->o->state != NULL)
			s->o->state(s->o->arg, SYNC_REFUSED, 0, *cause);
		return -1;
	}

	/* libcurl read the server's CAPA before login; ask again, since
	 * capabilities may change after authentication (RFC 2449). */
	session_state(s, ST_CAPA);
	session_cmd(s, CMD_CAPA, 0);
	if (session_drain(s, rbuf, cause) != 0)
		return -1;
	s->window = s->cap_pipelining ? WINDOW : 1;

	session_state(s, ST_LISTING);
	s->has_uidl = 1;
	session_cmd(s, CMD_UIDL, 0);
	if (!s->cap_pipelining && session_drain(s, rbuf, cause) != 0)
		return -1;
	session_cmd(s, CMD_LIST, 0);
	if (session_drain(s, rbuf, cause) != 0)
		return -1;
	s->retrq = xreallocarray(NULL, s->nmsgs + 1, sizeof *s->retrq);
	s->deleq = xreallocarray(NULL, s->nmsgs + 1, sizeof *s->deleq);
	s->batch = xreallocarray(NULL, BATCH_MSGS + 1, sizeof *s->batch);
	if (session_plan(s, cause) != 0)
		return -1;

	session_state(s, ST_TRANSFER);
	session_progress(s, 1);
	if (writer_start(s, cause) != 0)
		return -1;
	for (;;) {
		if (writer_collect(s) != 0)
			return set_cause(cause, "%s", s->err);
		while (s->icount < s->window) {
			if (s->dele_next < s->ndele)
				session_cmd(
				    s, CMD_DELE, s->deleq[s->dele_next++]);
			else if (s->retr_next < s->nretr)
				session_cmd(
				    s, CMD_RETR, s->retrq[s->retr_next++]);
			else
				break;
		}
		if (s->icount == 0) {
			/* Everything answered: the writer commits the last
			 * batch, whose DELEs may then follow. */
			if (s->w != NULL) {
				writer_stop(s);
				continue;
			}
			break;
		}
		if (session_pump(s, rbuf, cause) != 0)
			return -1;
	}
	session_progress(s, 1);

	/* The last pages into the database, and the WAL emptied, while the
	 * server deletes. */
	store_ckpt_finish(s->ckpt);
	session_state(s, ST_QUIT);
	session_cmd(s, CMD_QUIT, 0);
	if (session_drain(s, rbuf, cause) != 0)
		return -1;
	if (session_finish(s, cause) != 0)
		return -1;
	session_state(s, ST_DONE);
	return 0;
}

/*
 * Leave after a failure that was not the server's: RSET undoes any DELE
 * sent in this session and QUIT ends it politely, so that even a server
 * that would apply deletions on a dropped connection deletes nothing.
 * Only when the stream is in step (no reply outstanding).
 */
static void
session_abort(struct session *s, char *rbuf)
{
	char *cause = NULL;

	if (s->conn == NULL || s->net_broken || s->icount > 0)
		return;
	/* Without PIPELINING the server may read only one command at a
	 * time: wait for RSET's reply before QUIT. */
	session_cmd(s, CMD_RSET, 0);
	if (s->cap_pipelining || session_drain(s, rbuf, &cause) == 0) {
		session_cmd(s, CMD_QUIT, 0);
		(void)session_drain(s, rbuf, &cause);
	}
	free(cause);
}

static void
session_free(struct session *s)
{
	uint32_t i;

	writer_stop(s);
	free(s->done);
	free(s->commit_err);
	pthread_mutex_destroy(&s->done_lock);
	if (s->in_txn)
		store_rollback(s->store);
	net_close(&s->conn);
	pop3_parser_free(&s->parser);
	buf_free(&s->out);
	buf_free(&s->body);
	for (i = 0; i < s->nmsgs; i++)
		free(s->msgs[i].id);
	free(s->msgs);
	if (s->known != NULL)
		store_pop3_uidl_list_free(s->known, s->nknown);
	free(s->session_ids); /* the strings belong to msgs */
	free(s->retrq);
	free(s->deleq);
	free(s->batch);
	free(s->err);
}

static int
pop3_sync(struct tern *t, struct rc_account *a, const struct sync_opts *o,
    char **summary, char **cause)
{
	struct session s;
	char *rbuf = xmalloc(READ_CHUNK);
	int ret = -1;

	memset(&s, 0, sizeof s);
	pthread_mutex_init(&s.done_lock, NULL);
	s.t = t;
	s.a = a;
	s.o = o;
	s.now = (int64_t)time(NULL);
	pop3_parser_init(&s.parser, LINE_MAX_POP3);
	buf_init(&s.out, 0);
	buf_init(&s.body, (size_t)a->max_message_size);

	if ((s.store = tern_store(t, cause)) == NULL)
		goto out;
	s.account_id = store_account(s.store, a->name, "pop3", cause);
	if (s.account_id < 0)
		goto out;
	s.inbox_id = store_folder(s.store, s.account_id, "INBOX", 1, cause);
	if (s.inbox_id < 0)
		goto out;
	s.ckpt = store_ckpt_start(s.store);

	if (session_run(&s, rbuf, cause) != 0) {
		/* The writer keeps the messages that arrived whole: none
		 * of them has had a DELE, so this is safe and saves a
		 * download. */
		writer_stop(&s);
		session_state(&s, ST_FAILED);
		session_abort(&s, rbuf);
		goto out;
	}
	if (summary != NULL) {
		if (s.ntoo_big > 0)
			*summary =
			    xasprintf("%llu new, %llu removed from "
			              "server, %llu too large left there",
			        (unsigned long long)s.nnew,
			        (unsigned long long)s.nremoved,
			        (unsigned long long)s.ntoo_big);
		else
			*summary =
			    xasprintf("%llu new, %llu removed from server",
			        (unsigned long long)s.nnew,
			        (unsigned long long)s.nremoved);
	}
	ret = 0;
out:
	session_free(&s);
	store_ckpt_stop(&s.ckpt);
	free(rbuf);
	return ret;
}

const struct driver_ops pop3_driver = {
	.name = "pop3",
	.sync = pop3_sync,
	.fetch = NULL,
};
