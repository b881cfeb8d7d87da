/*
 * The IMAP driver: sync (queued changes, folder list, header index, flags,
 * vanished messages, quota, and IDLE with --watch) and fetch (a body on
 * demand).
 *
 * Everything is keyed by (UIDVALIDITY, UID). Each folder is reconciled
 * against a UID SEARCH of the server: UIDs the store lacks are indexed
 * newest first, in pipelined batches committed as they arrive, so an
 * interrupted sync resumes from what is stored; UIDs the server lacks are
 * removed from the store. Flags come from QRESYNC's SELECT, a CONDSTORE
 * CHANGEDSINCE fetch, or a plain FLAGS fetch, whichever the server offers.
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-private.h"
#include "tern/imap.h"
#include "tern/core.h"
#include "tern/mime.h"
#include "tern/store.h"
#include "tern/util.h"

#define HEADER_FIELDS \
	"DATE FROM TO CC SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES CONTENT-TYPE"
/* UIDs per UID FETCH of the index, and rows per store transaction: a
 * batch is committed as it arrives. */
#define INDEX_BATCH 1000
#define COMMIT_ROWS INDEX_BATCH
/* How often to re-issue IDLE, and to poll without IDLE (seconds). */
#define IDLE_RENEW 1500
#define NOOP_INTERVAL 30

#define IW_QUEUE 32 /* batches waiting for the index writer */
#define IW_MIN 256 /* rows worth a writer thread */

/* Rows of the header index, stored with one statement. */
struct ibatch {
	struct irow {
		struct store_msg m;
		struct mime_envelope env;
	} rows[STORE_UPSERT_ROWS];
	size_t n;
	int commit; /* end the transaction after these */
};

enum fetch_mode { FM_NONE, FM_INDEX, FM_FLAGS, FM_BODY, FM_PROBE, FM_VIEW };

struct folder_entry {
	char *name; /* tern's: UTF-8, nested with '/' */
	char *wire; /* the server's, as LIST gave it */
	char *special;
	int noselect;
	/* From LIST-STATUS, when the server offers it. */
	int have_status;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
};

struct isync {
	struct tern *t;
	struct rc_account *a;
	const struct sync_opts *o;
	struct store *s;
	int64_t account_id;
	struct imap_conn *c;

	/* The selected folder. */
	char *selected;
	int64_t folder_id;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	uint32_t exists;
	int changed; /* EXISTS, EXPUNGE or a flag change arrived */
	/* Its PERMANENTFLAGS: known, \* (any new keyword), the keywords. */
	int perm_known, perm_any;
	struct buf permkw;

	enum fetch_mode mode;
	struct imap_uidset search;
	struct imap_uidset vanished; /* since the last SELECT */
	int rows; /* rows written in the open transaction */
	int in_txn;
	uint64_t done, total, bytes;
	struct buf body;
	uint32_t want_uid;
	int got_body;
	int probe_found;
	struct imap_view *view; /* FM_VIEW: what a view collects */
	char *copyuid;

	struct folder_entry *folders;
	size_t nfolders;
	int listed; /* folders holds a LIST of this connection */
	int asked_delim;
	int keep; /* done well: keep the connection for the next call */
	int reused; /* the connection was kept from an earlier call */
	int64_t q_used, q_limit;

	uint64_t nnew, nflags, nvanished;
	struct buf notes;

	/*
	 * The header index: rows parsed on this thread, stored by a writer
	 * thread (with a big fetch) while the next ones are read and parsed.
	 */
	struct ibatch *cur; /* being filled */
	struct ibatch *held[COMMIT_ROWS / STORE_UPSERT_ROWS + 1];
	size_t nheld; /* batches not handed over yet (batch_submit) */
	int queued; /* rows handed over since the last commit */
	struct iwriter {
		pthread_t thread;
		int running;
		pthread_mutex_t lock; /* guards what follows */
		pthread_cond_t cond; /* any change */
		struct ibatch *q[IW_QUEUE];
		size_t qhead, qcount;
		int started; /* the thread is there to join */
		int busy; /* storing a batch: the store is the writer's */
		int stop, discard;
		char *err; /* the first failure; the writer has stopped */
		struct store_ckpt *ckpt; /* checkpoints off the writer */
	} iw;
};

/* Read n digits at *sp; -1 if they are not there. */
static int
digits(const char **sp, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (**sp < '0' || **sp > '9')
			return -1;
		v = v * 10 + (*(*sp)++ - '0');
	}
	return v;
}

/* "17-Jul-1996 02:44:25 -0700" to seconds since the epoch; 0 if bad. */
static int64_t
parse_internaldate(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	const char *m;
	int day, year, hh, mm, ss, zh, zm, sign;
	time_t t;

	memset(&tm, 0, sizeof tm);
	while (*s == ' ')
		s++;
	day = digits(&s, 1);
	if (*s >= '0' && *s <= '9')
		day = day * 10 + digits(&s, 1);
	if (day < 1 || *s++ != '-' || strlen(s) < 3)
		return 0;
	for (m = months; *m != '\0'; m += 3) {
		if (ascii_strncasecmp(m, s, 3) == 0)
			break;
	}
	if (*m == '\0')
		return 0;
	s += 3;
	if (*s++ != '-' || (year = digits(&s, 4)) < 0 || *s++ != ' ' ||
	    (hh = digits(&s, 2)) < 0 || *s++ != ':' ||
	    (mm = digits(&s, 2)) < 0 || *s++ != ':' ||
	    (ss = digits(&s, 2)) < 0 || *s++ != ' ')
		return 0;
	if (*s != '+' && *s != '-')
		return 0;
	sign = *s++ == '-' ? -1 : 1;
	if ((zh = digits(&s, 2)) < 0 || (zm = digits(&s, 2)) < 0)
		return 0;
	tm.tm_mday = day;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	if ((t = timegm(&tm)) == (time_t)-1)
		return 0;
	/* +HHMM is east of UTC: subtract it to get UTC. */
	return (int64_t)t - sign * (zh * 3600 + zm * 60);
}

static void
note(struct isync *is, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (is->o != NULL && is->o->note != NULL) {
		char *v = text_visible_dup(s);

		is->o->note(is->o->arg, is->a->name, v);
		free(v);
	}
	if (is->notes.len)
		(void)buf_adds(&is->notes, "; ");
	(void)buf_adds(&is->notes, s);
	free(s);
}

static void
progress(struct isync *is, const char *what)
{
	struct sync_progress p;

	if (is->o == NULL || is->o->progress == NULL)
		return;
	memset(&p, 0, sizeof p);
	p.account = is->a->name;
	p.folder = is->selected;
	p.what = what;
	p.done = is->done;
	p.total = is->total;
	p.bytes = is->bytes;
	is->o->progress(is->o->arg, &p);
}

static int
txn_begin(struct isync *is, char **cause)
{
	if (is->in_txn)
		return 0;
	if (store_begin(is->s, cause) != 0)
		return -1;
	is->in_txn = 1;
	is->rows = 0;
	return 0;
}

static void
batch_free(struct ibatch **bp)
{
	struct ibatch *b = *bp;
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->rows[i].m.keywords);
		mime_envelope_clear(&b->rows[i].env);
	}
	free(b);
	*bp = NULL;
}

static int
txn_end(struct isync *is, char **cause)
{
	if (!is->in_txn)
		return 0;
	is->in_txn = 0;
	return store_commit(is->s, cause);
}

/* Store a batch: on whichever thread owns the store now. */
static int
batch_store(struct isync *is, struct ibatch *b, char **cause)
{
	struct store_msg *v[STORE_UPSERT_ROWS];
	size_t i;

	for (i = 0; i < b->n; i++)
		v[i] = &b->rows[i].m;
	if (b->n > 0 &&
	    (txn_begin(is, cause) != 0 ||
	        store_imap_upsert_rows(is->s, v, b->n, cause) != 0))
		return -1;
	is->rows += (int)b->n;
	if (b->commit) {
		if (txn_end(is, cause) != 0)
			return -1;
		tern_fault("imap-after-batch");
	}
	return 0;
}

static void *
iw_main(void *arg)
{
	struct isync *is = arg;
	struct iwriter *w = &is->iw;
	struct ibatch *b;
	char *cause = NULL;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->qcount == 0 && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->qcount == 0)
			break;
		b = w->q[w->qhead];
		w->qhead = (w->qhead + 1) % IW_QUEUE;
		w->qcount--;
		if (w->discard) {
			batch_free(&b);
			continue;
		}
		w->busy = 1;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		if (batch_store(is, b, &cause) != 0 && cause == NULL)
			cause = xstrdup("storing the index failed");
		batch_free(&b);
		pthread_mutex_lock(&w->lock);
		w->busy = 0;
		if (cause != NULL) {
			w->err = cause;
			break;
		}
		pthread_cond_broadcast(&w->cond);
	}
	/* Whatever is left is dropped: the sync fails and resumes later
	 * from what was committed. */
	while (w->qcount > 0) {
		batch_free(&w->q[w->qhead]);
		w->qhead = (w->qhead + 1) % IW_QUEUE;
		w->qcount--;
	}
	w->running = 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * A writer for a big index fetch; without one, rows are stored inline.
 * While it runs, checkpoints have a thread of their own (one inside the
 * writer's commit would hold up the reading of the server behind a full
 * queue), and as every row is the server's to give again, its commits
 * need not each wait for the disk: iw_stop makes the store durable again.
 */
static void
iw_start(struct isync *is)
{
	struct iwriter *w = &is->iw;

	memset(w, 0, sizeof *w);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->ckpt = store_ckpt_start(is->s);
	/* Failing that, commits stay durable: slower, the same. */
	(void)store_cache_writes(is->s, 1, NULL);
	w->running = 1;
	if (pthread_create(&w->thread, NULL, iw_main, is) != 0) {
		store_ckpt_stop(&w->ckpt);
		(void)store_cache_writes(is->s, 0, NULL);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		memset(w, 0, sizeof *w);
		return;
	}
	w->started = 1;
}

/* The writer's failure as the caller's cause (lock held); -1. */
static int
iw_failed(struct iwriter *w, char **cause)
{
	return set_cause(
	    cause, "%s", w->err != NULL ? w->err : "index writer stopped");
}

/* Hand a batch to the writer; waits while the queue is full. */
static int
iw_queue(struct isync *is, struct ibatch *b, char **cause)
{
	struct iwriter *w = &is->iw;
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	while (w->qcount == IW_QUEUE && w->running)
		pthread_cond_wait(&w->cond, &w->lock);
	if (!w->running) {
		ret = iw_failed(w, cause);
		batch_free(&b);
	} else {
		w->q[(w->qhead + w->qcount++) % IW_QUEUE] = b;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/*
 * Wait until the writer has stored everything handed to it: the store is
 * this thread's again until the next batch.
 */
static int
iw_drain(struct isync *is, char **cause)
{
	struct iwriter *w = &is->iw;
	int ret = 0;

	if (!w->started)
		return 0;
	pthread_mutex_lock(&w->lock);
	while ((w->qcount > 0 || w->busy) && w->running)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->err != NULL)
		ret = iw_failed(w, cause);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/*
 * Stop the writer: after what it was handed is stored, or (discard) at
 * once, dropping the rest. Returns its failure, if any.
 */
static int
iw_stop(struct isync *is, int discard, char **cause)
{
	struct iwriter *w = &is->iw;
	int ret = 0;

	if (!w->started)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	w->discard = discard;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	store_ckpt_stop(&w->ckpt);
	if (w->err != NULL && !discard)
		ret = iw_failed(w, cause);
	else if (store_cache_writes(is->s, 0, cause) != 0)
		ret = -1;
	free(w->err);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	memset(w, 0, sizeof *w);
	return ret;
}

/* To the writer, or stored here when there is none. */
static int
batch_hand(struct isync *is, struct ibatch *b, char **cause)
{
	int ret;

	if (is->iw.started)
		return iw_queue(is, b, cause);
	ret = batch_store(is, b, cause);
	batch_free(&b);
	return ret;
}

static void
batch_reverse(struct ibatch *b)
{
	size_t i;

	for (i = 0; i < b->n / 2; i++) {
		struct irow t = b->rows[i];

		b->rows[i] = b->rows[b->n - 1 - i];
		b->rows[b->n - 1 - i] = t;
	}
}

/*
 * Hand over the batch being filled. commit: the transaction ends after
 * it. Until then batches are held, and handed over newest first: a
 * folder is fetched in UID ranges from the top down, but each range
 * arrives in ascending order, and the store's UID and date indexes take
 * descending rows as appends (see the schema).
 */
static int
batch_submit(struct isync *is, int commit, char **cause)
{
	struct ibatch *b = is->cur;
	int ret = 0, committed = 0;

	is->cur = NULL;
	if (b != NULL) {
		is->nnew += b->n;
		is->done += b->n;
		is->held[is->nheld++] = b;
		if (!commit && is->nheld < TERN_NELEM(is->held))
			return 0;
	}
	while (is->nheld > 0) {
		b = is->held[--is->nheld];
		batch_reverse(b);
		b->commit = commit && is->nheld == 0;
		committed |= b->commit;
		if (ret == 0)
			ret = batch_hand(is, b, cause);
		else
			batch_free(&b);
	}
	if (commit) {
		is->queued = 0;
		if (ret == 0 && !committed) {
			b = xcalloc(1, sizeof *b);
			b->commit = 1;
			ret = batch_hand(is, b, cause);
		}
	}
	return ret;
}

/* Everything parsed is stored and the store is this thread's. */
static int
index_settle(struct isync *is, char **cause)
{
	if (batch_submit(is, 0, cause) != 0)
		return -1;
	return iw_drain(is, cause);
}

static int
txn_commit(struct isync *is, char **cause)
{
	if (index_settle(is, cause) != 0)
		return -1;
	return txn_end(is, cause);
}

static void
txn_rollback(struct isync *is)
{
	(void)iw_stop(is, 1, NULL);
	batch_free(&is->cur);
	while (is->nheld > 0)
		batch_free(&is->held[--is->nheld]);
	is->queued = 0;
	if (is->in_txn)
		store_rollback(is->s);
	is->in_txn = 0;
}

/*
 * A row of the header index from one FETCH response; keywords is taken.
 * Rows go to the store STORE_UPSERT_ROWS at a time, and are committed
 * every COMMIT_ROWS.
 */
static int
index_row(struct isync *is, uint32_t uid, unsigned flags, char *keywords,
    uint64_t modseq, int64_t internaldate, int64_t size, const char *hdr,
    size_t hdrlen, char **cause)
{
	struct irow *row;
	struct store_msg *m;

	if (is->cur == NULL)
		is->cur = xcalloc(1, sizeof *is->cur);
	row = &is->cur->rows[is->cur->n++];
	m = &row->m;
	mime_envelope_parse(hdr, hdrlen, &row->env);
	m->folder_id = is->folder_id;
	m->uid = uid;
	m->uidvalidity = is->uidvalidity;
	m->modseq = modseq;
	m->flags = flags;
	m->keywords = keywords;
	core_msg_from_envelope(m, &row->env);
	m->internaldate = internaldate;
	m->size = size;
	is->bytes += hdrlen;
	if (++is->queued >= COMMIT_ROWS) {
		if (batch_submit(is, 1, cause) != 0)
			return -1;
		progress(is, "index");
	} else if (is->cur->n == STORE_UPSERT_ROWS)
		return batch_submit(is, 0, cause);
	return 0;
}

static int
on_fetch(struct isync *is, const struct imap_resp *r, char **cause)
{
	size_t i, list = 2, hdr = 0, body = 0, flist = 0;
	uint64_t v, uid = 0, modseq = 0, size = 0;
	int64_t internaldate = 0;
	unsigned flags = 0;
	char *keywords = NULL;
	int rc = 0;

	if (r->nitems <= 3 || r->items[3].type != IMAP_LIST) {
		is->changed = 1;
		return 0;
	}
	list = 3;
	for (i = list + 1; i < imap_next(r, list); i = imap_next(r, i)) {
		size_t val = imap_next(r, i);

		if (val >= imap_next(r, list))
			break;
		if (imap_is(r, i, "UID") &&
		    imap_num(r, val, UINT32_MAX, &v) == 0)
			uid = v;
		else if (imap_is(r, i, "FLAGS"))
			flist = val;
		else if (imap_is(r, i, "MODSEQ") &&
		    r->items[val].type == IMAP_LIST &&
		    imap_num(r, val + 1, INT64_MAX, &v) == 0)
			modseq = v;
		else if (imap_is(r, i, "RFC822.SIZE") &&
		    imap_num(r, val, INT64_MAX, &v) == 0)
			size = v;
		else if (imap_is(r, i, "INTERNALDATE") &&
		    r->items[val].type == IMAP_STRING)
			internaldate = parse_internaldate(imap_str(r, val));
		else if (r->items[i].type == IMAP_ATOM &&
		    ascii_strncasecmp(imap_str(r, i), "BODY[HEADER", 11) == 0)
			hdr = val;
		else if (imap_is(r, i, "BODY[]"))
			body = val;
		i = val; /* the loop steps over the value */
	}
	if (uid == 0) {
		/* Without a UID it is an unsolicited change (IDLE). */
		is->changed = 1;
		return 0;
	}
	if (flist != 0)
		imap_flags_parse(r, flist, &flags, &keywords);
	switch (is->mode) {
	case FM_INDEX:
		if (hdr != 0 && r->items[hdr].type != IMAP_LIST) {
			size_t len = 0;
			const char *h = imap_astr(r, hdr, &len);

			rc = index_row(is, (uint32_t)uid, flags, keywords,
			    modseq, internaldate, (int64_t)size, h ? h : "",
			    len, cause);
			keywords = NULL;
			break;
		}
		/* FALLTHROUGH */
	case FM_NONE:
	case FM_FLAGS:
		if (flist == 0)
			break;
		/* After the rows before it: it may be about one of them. */
		if (index_settle(is, cause) != 0 || txn_begin(is, cause) != 0) {
			rc = -1;
			break;
		}
		rc = store_imap_set_flags(is->s, is->folder_id, (uint32_t)uid,
		    flags, keywords, modseq, cause);
		if (rc == 0 && is->mode != FM_INDEX)
			is->nflags++;
		if (rc == 0 && ++is->rows >= COMMIT_ROWS)
			rc = txn_commit(is, cause);
		break;
	case FM_BODY:
		if (uid == is->want_uid && body != 0) {
			size_t len = 0;
			const char *b = imap_astr(r, body, &len);

			buf_reset(&is->body);
			if (b != NULL)
				(void)buf_add(&is->body, b, len);
			is->got_body = 1;
		}
		break;
	case FM_PROBE:
		if (uid == is->want_uid)
			is->probe_found = 1;
		break;
	case FM_VIEW:
		if (uid == is->want_uid && is->view != NULL)
			rc = imap_view_on_fetch(is->view, r, list, cause);
		break;
	}
	free(keywords);
	return rc;
}

static void
on_list(struct isync *is, const struct imap_resp *r)
{
	struct folder_entry *f;
	size_t i, attrs = 2, name;
	const char *n;

	if (attrs >= r->nitems || r->items[attrs].type != IMAP_LIST)
		return;
	name = imap_next(r, imap_next(r, attrs));
	if (name >= r->nitems)
		return;
	if (is->c->delim == 0 &&
	    r->items[imap_next(r, attrs)].type == IMAP_STRING)
		is->c->delim = imap_str(r, imap_next(r, attrs))[0];
	n = imap_astr(r, name, NULL);
	if (n == NULL || *n == '\0' || strpbrk(n, "\r\n") != NULL)
		return;
	is->folders =
	    xreallocarray(is->folders, is->nfolders + 1, sizeof *is->folders);
	f = &is->folders[is->nfolders++];
	memset(f, 0, sizeof *f);
	f->wire =
	    ascii_strcasecmp(n, "INBOX") == 0 ? xstrdup("INBOX") : xstrdup(n);
	f->name = imap_name_from_wire(n, is->c->delim);
	for (i = attrs + 1; i < imap_next(r, attrs); i++) {
		static const char *const special[] = { "\\Sent", "\\Trash",
			"\\Drafts", "\\Junk", "\\Archive", "\\All",
			"\\Flagged" };
		size_t k;

		if (imap_is(r, i, "\\Noselect") ||
		    imap_is(r, i, "\\NonExistent"))
			f->noselect = 1;
		for (k = 0; k < TERN_NELEM(special); k++) {
			if (imap_is(r, i, special[k]) && f->special == NULL)
				f->special = xstrdup(special[k]);
		}
	}
}

/* "* STATUS name (UIDVALIDITY n UIDNEXT n HIGHESTMODSEQ n ...)". */
static void
on_status(struct isync *is, const struct imap_resp *r)
{
	struct folder_entry *f = NULL;
	size_t i, l = imap_next(r, 2);
	const char *n = imap_astr(r, 2, NULL);
	uint64_t v;

	if (n == NULL || l >= r->nitems || r->items[l].type != IMAP_LIST)
		return;
	if (ascii_strcasecmp(n, "INBOX") == 0)
		n = "INBOX";
	for (i = 0; i < is->nfolders && f == NULL; i++) {
		if (strcmp(is->folders[i].wire, n) == 0)
			f = &is->folders[i];
	}
	if (f == NULL)
		return;
	for (i = l + 1; i + 1 < imap_next(r, l); i += 2) {
		if (imap_num(r, i + 1, UINT64_MAX, &v) != 0)
			continue;
		if (imap_is(r, i, "UIDVALIDITY") && v <= UINT32_MAX)
			f->uidvalidity = (uint32_t)v;
		else if (imap_is(r, i, "UIDNEXT") && v <= UINT32_MAX)
			f->uidnext = (uint32_t)v;
		else if (imap_is(r, i, "HIGHESTMODSEQ"))
			f->highestmodseq = v;
	}
	f->have_status = 1;
}

/* The PERMANENTFLAGS list at r's item list: keywords a STORE can keep. */
static void
on_permflags(struct isync *is, const struct imap_resp *r, size_t list)
{
	size_t i;

	is->perm_known = 1;
	is->perm_any = 0;
	buf_reset(&is->permkw);
	for (i = list + 1; i < imap_next(r, list); i = imap_next(r, i)) {
		const char *f;

		if (r->items[i].type != IMAP_ATOM)
			continue;
		f = imap_str(r, i);
		if (strcmp(f, "\\*") == 0)
			is->perm_any = 1;
		else if (f[0] != '\\')
			(void)buf_printf(&is->permkw, " %s ", f);
	}
}

/* May the selected folder keep keyword kw? */
static int
perm_keyword(struct isync *is, const char *kw)
{
	const char *p;
	size_t len = strlen(kw);

	if (!is->perm_known || is->perm_any)
		return 1;
	/* " kw " in the list, ASCII case-insensitively. */
	for (p = is->permkw.data; p != NULL && *p != '\0'; p++) {
		if (p[0] == ' ' && ascii_strncasecmp(p + 1, kw, len) == 0 &&
		    p[len + 1] == ' ')
			return 1;
	}
	return 0;
}

static int
on_untagged(void *arg, const struct imap_resp *r, char **cause)
{
	struct isync *is = arg;
	uint64_t v;
	size_t i;

	if (r->nitems > 2 && imap_num(r, 1, UINT32_MAX, &v) == 0) {
		if (imap_is(r, 2, "EXISTS")) {
			if (v != is->exists)
				is->changed = 1;
			is->exists = (uint32_t)v;
		} else if (imap_is(r, 2, "EXPUNGE")) {
			is->changed = 1;
			if (is->exists > 0)
				is->exists--;
		} else if (imap_is(r, 2, "FETCH")) {
			/* A message the server never announced: whatever it
			 * says about it cannot be trusted into the index. */
			if (is->selected != NULL && (v == 0 || v > is->exists))
				return set_cause(cause,
				    "%s: protocol error: FETCH for message "
				    "%llu of %u",
				    is->c->peer, (unsigned long long)v,
				    is->exists);
			return on_fetch(is, r, cause);
		}
		return 0;
	}
	if (imap_is(r, 1, "VANISHED")) {
		i = r->items[2].type == IMAP_LIST ? imap_next(r, 2) : 2;
		if (i < r->nitems && r->items[i].type == IMAP_ATOM &&
		    imap_uidset_parse(&is->vanished, imap_str(r, i), 0) != 0)
			return set_cause(
			    cause, "protocol error: bad VANISHED set");
		is->changed = 1;
		return 0;
	}
	if ((imap_is(r, 1, "OK") || imap_is(r, 1, "NO")) && r->nitems > 2 &&
	    r->items[2].type == IMAP_CODE) {
		if (imap_is(r, 3, "UIDVALIDITY") &&
		    imap_num(r, 4, UINT32_MAX, &v) == 0)
			is->uidvalidity = (uint32_t)v;
		else if (imap_is(r, 3, "UIDNEXT") &&
		    imap_num(r, 4, UINT32_MAX, &v) == 0)
			is->uidnext = (uint32_t)v;
		else if (imap_is(r, 3, "HIGHESTMODSEQ") &&
		    imap_num(r, 4, INT64_MAX, &v) == 0)
			is->highestmodseq = v;
		else if (imap_is(r, 3, "PERMANENTFLAGS") && r->nitems > 4 &&
		    r->items[4].type == IMAP_LIST)
			on_permflags(is, r, 4);
		else if (imap_is(r, 3, "COPYUID")) {
			free(is->copyuid);
			is->copyuid = xasprintf("%s %s %s",
			    imap_astr(r, 4, NULL) ? imap_str(r, 4) : "",
			    imap_astr(r, 5, NULL) ? imap_str(r, 5) : "",
			    imap_astr(r, 6, NULL) ? imap_str(r, 6) : "");
		}
		return 0;
	}
	if (imap_is(r, 1, "SEARCH")) {
		for (i = 2; i < r->nitems; i++) {
			if (imap_num(r, i, UINT32_MAX, &v) == 0 && v > 0)
				imap_uidset_add(&is->search, (uint32_t)v);
		}
		return 0;
	}
	if (imap_is(r, 1, "ESEARCH")) {
		for (i = 2; i < r->nitems; i = imap_next(r, i)) {
			if (imap_is(r, i, "ALL") && i + 1 < r->nitems &&
			    imap_uidset_parse(&is->search, imap_str(r, i + 1),
			        UINT32_MAX) != 0)
				return set_cause(
				    cause, "protocol error: bad ESEARCH set");
		}
		return 0;
	}
	if (imap_is(r, 1, "LIST")) {
		on_list(is, r);
		return 0;
	}
	if (imap_is(r, 1, "STATUS")) {
		on_status(is, r);
		return 0;
	}
	if (imap_is(r, 1, "QUOTA")) {
		size_t l = imap_next(r, 2);

		if (l >= r->nitems || r->items[l].type != IMAP_LIST)
			return 0;
		for (i = l + 1; i + 2 < imap_next(r, l); i++) {
			uint64_t used, limit;

			if (imap_is(r, i, "STORAGE") &&
			    imap_num(r, i + 1, INT64_MAX / 1024, &used) == 0 &&
			    imap_num(r, i + 2, INT64_MAX / 1024, &limit) == 0) {
				is->q_used = (int64_t)used * 1024;
				is->q_limit = (int64_t)limit * 1024;
			}
		}
		return 0;
	}
	return 0;
}

/*
 * The quoted wire name of tern's folder name: the server's own spelling
 * when LIST gave it (this connection's, else the one stored), else the
 * name encoded with the server's delimiter.
 */
static char *
wire_quote(struct isync *is, const char *name)
{
	size_t k;

	for (k = 0; k < is->nfolders; k++) {
		if (strcmp(is->folders[k].name, name) == 0)
			return imap_quote(is->folders[k].wire);
	}
	return imap_wire_stored(is->s, is->account_id, is->c->delim, name);
}

/* Learn the hierarchy delimiter when no LIST told it yet. */
static int
learn_delim(struct isync *is, char **cause)
{
	if (is->c->delim != 0 || is->asked_delim)
		return 0;
	is->asked_delim = 1;
	return imap_simple(is->c, cause, "LIST \"\" \"\"");
}

/* SELECT a folder (QRESYNC parameters when we know its state). */
static int
select_folder(struct isync *is, const char *name, int64_t folder_id,
    uint32_t known_uidvalidity, uint64_t known_modseq, int *ok, char **cause)
{
	struct imap_cmd *cmd;
	char *q = wire_quote(is, name);
	int ret = -1;

	*ok = 0;
	free(is->selected);
	is->selected = NULL;
	is->folder_id = folder_id;
	is->uidvalidity = is->uidnext = 0;
	is->highestmodseq = 0;
	is->exists = 0;
	is->perm_known = is->perm_any = 0;
	buf_reset(&is->permkw);
	imap_uidset_free(&is->vanished);
	is->mode = FM_NONE;
	if (is->c->enabled_qresync && known_uidvalidity && known_modseq) {
		/* Flag changes arrive as FETCH during SELECT. */
		is->mode = FM_FLAGS;
		cmd = imap_send(is->c, cause, "SELECT %s (QRESYNC (%u %llu))",
		    q, known_uidvalidity, (unsigned long long)known_modseq);
	} else
		cmd = imap_send(is->c, cause, "SELECT %s", q);
	if (cmd == NULL || imap_wait(is->c, cmd, cause) != 0)
		goto out;
	is->mode = FM_NONE;
	if (cmd->status != IMAP_OK) {
		note(is, "%s: cannot select: %s", name, cmd->text);
		ret = 0;
		goto out;
	}
	if (is->uidvalidity == 0) {
		set_cause(
		    cause, "%s: no UIDVALIDITY for %s", is->c->peer, name);
		goto out;
	}
	is->selected = xstrdup(name);
	*ok = 1;
	ret = 0;
out:
	imap_cmd_free(&cmd);
	free(q);
	return ret;
}

/* The UIDs of the selected folder, into is->search. */
static int
search_all(struct isync *is, char **cause)
{
	imap_uidset_free(&is->search);
	if (imap_simple(is->c, cause,
	        (is->c->caps & IMAP_CAP_ESEARCH) ? "UID SEARCH RETURN (ALL) ALL"
	                                         : "UID SEARCH ALL") != 0)
		return -1;
	imap_uidset_sort(&is->search);
	return 0;
}

/* Fetch the header index of uids (ascending), newest first. */
static int
fetch_index(struct isync *is, const uint32_t *uids, size_t n, char **cause)
{
	struct imap_cmd **cmds;
	size_t ncmds = 0, hi = n, i;
	struct buf set;
	int ret = -1;

	if (n == 0)
		return 0;
	cmds = xcalloc((n + INDEX_BATCH - 1) / INDEX_BATCH, sizeof *cmds);
	buf_init(&set, 0);
	if (n >= IW_MIN)
		iw_start(is);
	is->mode = FM_INDEX;
	is->done = 0;
	is->total = n;
	while (hi > 0) {
		size_t lo = hi > INDEX_BATCH ? hi - INDEX_BATCH : 0;

		buf_reset(&set);
		imap_uidset_format(&set, uids + lo, hi - lo);
		cmds[ncmds] = imap_send(is->c, cause,
		    "UID FETCH %s (UID FLAGS INTERNALDATE RFC822.SIZE%s "
		    "BODY.PEEK[HEADER.FIELDS (" HEADER_FIELDS ")])",
		    set.data, is->c->enabled_condstore ? " MODSEQ" : "");
		if (cmds[ncmds] == NULL)
			goto out;
		ncmds++;
		hi = lo;
	}
	if (imap_wait_all(is->c, cause) != 0)
		goto out;
	for (i = 0; i < ncmds; i++) {
		if (cmds[i]->status != IMAP_OK) {
			set_cause(cause, "%s: UID FETCH failed: %s",
			    is->c->peer, cmds[i]->text);
			goto out;
		}
	}
	ret = txn_commit(is, cause);
out:
	if (iw_stop(is, ret != 0, ret != 0 ? NULL : cause) != 0)
		ret = -1;
	is->mode = FM_NONE;
	for (i = 0; i < ncmds; i++)
		imap_cmd_free(&cmds[i]);
	free(cmds);
	buf_free(&set);
	return ret;
}

/*
 * Bring one folder of the store in line with the server.
 *
 * After a complete earlier sync and with QRESYNC, SELECT brings the
 * changed flags and the vanished UIDs, and only UIDs from the stored
 * UIDNEXT on can be new: nothing else is asked. Otherwise a UID SEARCH of
 * the whole folder is compared with the stored UIDs.
 */
static int
sync_folder(struct isync *is, const char *name, char **cause)
{
	uint32_t f_uidvalidity = 0, f_uidnext = 0;
	uint64_t f_highestmodseq = 0;
	uint32_t *have = NULL, *want = NULL;
	size_t nhave = 0, nwant = 0, i, j;
	int64_t folder_id, n;
	int ok, ret = -1, rebuild = 0, complete, quick, partial = 0;

	if ((folder_id = store_folder(is->s, is->account_id, name, 1, cause)) <
	        0 ||
	    store_imap_folder_state(is->s, folder_id, &f_uidvalidity,
	        &f_uidnext, &f_highestmodseq, cause) != 0)
		goto out;
	complete = f_uidnext > 0 && f_highestmodseq > 0;
	if (select_folder(is, name, folder_id, complete ? f_uidvalidity : 0,
	        f_highestmodseq, &ok, cause) != 0 ||
	    txn_commit(is, cause) != 0)
		goto out;
	if (!ok) {
		ret = 0;
		goto out;
	}
	progress(is, "checking");
	if (f_uidvalidity != 0 && f_uidvalidity != is->uidvalidity) {
		/* Recreated: the old UIDs mean nothing now. */
		note(is, "%s: UIDVALIDITY changed, index rebuilt", name);
		if (store_imap_detach(is->s, folder_id, cause) != 0 ||
		    store_folder_set_imap(
		        is->s, folder_id, is->uidvalidity, 0, 0, cause) != 0)
			goto out;
		rebuild = 1;
	} else if (f_uidvalidity == 0 &&
	    store_folder_set_imap(
	        is->s, folder_id, is->uidvalidity, 0, 0, cause) != 0)
		goto out;
	quick = !rebuild && complete && is->c->enabled_qresync &&
	    is->highestmodseq > 0;
	if (!rebuild && !quick &&
	    store_imap_uids(is->s, folder_id, &have, &nhave, cause) != 0)
		goto out;

	/* Flags of what we have (with QRESYNC they came with SELECT). */
	if (nhave > 0 && !quick) {
		uint32_t max = have[nhave - 1];

		is->mode = FM_FLAGS;
		if (is->c->enabled_condstore && f_highestmodseq &&
		    is->highestmodseq) {
			if (is->highestmodseq != f_highestmodseq &&
			    imap_simple(is->c, cause,
			        "UID FETCH 1:%u (UID FLAGS) (CHANGEDSINCE %llu)",
			        max, (unsigned long long)f_highestmodseq) != 0)
				goto out;
		} else if (imap_simple(is->c, cause,
		               "UID FETCH 1:%u (UID FLAGS)", max) != 0)
			goto out;
		is->mode = FM_NONE;
		if (txn_commit(is, cause) != 0)
			goto out;
	}

	if (txn_begin(is, cause) != 0)
		goto out;
	if (quick) {
		for (i = 0; i < is->vanished.n; i++) {
			if ((n = store_imap_delete_uid(is->s, folder_id,
			         is->vanished.v[i], cause)) < 0)
				goto out;
			is->nvanished += (uint64_t)n;
		}
		if (is->uidnext == f_uidnext)
			goto done; /* nothing new */
		imap_uidset_free(&is->search);
		if (imap_simple(is->c, cause,
		        (is->c->caps & IMAP_CAP_ESEARCH)
		            ? "UID SEARCH RETURN (ALL) UID %u:*"
		            : "UID SEARCH UID %u:*",
		        f_uidnext) != 0)
			goto out;
		imap_uidset_sort(&is->search);
		/* "N:*" is the last UID even below N. */
		for (i = 0, j = 0; i < is->search.n; i++) {
			if (is->search.v[i] >= f_uidnext)
				is->search.v[j++] = is->search.v[i];
		}
		is->search.n = j;
		if (store_imap_uids(is->s, folder_id, &have, &nhave, cause) !=
		    0)
			goto out;
		partial = 1;
	} else if (nhave == 0 && is->exists > 0 && is->uidnext > 1 &&
	    is->uidnext - 1 <= 2 * (uint64_t)is->exists &&
	    is->uidnext - 1 <= IMAP_UIDSET_MAX) {
		/*
		 * Nothing stored and the UIDs dense (a first sync): ask for
		 * every UID below UIDNEXT, which the server answers for the
		 * messages it has, instead of listing them with a SEARCH
		 * first.
		 */
		uint32_t u;

		imap_uidset_free(&is->search);
		for (u = 1; u < is->uidnext; u++)
			imap_uidset_add(&is->search, u);
	} else if (search_all(is, cause) != 0)
		goto out;

	/* New: on the server, not stored; vanished: the other way. */
	want = xreallocarray(NULL, is->search.n + 1, sizeof *want);
	for (i = 0, j = 0; i < is->search.n || j < nhave;) {
		if (j >= nhave ||
		    (i < is->search.n && is->search.v[i] < have[j]))
			want[nwant++] = is->search.v[i++];
		else if (i >= is->search.n || have[j] < is->search.v[i]) {
			if (!partial) {
				if (store_imap_delete_uid(
				        is->s, folder_id, have[j], cause) < 0)
					goto out;
				is->nvanished++;
			}
			j++;
		} else {
			i++;
			j++;
		}
	}
	if (txn_commit(is, cause) != 0)
		goto out;
	if (fetch_index(is, want, nwant, cause) != 0)
		goto out;
done:
	if (txn_commit(is, cause) != 0 ||
	    store_imap_reattach(is->s, folder_id, cause) != 0)
		goto out;
	if (store_folder_set_imap(is->s, folder_id, is->uidvalidity,
	        is->uidnext, is->highestmodseq, cause) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		txn_rollback(is);
	is->mode = FM_NONE;
	free(have);
	free(want);
	return ret;
}

static void
folders_free(struct isync *is)
{
	size_t i;

	for (i = 0; i < is->nfolders; i++) {
		free(is->folders[i].name);
		free(is->folders[i].wire);
		free(is->folders[i].special);
	}
	free(is->folders);
	is->folders = NULL;
	is->nfolders = 0;
	is->listed = 0;
}

static int
wanted(struct isync *is, const char *name)
{
	size_t i;

	if (is->a->nfolders == 0 || strcmp(name, "INBOX") == 0)
		return 1;
	for (i = 0; i < is->a->nfolders; i++) {
		if (strcmp(is->a->folders[i], name) == 0)
			return 1;
	}
	return 0;
}

/* LIST, and make the store's folders match. */
static int
sync_list(struct isync *is, char **cause)
{
	int64_t *ids = NULL;
	char **names = NULL;
	size_t n = 0, i, k;
	int ret = -1, compare = 0;

	folders_free(is);
	if (store_imap_folders(
	        is->s, is->account_id, &ids, &names, &n, cause) != 0)
		goto out;
	/*
	 * The STATUS items only tell which folders can be skipped: one whose
	 * sync completed before. A first sync has none, and Dovecot reads
	 * all of a big INBOX to answer them (0.2 s for 100,000 messages).
	 */
	for (i = 0; i < n && !compare; i++) {
		uint32_t uidvalidity, uidnext;
		uint64_t modseq;

		if (store_imap_folder_state(is->s, ids[i], &uidvalidity,
		        &uidnext, &modseq, cause) != 0)
			goto out;
		compare = uidnext != 0 && modseq != 0;
	}
	if (compare && (is->c->caps & IMAP_CAP_LIST_STATUS) &&
	    is->c->enabled_condstore) {
		/* Enough to skip the folders that did not change. */
		if (imap_simple(is->c, cause,
		        "LIST \"\" \"*\" RETURN (%sSTATUS (UIDVALIDITY "
		        "UIDNEXT HIGHESTMODSEQ))",
		        (is->c->caps & IMAP_CAP_SPECIAL_USE) ? "SPECIAL-USE "
		                                             : "") != 0)
			goto out;
	} else if (imap_simple(is->c, cause,
	               (is->c->caps & IMAP_CAP_SPECIAL_USE)
	                   ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
	                   : "LIST \"\" \"*\"") != 0)
		goto out;
	is->listed = 1;
	if (store_begin(is->s, cause) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		for (k = 0; k < is->nfolders; k++) {
			if (strcmp(names[i], is->folders[k].name) == 0 &&
			    !is->folders[k].noselect)
				break;
		}
		if (k == is->nfolders || !wanted(is, names[i])) {
			if (store_folder_delete(is->s, ids[i], cause) != 0)
				goto fail;
		}
	}
	for (k = 0; k < is->nfolders; k++) {
		int64_t id;

		if (is->folders[k].noselect || !wanted(is, is->folders[k].name))
			continue;
		id = store_folder(
		    is->s, is->account_id, is->folders[k].name, 1, cause);
		if (id < 0 ||
		    store_folder_set_special(
		        is->s, id, is->folders[k].special, cause) != 0 ||
		    store_folder_set_imap_name(
		        is->s, id, is->folders[k].wire, cause) != 0)
			goto fail;
	}
	ret = store_commit(is->s, cause);
	goto out;
fail:
	store_rollback(is->s);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ids);
	return ret;
}

static int
sync_quota(struct isync *is, char **cause)
{
	struct imap_cmd *cmd;
	int ret = -1;

	if (!(is->c->caps & IMAP_CAP_QUOTA))
		return 0;
	is->q_used = is->q_limit = -1;
	if ((cmd = imap_send(is->c, cause, "GETQUOTAROOT INBOX")) == NULL ||
	    imap_wait(is->c, cmd, cause) != 0)
		goto out;
	if (cmd->status == IMAP_OK && is->q_limit >= 0 &&
	    store_account_quota(
	        is->s, is->account_id, is->q_used, is->q_limit, cause) != 0)
		goto out;
	ret = 0;
out:
	imap_cmd_free(&cmd);
	return ret;
}

/* Does the selected folder still hold uid? 1 yes, 0 no, -1 error. */
static int
probe(struct isync *is, uint32_t uid, char **cause)
{
	is->mode = FM_PROBE;
	is->want_uid = uid;
	is->probe_found = 0;
	if (imap_simple(is->c, cause, "UID FETCH %u (UID)", uid) != 0) {
		is->mode = FM_NONE;
		return -1;
	}
	is->mode = FM_NONE;
	return is->probe_found;
}

/*
 * Expunge uid (already \Deleted). Without UIDPLUS, EXPUNGE would remove
 * every \Deleted message: do it only when uid is the only one, else
 * return 1 (it waits until it is).
 */
static int
expunge_uid(struct isync *is, uint32_t uid, char **cause)
{
	if (is->c->caps & IMAP_CAP_UIDPLUS)
		return imap_simple(is->c, cause, "UID EXPUNGE %u", uid);
	imap_uidset_free(&is->search);
	if (imap_simple(is->c, cause, "UID SEARCH DELETED") != 0)
		return -1;
	if (is->search.n == 1 && is->search.v[0] == uid)
		return imap_simple(is->c, cause, "EXPUNGE");
	if (is->search.n == 0)
		return 0; /* gone already */
	note(is,
	    "%s: UID %u left flagged deleted (other deleted messages "
	    "would be expunged too)",
	    is->selected, uid);
	return 1;
}

/*
 * UID MOVE or UID COPY to the quoted mailbox q, creating it first when
 * the server says it does not exist ([TRYCREATE]).
 */
static int
copy_or_move(struct isync *is, uint32_t uid, const char *q, const char *verb,
    char **cause)
{
	struct imap_cmd *cmd;
	int attempt, ret = -1;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((cmd = imap_send(
		         is->c, cause, "UID %s %u %s", verb, uid, q)) == NULL ||
		    imap_wait(is->c, cmd, cause) != 0)
			goto out;
		if (cmd->status == IMAP_OK) {
			ret = 0;
			goto out;
		}
		if (attempt > 0 || cmd->code == NULL ||
		    ascii_strncasecmp(cmd->code, "TRYCREATE", 9) != 0)
			break;
		imap_cmd_free(&cmd);
		if (imap_simple(is->c, cause, "CREATE %s", q) != 0)
			goto out;
		(void)imap_simple(is->c, NULL, "SUBSCRIBE %s", q);
	}
	set_cause(cause, "%s: UID %s failed: %s", is->c->peer, verb, cmd->text);
out:
	imap_cmd_free(&cmd);
	return ret;
}

/*
 * Take keywords the server will not keep (or refused) off the stored
 * message, so the store says what the server has.
 */
static int
keywords_undo(struct isync *is, const struct store_pending *p,
    const struct store_flag_change *undo, char **cause)
{
	struct store_msg m;
	int64_t fid;
	char *kw;
	int found, ret = -1;

	memset(&m, 0, sizeof m);
	if ((fid = store_folder(is->s, is->account_id, p->folder, 0, cause)) <
	    0)
		return -1;
	if (fid == 0)
		return 0;
	if ((found = store_msg_get(is->s, fid, p->uid, &m, cause)) < 0)
		return -1;
	ret = 0;
	if (found) {
		kw = store_keywords_apply(m.keywords, undo);
		ret = store_msg_set_keywords(is->s, m.id, kw, cause);
		free(kw);
	}
	store_msg_clear(&m);
	return ret;
}

/*
 * The keywords of a queued "flags" change, on the selected folder. A
 * keyword the folder's PERMANENTFLAGS cannot keep (no \*, not listed),
 * or a STORE the server refuses, is dropped with a note: retrying would
 * never succeed.
 */
static int
replay_keywords(struct isync *is, const struct store_pending *p,
    const struct store_flag_change *fc, char **cause)
{
	struct store_flag_change undo;
	struct imap_cmd *cmd = NULL;
	struct buf kw;
	size_t i;
	int sign, ret = -1;

	memset(&undo, 0, sizeof undo);
	buf_init(&kw, 0);
	for (sign = 0; sign < 2; sign++) {
		char *const *v = sign == 0 ? fc->kw_add : fc->kw_del;
		size_t n = sign == 0 ? fc->nkw_add : fc->nkw_del;

		buf_reset(&kw);
		for (i = 0; i < n; i++) {
			/* Checked again: the queue is a file on disk. */
			if (store_keyword_check(v[i], NULL) != 0)
				continue;
			if (sign == 0 && !perm_keyword(is, v[i])) {
				note(is,
				    "keyword %s dropped: %s/%u cannot keep it "
				    "(PERMANENTFLAGS)",
				    v[i], p->folder, p->uid);
				(void)store_flag_change_keyword(
				    &undo, 0, v[i], NULL);
				continue;
			}
			(void)buf_printf(&kw, "%s%s", kw.len ? " " : "", v[i]);
		}
		if (kw.len == 0)
			continue;
		if ((cmd = imap_send(is->c, cause,
		         "UID STORE %u %cFLAGS.SILENT (%s)", p->uid,
		         sign == 0 ? '+' : '-', kw.data)) == NULL ||
		    imap_wait(is->c, cmd, cause) != 0)
			goto out;
		if (cmd->status != IMAP_OK) {
			note(is, "keywords %s on %s/%u dropped: %s", kw.data,
			    p->folder, p->uid,
			    cmd->text ? cmd->text : "refused");
			for (i = 0; sign == 0 && i < n; i++)
				(void)store_flag_change_keyword(
				    &undo, 0, v[i], NULL);
		}
		imap_cmd_free(&cmd);
	}
	ret = undo.nkw_del > 0 ? keywords_undo(is, p, &undo, cause) : 0;
out:
	imap_cmd_free(&cmd);
	store_flag_change_clear(&undo);
	buf_free(&kw);
	return ret;
}

/*
 * Replay one queued change. Returns 0 when it is done or dropped (the row
 * is then deleted), 1 to keep it queued, -1 on a connection error.
 */
static int
replay_one(struct isync *is, const struct store_pending *p, char **cause)
{
	char *q = NULL, *q2 = NULL;
	struct store_flag_change fc;
	struct buf fl;
	unsigned add = 0, del = 0;
	int ok, rc, ret = -1;

	memset(&fc, 0, sizeof fc);
	buf_init(&fl, 0);
	/*
	 * core_transfer_replay() finishes these once a body can be had, and
	 * smtp_drafts_flush() uploads postponed drafts.
	 */
	if (strcmp(p->op, "tolocal") == 0 ||
	    strcmp(p->op, "tolocal-copy") == 0 ||
	    strcmp(p->op, STORE_DRAFT_OP) == 0) {
		ret = 1;
		goto out;
	}
	/* No SELECT: the target need not be open, nor exist yet. */
	if (strcmp(p->op, "append") == 0 || strcmp(p->op, "append-move") == 0) {
		if (p->folder != NULL)
			q = wire_quote(is, p->folder);
		ret = imap_append_replay(is->c, is->s, p, q, cause);
		goto out;
	}
	if (strcmp(p->op, "create") == 0 || strcmp(p->op, "delete") == 0 ||
	    strcmp(p->op, "rename") == 0) {
		struct imap_cmd *cmd;

		q = wire_quote(is, p->folder ? p->folder : "");
		if (strcmp(p->op, "rename") == 0) {
			q2 = wire_quote(is, p->arg ? p->arg : "");
			cmd = imap_send(is->c, cause, "RENAME %s %s", q, q2);
		} else if (strcmp(p->op, "create") == 0)
			cmd = imap_send(is->c, cause, "CREATE %s", q);
		else
			cmd = imap_send(is->c, cause, "DELETE %s", q);
		if (cmd == NULL || imap_wait(is->c, cmd, cause) != 0)
			goto out;
		if (cmd->status != IMAP_OK)
			note(is, "%s %s: %s (dropped)", p->op, p->folder,
			    cmd->text);
		imap_cmd_free(&cmd);
		/* A subscription is a nicety: its failure is not one. */
		if (strcmp(p->op, "create") == 0)
			(void)imap_simple(is->c, NULL, "SUBSCRIBE %s", q);
		ret = 0;
		goto out;
	}
	if (p->folder == NULL)
		goto drop;
	if (is->selected == NULL || strcmp(is->selected, p->folder) != 0) {
		if (select_folder(is, p->folder, 0, 0, 0, &ok, cause) != 0)
			goto out;
		if (!ok)
			goto drop;
	}
	if (p->uidvalidity != 0 && p->uidvalidity != is->uidvalidity) {
		note(is, "%s %s/%u dropped: the folder was recreated", p->op,
		    p->folder, p->uid);
		goto drop;
	}
	if (p->uid != 0) {
		if ((rc = probe(is, p->uid, cause)) < 0)
			goto out;
		if (rc == 0) {
			note(is, "%s %s/%u dropped: the message is gone", p->op,
			    p->folder, p->uid);
			goto drop;
		}
	}
	if (strcmp(p->op, "flags") == 0) {
		if (p->uid == 0 || p->arg == NULL ||
		    store_flag_change_parse(p->arg, &fc, NULL) != 0)
			goto drop;
		add = fc.add;
		del = fc.del;
		if (add) {
			imap_flags_format(&fl, add);
			if (imap_simple(is->c, cause,
			        "UID STORE %u +FLAGS.SILENT (%s)", p->uid,
			        fl.data) != 0)
				goto out;
		}
		if (del) {
			buf_reset(&fl);
			imap_flags_format(&fl, del);
			if (imap_simple(is->c, cause,
			        "UID STORE %u -FLAGS.SILENT (%s)", p->uid,
			        fl.data) != 0)
				goto out;
		}
		if (fc.nkw_add + fc.nkw_del > 0 &&
		    replay_keywords(is, p, &fc, cause) != 0)
			goto out;
	} else if (strcmp(p->op, "move") == 0) {
		if (p->uid == 0 || p->arg == NULL)
			goto drop;
		q2 = wire_quote(is, p->arg);
		if ((rc = copy_or_move(is, p->uid, q2,
		         (is->c->caps & IMAP_CAP_MOVE) ? "MOVE" : "COPY",
		         cause)) != 0)
			goto out;
		if (!(is->c->caps & IMAP_CAP_MOVE)) {
			if (imap_simple(is->c, cause,
			        "UID STORE %u +FLAGS.SILENT (\\Deleted)",
			        p->uid) != 0 ||
			    expunge_uid(is, p->uid, cause) < 0)
				goto out;
			/* Copied: a retry would copy twice, so it is done. */
		}
	} else if (strcmp(p->op, "expunge") == 0) {
		if (p->uid == 0) {
			if (imap_simple(is->c, cause, "EXPUNGE") != 0)
				goto out;
		} else {
			if (imap_simple(is->c, cause,
			        "UID STORE %u +FLAGS.SILENT (\\Deleted)",
			        p->uid) != 0 ||
			    (rc = expunge_uid(is, p->uid, cause)) < 0)
				goto out;
			if (rc == 1) {
				ret = 1; /* kept queued */
				goto out;
			}
		}
	} else {
		note(is, "unknown queued operation '%s' dropped", p->op);
	}
drop:
	ret = 0;
out:
	/* A server refusal (not a dropped connection) keeps it queued. */
	if (ret < 0 && is->c != NULL && !is->c->bye && cause != NULL &&
	    *cause != NULL && strstr(*cause, " failed: ") != NULL) {
		note(is, "%s %s/%u kept queued: %s", p->op,
		    p->folder ? p->folder : "", p->uid, *cause);
		free(*cause);
		*cause = NULL;
		ret = 1;
	}
	store_flag_change_clear(&fc);
	buf_free(&fl);
	free(q);
	free(q2);
	return ret;
}

static int
replay(struct isync *is, char **cause)
{
	struct store_pending *v = NULL;
	size_t n = 0, i;
	int ret = -1, rc;

	if (store_pending_list(is->s, is->account_id, &v, &n, cause) != 0)
		return -1;
	/* The server's names (and delimiter) for the folders named. */
	if (n > 0 && !is->listed) {
		folders_free(is);
		if (imap_simple(is->c, cause, "LIST \"\" \"*\"") != 0)
			goto out;
		is->listed = 1;
	}
	for (i = 0; i < n; i++) {
		if ((rc = replay_one(is, &v[i], cause)) < 0)
			goto out;
		tern_fault("imap-after-replay");
		if (rc == 0 && store_pending_delete(is->s, v[i].id, cause) != 0)
			goto out;
	}
	ret = 0;
out:
	store_pending_list_free(v, n);
	return ret;
}

/*
 * A connection kept after a download, with the folder selected on it, for
 * the next download of the same account in this process: an export or a
 * move of a thousand messages does not log in a thousand times. One that
 * waited longer than KEEP_MS is not trusted (a firewall may have dropped
 * it silently) and is closed instead.
 */
#define KEEP_MS (60 * 1000)

struct kept {
	struct rc_account *a;
	struct imap_conn *c;
	char *selected;
	int64_t folder_id;
	uint32_t uidvalidity, uidnext, exists;
	uint64_t highestmodseq;
	uint64_t at;
};

/* Whether k can still be used (and so be logged out politely). */
static int
kept_good(const struct kept *k)
{
	return now_ms() - k->at < KEEP_MS && imap_quiet(k->c);
}

static void
kept_free(void *arg)
{
	struct kept *k = arg;

	/* A LOGOUT on a connection dropped unseen would wait for the I/O
	 * timeout: one not good is only closed. */
	if (k->c != NULL && kept_good(k))
		imap_logout(&k->c);
	else
		imap_close(&k->c);
	free(k->selected);
	free(k);
}

/* Keep the connection of a download that went well. */
static void
kept_put(struct isync *is)
{
	struct kept *k;

	if (!is->keep || is->c == NULL || !imap_quiet(is->c))
		return;
	tern_drop_conn(is->t);
	k = xcalloc(1, sizeof *k);
	k->a = is->a;
	k->c = is->c;
	k->c->untagged = NULL;
	k->c->arg = NULL;
	k->selected = is->selected;
	k->folder_id = is->folder_id;
	k->uidvalidity = is->uidvalidity;
	k->uidnext = is->uidnext;
	k->exists = is->exists;
	k->highestmodseq = is->highestmodseq;
	k->at = now_ms();
	is->c = NULL;
	is->selected = NULL;
	is->t->conn = k;
	is->t->conn_free = kept_free;
}

/* The kept connection of this account, if it is still good. */
static void
kept_take(struct isync *is)
{
	struct kept *k = is->t->conn_free == kept_free ? is->t->conn : NULL;

	if (k == NULL)
		return;
	is->t->conn = NULL;
	is->t->conn_free = NULL;
	if (k->a == is->a && kept_good(k)) {
		is->reused = 1;
		is->c = k->c;
		is->c->untagged = on_untagged;
		is->c->arg = is;
		k->c = NULL;
		free(is->selected);
		is->selected = k->selected;
		k->selected = NULL;
		is->folder_id = k->folder_id;
		is->uidvalidity = k->uidvalidity;
		is->uidnext = k->uidnext;
		is->exists = k->exists;
		is->highestmodseq = k->highestmodseq;
	}
	kept_free(k);
}

static void
isync_clear(struct isync *is)
{
	txn_rollback(is);
	kept_put(is);
	imap_logout(&is->c);
	free(is->selected);
	imap_uidset_free(&is->search);
	imap_uidset_free(&is->vanished);
	buf_free(&is->body);
	imap_view_free(&is->view);
	free(is->copyuid);
	folders_free(is);
	buf_free(&is->notes);
	buf_free(&is->permkw);
}

static int
isync_init(struct isync *is, struct tern *t, struct rc_account *a,
    const struct sync_opts *o, char **cause)
{
	memset(is, 0, sizeof *is);
	is->t = t;
	is->a = a;
	is->o = o;
	buf_init(&is->body, 0);
	buf_init(&is->notes, 64 * 1024);
	buf_init(&is->permkw, 64 * 1024);
	if ((is->s = tern_store(t, cause)) == NULL)
		return -1;
	if ((is->account_id = store_account(is->s, a->name, "imap", cause)) < 0)
		return -1;
	return 0;
}

static int
connect_account(struct isync *is, char **cause)
{
	if (imap_open(is->a, &is->c, cause) != 0)
		return -1;
	is->c->untagged = on_untagged;
	is->c->arg = is;
	return 0;
}

/*
 * Did LIST-STATUS say the folder is as stored after a complete sync (same
 * UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ)? 1 yes, 0 no, -1 error.
 */
static int
unchanged(struct isync *is, const struct folder_entry *f, char **cause)
{
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;
	int64_t id;

	if (!f->have_status || f->uidnext == 0 || f->highestmodseq == 0)
		return 0;
	if ((id = store_folder(is->s, is->account_id, f->name, 0, cause)) < 0)
		return -1;
	if (id == 0 ||
	    store_imap_folder_state(
	        is->s, id, &uidvalidity, &uidnext, &modseq, cause) != 0)
		return id == 0 ? 0 : -1;
	return uidvalidity == f->uidvalidity && uidnext == f->uidnext &&
	    modseq == f->highestmodseq;
}

/*
 * INBOX before the LIST, when QRESYNC makes its resync cheap: SELECT of
 * an unchanged INBOX costs next to nothing, and LIST-STATUS is then
 * answered at once for it, where Dovecot otherwise re-reads a big INBOX
 * to answer (0.13 s for 100,000 messages). *done: INBOX is synced.
 */
static int
inbox_first(struct isync *is, int *done, char **cause)
{
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;
	int64_t id;

	*done = 0;
	if (!is->c->enabled_qresync || !wanted(is, "INBOX"))
		return 0;
	if ((id = store_folder(is->s, is->account_id, "INBOX", 0, cause)) <= 0)
		return (int)id;
	if (store_imap_folder_state(
	        is->s, id, &uidvalidity, &uidnext, &modseq, cause) != 0)
		return -1;
	if (uidnext == 0 || modseq == 0)
		return 0; /* never synced to the end: the LIST comes first */
	if (sync_folder(is, "INBOX", cause) != 0)
		return -1;
	*done = 1;
	return 0;
}

/* One pass over the account on an open connection. */
static int
sync_pass(struct isync *is, char **cause)
{
	size_t k;
	int inbox;

	if (replay(is, cause) != 0 || inbox_first(is, &inbox, cause) != 0 ||
	    sync_list(is, cause) != 0)
		return -1;
	for (k = 0; k < is->nfolders; k++) {
		const struct folder_entry *f = &is->folders[k];
		int rc;

		if (f->noselect || !wanted(is, f->name) ||
		    (inbox && strcmp(f->name, "INBOX") == 0))
			continue;
		if ((rc = unchanged(is, f, cause)) < 0)
			return -1;
		if (rc == 0 && sync_folder(is, f->name, cause) != 0)
			return -1;
	}
	return sync_quota(is, cause);
}

/* Is fd readable now? */
static int
fd_ready(int fd)
{
	struct pollfd pfd;

	if (fd < 0)
		return 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) > 0;
}

/*
 * Wait for changes to INBOX (IDLE, or NOOP every NOOP_INTERVAL) and
 * sync them, until wakefd is readable.
 */
static int
watch(struct isync *is, char **cause)
{
	uint64_t last_full = now_ms();

	for (;;) {
		struct imap_cmd *cmd = NULL;
		uint64_t start = now_ms();
		int rc;

		/* INBOX each time; every folder now and then. */
		if (start - last_full >= IDLE_RENEW * 1000ULL) {
			if (sync_pass(is, cause) != 0)
				return -1;
			last_full = start;
		} else if (replay(is, cause) != 0 ||
		    sync_folder(is, "INBOX", cause) != 0)
			return -1;
		is->changed = 0;
		if (is->c->caps & IMAP_CAP_IDLE) {
			if ((cmd = imap_send(is->c, cause, "IDLE")) == NULL)
				return -1;
			is->c->continuation = 0;
			while (!is->c->continuation &&
			    cmd->status == IMAP_PENDING) {
				if (imap_poll(is->c, -1, -1, cause) < 0)
					return -1;
			}
			if (cmd->status != IMAP_PENDING) {
				imap_cmd_free(&cmd);
				return set_cause(
				    cause, "%s: IDLE refused", is->c->peer);
			}
		}
		while (!is->changed && !fd_ready(is->o->wakefd)) {
			int left = (cmd ? IDLE_RENEW : NOOP_INTERVAL) * 1000 -
			    (int)(now_ms() - start);

			if (left <= 0)
				break;
			rc = imap_poll(is->c, left, is->o->wakefd, cause);
			if (rc < 0) {
				imap_cmd_free(&cmd);
				return -1;
			}
		}
		if (cmd != NULL) {
			if (imap_send_raw(is->c, "DONE\r\n", cause) != 0 ||
			    imap_wait(is->c, cmd, cause) != 0) {
				imap_cmd_free(&cmd);
				return -1;
			}
			imap_cmd_free(&cmd);
		} else if (imap_simple(is->c, cause, "NOOP") != 0)
			return -1;
		if (fd_ready(is->o->wakefd))
			return 0;
	}
}

/*
 * Watch until wakefd, reconnecting when the connection drops (waiting
 * longer each time, up to five minutes). A refusal by the server ends it.
 */
static int
watch_forever(struct isync *is, char **cause)
{
	int delay = 1;

	if (fd_ready(is->o->wakefd))
		return 0;
	for (;;) {
		char *err = NULL;
		struct pollfd pfd;

		if (is->c != NULL && watch(is, &err) == 0)
			return 0;
		if (err != NULL && strstr(err, " failed: ") != NULL) {
			*cause = err;
			return -1;
		}
		free(err);
		txn_rollback(is);
		imap_close(&is->c);
		free(is->selected);
		is->selected = NULL;
		pfd.fd = is->o->wakefd;
		pfd.events = POLLIN;
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, delay * 1000) > 0)
			return 0;
		delay = delay * 2 > 300 ? 300 : delay * 2;
		err = NULL;
		if (connect_account(is, &err) != 0) {
			free(err);
			continue;
		}
		delay = 1;
	}
}

static int
imap_sync(struct tern *t, struct rc_account *a, const struct sync_opts *o,
    char **summary, char **cause)
{
	struct isync is;
	int ret = -1, attempt;

	if (isync_init(&is, t, a, o, cause) != 0)
		goto out;
	for (attempt = 0;; attempt++) {
		char *err = NULL;

		if (connect_account(&is, cause) != 0)
			goto out;
		if (sync_pass(&is, &err) == 0) {
			ret = 0;
			break;
		}
		/* A dropped connection: resume from what is stored. */
		txn_rollback(&is);
		imap_close(&is.c);
		free(is.selected);
		is.selected = NULL;
		if (attempt >= 2 || err == NULL ||
		    strstr(err, " failed: ") != NULL) {
			*cause = err;
			goto out;
		}
		note(&is, "reconnected after: %s", err);
		free(err);
	}
	if (o != NULL && o->watch && watch_forever(&is, cause) != 0) {
		ret = -1;
		goto out;
	}
	if (summary != NULL) {
		char *s = xasprintf("%llu new, %llu flag updates, %llu "
		                    "removed%s%s",
		    (unsigned long long)is.nnew, (unsigned long long)is.nflags,
		    (unsigned long long)is.nvanished,
		    is.notes.len && (o == NULL || o->note == NULL) ? "; " : "",
		    is.notes.len && (o == NULL || o->note == NULL)
		        ? is.notes.data
		        : "");

		/* Notes quote folder names and server text: made visible. */
		*summary = text_visible_dup(s);
		free(s);
	}
out:
	isync_clear(&is);
	return ret;
}

/*
 * Connect for a stored message m: its folder f selected, and the same
 * UIDVALIDITY as when it was indexed.
 */
static int
fetch_open(struct isync *is, int64_t msg_id, struct store_msg *m,
    struct store_folder *f, char **cause)
{
	int ok, found;

	if ((found = store_msg_get_id(is->s, msg_id, m, cause)) < 0)
		return -1;
	if (found == 0)
		return set_cause(cause, "no such message in the store");
	if (store_folder_get(is->s, m->folder_id, f, cause) != 0)
		return -1;
	kept_take(is);
	if (is->c == NULL && connect_account(is, cause) != 0)
		return -1;
	if (learn_delim(is, cause) != 0)
		return -1;
	/* Still selected on a kept connection: its UIDVALIDITY holds. */
	ok = is->selected != NULL && is->folder_id == f->id &&
	    strcmp(is->selected, f->name) == 0;
	if (!ok && select_folder(is, f->name, f->id, 0, 0, &ok, cause) != 0)
		return -1;
	if (!ok)
		return set_cause(cause, "%s: cannot open folder %s: %s",
		    is->c->peer, f->name, is->notes.data ? is->notes.data : "");
	if ((m->uidvalidity ? m->uidvalidity : f->uidvalidity) !=
	    is->uidvalidity)
		return set_cause(cause,
		    "%s: the folder %s was recreated on the "
		    "server; run tern sync",
		    is->c->peer, f->name);
	return 0;
}

static int
gone(struct isync *is, const struct store_msg *m, const struct store_folder *f,
    char **cause)
{
	return set_cause(cause,
	    "%s: message %u is no longer in %s; run tern "
	    "sync",
	    is->c->peer, m->uid, f->name);
}

/* Opening a message marks it seen on the server too. */
static int
fetch_seen(struct isync *is, const struct store_msg *m, char **cause)
{
	if (m->flags & STORE_F_SEEN)
		return 0;
	return imap_simple(
	    is->c, cause, "UID STORE %u +FLAGS.SILENT (\\Seen)", m->uid);
}

/* The whole message into message.raw, on an open connection; seen:
 * marked seen too, in the store and on the server. */
static int
fetch_whole(struct isync *is, const struct store_msg *m,
    const struct store_folder *f, int seen, char **cause)
{
	is->mode = FM_BODY;
	is->want_uid = m->uid;
	is->got_body = 0;
	imap_allow_bodies(is->c, 1);
	if (imap_simple(
	        is->c, cause, "UID FETCH %u (UID BODY.PEEK[])", m->uid) != 0)
		return -1;
	imap_allow_bodies(is->c, 0);
	is->mode = FM_NONE;
	if (!is->got_body)
		return gone(is, m, f, cause);
	if (store_begin(is->s, cause) != 0)
		return -1;
	if (store_msg_set_raw(
	        is->s, m->id, is->body.data, is->body.len, cause) != 0 ||
	    (seen &&
	        store_msg_set_flags(
	            is->s, m->id, m->flags | STORE_F_SEEN, cause) != 0)) {
		store_rollback(is->s);
		return -1;
	}
	if (store_commit(is->s, cause) != 0)
		return -1;
	return seen ? fetch_seen(is, m, cause) : 0;
}

/*
 * A download the driver was asked for: the whole message (seen: marked
 * seen too), what showing it needs, or one part (section).
 */
struct fetch_req {
	int64_t msg_id;
	int seen;
	const char *section;
};

static int
fetch_once(struct tern *t, struct rc_account *a, const struct fetch_req *req,
    int *reused, char **cause)
{
	struct isync is;
	struct store_msg m;
	struct store_folder f;
	int ret = -1;

	*reused = 0;
	memset(&m, 0, sizeof m);
	memset(&f, 0, sizeof f);
	if (isync_init(&is, t, a, NULL, cause) != 0)
		goto out;
	if (fetch_open(&is, req->msg_id, &m, &f, cause) != 0 ||
	    fetch_whole(&is, &m, &f, req->seen, cause) != 0)
		goto out;
	ret = 0;
	is.keep = 1;
out:
	store_msg_clear(&m);
	store_folder_clear(&f);
	*reused = is.reused;
	isync_clear(&is);
	return ret;
}

/*
 * What showing a message needs (body.c): BODYSTRUCTURE and the header,
 * then in one command every part's own header and the text parts shown,
 * kept as the skeleton in the part table ("VIEW"). A structure the
 * server gets wrong falls back to the whole message.
 */
static int
fetch_view_once(struct tern *t, struct rc_account *a,
    const struct fetch_req *req, int *reused, char **cause)
{
	struct isync is;
	struct store_msg m;
	struct store_folder f;
	struct buf items, skel;
	int ret = -1;

	*reused = 0;
	memset(&m, 0, sizeof m);
	memset(&f, 0, sizeof f);
	buf_init(&items, 0);
	buf_init(&skel, 0);
	if (isync_init(&is, t, a, NULL, cause) != 0)
		goto out;
	if (fetch_open(&is, req->msg_id, &m, &f, cause) != 0)
		goto out;
	is.mode = FM_VIEW;
	is.want_uid = m.uid;
	is.view = imap_view_new();
	imap_allow_bodies(is.c, 1);
	if (imap_simple(is.c, cause,
	        "UID FETCH %u (UID BODYSTRUCTURE BODY.PEEK[HEADER])",
	        m.uid) != 0)
		goto out;
	if (imap_view_get(is.view, "HEADER") == NULL &&
	    !imap_view_ready(is.view) && imap_view_error(is.view) == NULL) {
		gone(&is, &m, &f, cause);
		goto out;
	}
	if (!imap_view_ready(is.view) ||
	    imap_view_get(is.view, "HEADER") == NULL) {
		/* A structure we cannot trust: the exact bytes instead. */
		is.mode = FM_NONE;
		ret = fetch_whole(&is, &m, &f, 1, cause);
		is.keep = ret == 0;
		goto out;
	}
	imap_view_items(is.view, &items);
	if (items.len > 0 &&
	    imap_simple(
	        is.c, cause, "UID FETCH %u (UID%s)", m.uid, items.data) != 0)
		goto out;
	imap_allow_bodies(is.c, 0);
	is.mode = FM_NONE;
	if (imap_view_skeleton(is.view, &skel, cause) != 0)
		goto out;
	if (store_begin(is.s, cause) != 0)
		goto out;
	if (store_part_set(
	        is.s, m.id, STORE_PART_VIEW, skel.data, skel.len, cause) != 0 ||
	    store_msg_set_flags(is.s, m.id, m.flags | STORE_F_SEEN, cause) !=
	        0) {
		store_rollback(is.s);
		goto out;
	}
	if (store_commit(is.s, cause) != 0 || fetch_seen(&is, &m, cause) != 0)
		goto out;
	ret = 0;
	is.keep = 1;
out:
	buf_free(&items);
	buf_free(&skel);
	store_msg_clear(&m);
	store_folder_clear(&f);
	*reused = is.reused;
	isync_clear(&is);
	return ret;
}

/* One part alone (an attachment being saved or opened). */
static int
fetch_part_once(struct tern *t, struct rc_account *a,
    const struct fetch_req *req, int *reused, char **cause)
{
	const char *section = req->section;
	struct isync is;
	struct store_msg m;
	struct store_folder f;
	const struct buf *b;
	size_t k, len = strlen(section);
	int ret = -1;

	*reused = 0;
	memset(&m, 0, sizeof m);
	memset(&f, 0, sizeof f);
	/* It goes into a command: digits and dots only. */
	for (k = 0; k < len; k++) {
		if ((section[k] < '0' || section[k] > '9') &&
		    (section[k] != '.' || k == 0 || k + 1 == len ||
		        section[k - 1] == '.'))
			break;
	}
	if (len == 0 || len > 64 || k < len)
		return set_cause(
		    cause, "'%s' is not a part of a message", section);
	if (isync_init(&is, t, a, NULL, cause) != 0)
		goto out;
	if (fetch_open(&is, req->msg_id, &m, &f, cause) != 0)
		goto out;
	is.mode = FM_VIEW;
	is.want_uid = m.uid;
	is.view = imap_view_new();
	imap_allow_bodies(is.c, 1);
	if (imap_simple(is.c, cause, "UID FETCH %u (UID BODY.PEEK[%s])", m.uid,
	        section) != 0)
		goto out;
	imap_allow_bodies(is.c, 0);
	is.mode = FM_NONE;
	if ((b = imap_view_get(is.view, section)) == NULL) {
		gone(&is, &m, &f, cause);
		goto out;
	}
	if (store_part_set(is.s, m.id, section, b->data ? b->data : "", b->len,
	        cause) != 0)
		goto out;
	ret = 0;
	is.keep = 1;
out:
	store_msg_clear(&m);
	store_folder_clear(&f);
	*reused = is.reused;
	isync_clear(&is);
	return ret;
}

/*
 * Does the folder (quoted q) hold a message with raw's Message-ID? 1 yes,
 * 0 no (or raw has none to look for), -1 with cause.
 */
static int
holds_msgid(
    struct isync *is, const char *q, const char *raw, size_t len, char **cause)
{
	struct mime_envelope env;
	char *id = NULL;
	const char *p;
	int ret = 0;

	mime_envelope_parse(raw, len, &env);
	if (env.message_id == NULL || *env.message_id == '\0')
		goto out;
	/* Only what a quoted string carries as is. */
	for (p = env.message_id; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			goto out;
	}
	id = imap_quote(env.message_id);
	imap_uidset_free(&is->search);
	if (imap_simple(is->c, cause, "EXAMINE %s", q) != 0 ||
	    imap_simple(is->c, cause, "UID SEARCH HEADER Message-ID %s", id) !=
	        0) {
		ret = -1;
		goto out;
	}
	ret = is->search.n > 0;
out:
	free(id);
	mime_envelope_clear(&env);
	return ret;
}

/*
 * Store a copy in the server's folder: Sent and Drafts (the names
 * smtp/outbox.c passes when the rc names none) are the server's
 * SPECIAL-USE \\Sent and \\Drafts folders when it has them; a folder the
 * server does not have is created.
 */
static int
imap_append_copy(struct tern *t, struct rc_account *a, const char *folder,
    const char *raw, size_t len, unsigned flags, char **cause)
{
	struct isync is;
	const char *want = NULL, *name;
	char *q = NULL, *why = NULL;
	size_t k;
	int exists = 0, special = 0, rc, ret = -1;

	if (folder == NULL)
		folder = (flags & STORE_F_DRAFT)
		    ? (a->drafts != NULL ? a->drafts : "Drafts")
		    : (a->sent != NULL ? a->sent : "Sent");
	if ((flags & STORE_F_DRAFT) && a->drafts == NULL &&
	    strcmp(folder, "Drafts") == 0)
		want = "\\Drafts";
	else if (!(flags & STORE_F_DRAFT) && a->sent == NULL &&
	    strcmp(folder, "Sent") == 0)
		want = "\\Sent";
	name = folder;
	if (isync_init(&is, t, a, NULL, cause) != 0 ||
	    connect_account(&is, cause) != 0 || learn_delim(&is, cause) != 0)
		goto out;
	if (want != NULL && (is.c->caps & IMAP_CAP_SPECIAL_USE)) {
		/* Only the special-use folders; else all, marked. */
		struct imap_cmd *cmd;

		if ((cmd = imap_send(is.c, cause,
		         "LIST (SPECIAL-USE) \"\" \"*\"")) == NULL ||
		    imap_wait(is.c, cmd, cause) != 0) {
			imap_cmd_free(&cmd);
			goto out;
		}
		if (cmd->status != IMAP_OK &&
		    imap_simple(is.c, cause,
		        "LIST \"\" \"*\" RETURN (SPECIAL-USE)") != 0) {
			imap_cmd_free(&cmd);
			goto out;
		}
		imap_cmd_free(&cmd);
	}
	for (k = 0; k < is.nfolders && !special; k++) {
		struct folder_entry *f = &is.folders[k];

		if (want != NULL && !f->noselect && f->special != NULL &&
		    strcmp(f->special, want) == 0) {
			name = f->name;
			exists = special = 1;
		}
	}
	q = wire_quote(&is, name);
	if (!special) {
		/* Does the server have it? (Exact: q may hold '*' or '%'.) */
		folders_free(&is);
		if (imap_simple(is.c, cause, "LIST \"\" %s", q) != 0)
			goto out;
		for (k = 0; k < is.nfolders; k++) {
			if (!is.folders[k].noselect &&
			    strcmp(is.folders[k].name, name) == 0)
				exists = 1;
		}
	}
	if (!exists) {
		if (imap_simple(is.c, cause, "CREATE %s", q) != 0)
			goto out;
		(void)imap_simple(is.c, NULL, "SUBSCRIBE %s", q);
	} else if ((flags & CORE_APPEND_ONCE) &&
	    (rc = holds_msgid(&is, q, raw, len, cause)) != 0) {
		if (rc > 0)
			ret = 0; /* the earlier APPEND got there */
		goto out;
	}
	if ((rc = imap_append(is.c, q, raw, len, flags, 0, &why)) < 0) {
		*cause = why;
		why = NULL;
		goto out;
	}
	if (rc > 0) {
		char *v = text_visible_dup(why);

		set_cause(
		    cause, "%s: APPEND to %s failed: %s", is.c->peer, name, v);
		free(v);
		ret = 1;
		goto out;
	}
	ret = 0;
out:
	free(q);
	free(why);
	isync_clear(&is);
	return ret;
}

/*
 * A kept connection can look good and still be gone: a server that closed
 * it an instant ago, a BYE still inside a TLS record, a firewall that
 * dropped it unseen. A download that failed on one is tried once more on
 * a new connection; everything a download stores can be stored again.
 */
typedef int fetch_fn(struct tern *t, struct rc_account *a,
    const struct fetch_req *req, int *reused, char **cause);

static int
fetch_retrying(fetch_fn *once, struct tern *t, struct rc_account *a,
    const struct fetch_req *req, char **cause)
{
	int reused, ret = once(t, a, req, &reused, cause);

	if (ret != 0 && reused) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		ret = once(t, a, req, &reused, cause);
	}
	return ret;
}

static int
imap_fetch(struct tern *t, struct rc_account *a, int64_t msg_id, int seen,
    char **cause)
{
	struct fetch_req req = { msg_id, seen, NULL };

	return fetch_retrying(fetch_once, t, a, &req, cause);
}

static int
imap_fetch_view(
    struct tern *t, struct rc_account *a, int64_t msg_id, char **cause)
{
	struct fetch_req req = { msg_id, 1, NULL };

	return fetch_retrying(fetch_view_once, t, a, &req, cause);
}

static int
imap_fetch_part(struct tern *t, struct rc_account *a, int64_t msg_id,
    const char *section, char **cause)
{
	struct fetch_req req = { msg_id, 0, section };

	return fetch_retrying(fetch_part_once, t, a, &req, cause);
}

const struct driver_ops imap_driver = {
	.name = "imap",
	.sync = imap_sync,
	.fetch = imap_fetch,
	.fetch_view = imap_fetch_view,
	.fetch_part = imap_fetch_part,
	.append = imap_append_copy,
	.search = imap_search,
};
