/*
 * The header index of a folder: the UIDs the store lacks are fetched
 * newest first, in pipelined batches parsed on this thread and stored by
 * a writer thread, committed as they arrive, so an interrupted sync
 * resumes from what is stored; UIDs the server lacks are removed. Flags
 * come from QRESYNC's SELECT, a CONDSTORE CHANGEDSINCE fetch, or a plain
 * FLAGS fetch, whichever the server offers. Also the folder list and the
 * quota.
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-sync.h"
#include "tern/core.h"
#include "tern/mime.h"
#include "tern/store.h"
#include "tern/util.h"

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

int
isync_txn_begin(struct isync *is, char **cause)
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
	    (isync_txn_begin(is, cause) != 0 ||
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

/* Store a batch on the writer's thread. */
static int
iw_run(void *arg, void *job, char **cause)
{
	if (batch_store(arg, job, cause) != 0) {
		if (*cause == NULL)
			set_cause(cause, "storing the index failed");
		return -1;
	}
	return 0;
}

static void
iw_free(void *job)
{
	struct ibatch *b = job;

	batch_free(&b);
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
	struct store_writer_params p;

	memset(&p, 0, sizeof p);
	p.run = iw_run;
	p.free = iw_free;
	p.arg = is;
	p.max_jobs = IW_QUEUE;
	is->ckpt = store_ckpt_start(is->s);
	/* Failing that, commits stay durable: slower, the same. */
	(void)store_cache_writes(is->s, 1, NULL);
	if ((is->iw = store_writer_start(&p)) == NULL) {
		store_ckpt_stop(&is->ckpt);
		(void)store_cache_writes(is->s, 0, NULL);
	}
}

/*
 * Wait until the writer has stored everything handed to it: the store is
 * this thread's again until the next batch.
 */
static int
iw_drain(struct isync *is, char **cause)
{
	return is->iw != NULL ? store_writer_drain(is->iw, cause) : 0;
}

/*
 * Stop the writer: after what it was handed is stored, or (discard) at
 * once, dropping the rest. Returns its failure, if any.
 */
static int
iw_stop(struct isync *is, int discard, char **cause)
{
	int ret;

	if (is->iw == NULL)
		return 0;
	ret = store_writer_stop(&is->iw, discard, cause);
	store_ckpt_stop(&is->ckpt);
	if (store_cache_writes(is->s, 0, ret == 0 ? cause : NULL) != 0)
		ret = -1;
	return ret;
}

/* To the writer, or stored here when there is none. */
static int
batch_hand(struct isync *is, struct ibatch *b, char **cause)
{
	int ret;

	if (is->iw != NULL)
		return store_writer_queue(is->iw, b, 0, cause);
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
int
isync_index_settle(struct isync *is, char **cause)
{
	/* The batch being filled joins the held ones; a second call,
	 * with none being filled, hands them all over. */
	if (batch_submit(is, 0, cause) != 0 ||
	    (is->nheld > 0 && batch_submit(is, 0, cause) != 0))
		return -1;
	return iw_drain(is, cause);
}

int
isync_txn_commit(struct isync *is, char **cause)
{
	if (isync_index_settle(is, cause) != 0)
		return -1;
	is->queued = 0;
	return txn_end(is, cause);
}

void
isync_txn_rollback(struct isync *is)
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
		isync_progress(is, "index");
	} else if (is->cur->n == STORE_UPSERT_ROWS)
		return batch_submit(is, 0, cause);
	return 0;
}

int
isync_fetch_items(const struct imap_resp *r, struct fetch_items *fi)
{
	size_t i, end;
	uint64_t v;

	memset(fi, 0, sizeof *fi);
	if (r->nitems <= 3 || r->items[3].type != IMAP_LIST)
		return 1;
	fi->list = 3;
	end = imap_next(r, fi->list);
	for (i = fi->list + 1; i < end; i = imap_next(r, i)) {
		size_t val = imap_next(r, i);

		if (val >= end)
			break;
		if (imap_is(r, i, "UID") &&
		    imap_num(r, val, UINT32_MAX, &v) == 0)
			fi->uid = (uint32_t)v;
		else if (imap_is(r, i, "FLAGS"))
			fi->flist = val;
		else if (imap_is(r, i, "MODSEQ") &&
		    r->items[val].type == IMAP_LIST &&
		    imap_num(r, val + 1, INT64_MAX, &v) == 0)
			fi->modseq = v;
		else if (imap_is(r, i, "RFC822.SIZE") &&
		    imap_num(r, val, INT64_MAX, &v) == 0)
			fi->size = (int64_t)v;
		else if (imap_is(r, i, "INTERNALDATE") &&
		    r->items[val].type == IMAP_STRING)
			fi->internaldate = parse_internaldate(imap_str(r, val));
		else if (r->items[i].type == IMAP_ATOM &&
		    ascii_strncasecmp(imap_str(r, i), "BODY[HEADER", 11) == 0)
			fi->hdr = val;
		else if (imap_is(r, i, "BODY[]"))
			fi->body = val;
		i = val; /* the loop steps over the value */
	}
	/* Without a UID it is an unsolicited change (IDLE). */
	return fi->uid == 0;
}

/* A message's flags into the store; counted when they changed. */
static int
store_flags(struct isync *is, const struct imap_resp *r,
    const struct fetch_items *fi, int count, char **cause)
{
	char *keywords = NULL;
	unsigned flags = 0;
	int rc;

	if (fi->flist == 0)
		return 0;
	/* After the rows before it: it may be about one of them. */
	if (isync_index_settle(is, cause) != 0 ||
	    isync_txn_begin(is, cause) != 0)
		return -1;
	imap_flags_parse(r, fi->flist, &flags, &keywords);
	rc = store_imap_set_flags(
	    is->s, is->folder_id, fi->uid, flags, keywords, fi->modseq, cause);
	free(keywords);
	if (rc < 0)
		return -1;
	if (rc > 0 && count)
		is->nflags++;
	if (++is->rows >= COMMIT_ROWS)
		return isync_txn_commit(is, cause);
	return 0;
}

int
isync_fetch_flags(void *arg, const struct imap_resp *r, char **cause)
{
	struct isync *is = arg;
	struct fetch_items fi;

	if (isync_fetch_items(r, &fi) != 0) {
		is->changed = 1;
		return 0;
	}
	return store_flags(is, r, &fi, 1, cause);
}

/* The FETCH responses of the header index: a row each. */
static int
index_fetch(void *arg, const struct imap_resp *r, char **cause)
{
	struct isync *is = arg;
	struct fetch_items fi;
	unsigned flags = 0;
	char *keywords = NULL;
	const char *h;
	size_t len = 0;

	if (isync_fetch_items(r, &fi) != 0) {
		is->changed = 1;
		return 0;
	}
	if (fi.hdr == 0 || r->items[fi.hdr].type == IMAP_LIST)
		return store_flags(is, r, &fi, 0, cause);
	if (fi.flist != 0)
		imap_flags_parse(r, fi.flist, &flags, &keywords);
	h = imap_astr(r, fi.hdr, &len);
	return index_row(is, fi.uid, flags, keywords, fi.modseq,
	    fi.internaldate, fi.size, h ? h : "", len, cause);
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
	/* Built again in one pass at the end (a sync cut short before it
	 * leaves rows to fetch: the next one builds it). */
	if (store_imap_msgid_index(is->s, n < IW_BULK, cause) != 0)
		return -1;
	cmds = xcalloc((n + INDEX_BATCH - 1) / INDEX_BATCH, sizeof *cmds);
	buf_init(&set, 0);
	if (n >= IW_MIN)
		iw_start(is);
	is->done = 0;
	is->total = n;
	while (hi > 0) {
		size_t lo = hi > INDEX_BATCH ? hi - INDEX_BATCH : 0;

		buf_reset(&set);
		imap_uidset_format(&set, uids + lo, hi - lo);
		cmds[ncmds] = imap_send_fetch(is->c, index_fetch, is, cause,
		    "UID FETCH %s (UID FLAGS INTERNALDATE RFC822.SIZE%s "
		    "BODY.PEEK[HEADER.FIELDS (" HEADER_FIELDS ")])",
		    set.data, isync_modseq(is) ? " MODSEQ" : "");
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
	ret = isync_txn_commit(is, cause);
out:
	if (iw_stop(is, ret != 0, ret != 0 ? NULL : cause) != 0)
		ret = -1;
	if (n >= IW_BULK &&
	    store_imap_msgid_index(is->s, 1, ret != 0 ? NULL : cause) != 0)
		ret = -1;
	for (i = 0; i < ncmds; i++)
		imap_cmd_free(&cmds[i]);
	free(cmds);
	buf_free(&set);
	return ret;
}

/* What sync_folder knows of a folder from the store. */
struct fstate {
	int64_t id;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	int rebuild; /* UIDVALIDITY changed: the old UIDs mean nothing */
	int quick; /* QRESYNC's SELECT brought the changes */
	/* Selected by isync_inbox_newest: what is stored came with this
	 * SELECT, flags and all. */
	int fresh;
};

/* The flags of what is stored (with QRESYNC they came with SELECT). */
static int
folder_flags(struct isync *is, const struct fstate *f, const uint32_t *have,
    size_t nhave, char **cause)
{
	uint32_t max;

	if (nhave == 0 || f->quick || f->fresh)
		return 0;
	max = have[nhave - 1];
	if (isync_modseq(is) && f->highestmodseq && is->highestmodseq) {
		if (is->highestmodseq != f->highestmodseq &&
		    imap_simple_fetch(is->c, isync_fetch_flags, is, cause,
		        "UID FETCH 1:%u (UID FLAGS) (CHANGEDSINCE %llu)", max,
		        (unsigned long long)f->highestmodseq) != 0)
			return -1;
	} else if (imap_simple_fetch(is->c, isync_fetch_flags, is, cause,
	               "UID FETCH 1:%u (UID FLAGS)", max) != 0)
		return -1;
	return isync_txn_commit(is, cause);
}

/*
 * The UIDs on the server that may be new, into is->search: with QRESYNC
 * those from the stored UIDNEXT on (the vanished ones are removed here),
 * on a first sync of dense UIDs every one below UIDNEXT, else all.
 * *partial: is->search holds only the new ones.
 */
static int
folder_uids(struct isync *is, const struct fstate *f, int have_any,
    int *partial, char **cause)
{
	size_t i, j;
	int64_t n;
	uint32_t u;

	*partial = 0;
	if (f->quick) {
		for (i = 0; i < is->vanished.n; i++) {
			if ((n = store_imap_delete_uid(
			         is->s, f->id, is->vanished.v[i], cause)) < 0)
				return -1;
			is->nvanished += (uint64_t)n;
		}
		imap_uidset_free(&is->search);
		*partial = 1;
		if (is->uidnext == f->uidnext)
			return 0; /* nothing new */
		if (isync_search_from(is, f->uidnext, cause) != 0)
			return -1;
		/* "N:*" is the last UID even below N. */
		for (i = 0, j = 0; i < is->search.n; i++) {
			if (is->search.v[i] >= f->uidnext)
				is->search.v[j++] = is->search.v[i];
		}
		is->search.n = j;
		return 0;
	}
	if (!have_any && is->exists > 0 && is->uidnext > 1 &&
	    is->uidnext - 1 <= 2 * (uint64_t)is->exists &&
	    is->uidnext - 1 <= IMAP_UIDSET_MAX) {
		/*
		 * Nothing stored and the UIDs dense (a first sync): ask for
		 * every UID below UIDNEXT, which the server answers for the
		 * messages it has, instead of listing them with a SEARCH
		 * first.
		 */
		imap_uidset_free(&is->search);
		for (u = 1; u < is->uidnext; u++)
			imap_uidset_add(&is->search, u);
		return 0;
	}
	return isync_search_all(is, cause);
}

/*
 * New: on the server, not stored (into *want); vanished: the other way
 * (removed, unless the server's list is partial).
 */
static int
folder_diff(struct isync *is, int64_t folder_id, const uint32_t *have,
    size_t nhave, int partial, uint32_t **want, size_t *nwant, char **cause)
{
	size_t i, j;

	*want = xreallocarray(NULL, is->search.n + 1, sizeof **want);
	*nwant = 0;
	for (i = 0, j = 0; i < is->search.n || j < nhave;) {
		if (j >= nhave ||
		    (i < is->search.n && is->search.v[i] < have[j]))
			(*want)[(*nwant)++] = is->search.v[i++];
		else if (i >= is->search.n || have[j] < is->search.v[i]) {
			if (!partial) {
				if (store_imap_delete_uid(
				        is->s, folder_id, have[j], cause) < 0)
					return -1;
				is->nvanished++;
			}
			j++;
		} else {
			i++;
			j++;
		}
	}
	return 0;
}

/* SELECT the folder and read what the store knows of it. 0, or 1 when
 * the server refused the SELECT (noted), or -1. */
static int
folder_open(struct isync *is, const char *name, struct fstate *f, char **cause)
{
	int ok, complete;

	memset(f, 0, sizeof *f);
	if ((f->id = store_folder(is->s, is->account_id, name, 1, cause)) < 0 ||
	    store_imap_folder_state(is->s, f->id, &f->uidvalidity, &f->uidnext,
	        &f->highestmodseq, cause) != 0)
		return -1;
	complete = f->uidnext > 0 && f->highestmodseq > 0;
	if (is->fresh && is->selected != NULL &&
	    strcmp(is->selected, name) == 0 && is->folder_id == f->id)
		ok = f->fresh = 1; /* by isync_inbox_newest, a moment ago */
	else if (isync_select_folder(is, name, f->id,
	             complete ? f->uidvalidity : 0, f->highestmodseq, &ok,
	             cause) != 0)
		return -1;
	is->fresh = 0;
	if (isync_txn_commit(is, cause) != 0)
		return -1;
	if (!ok)
		return 1;
	isync_progress(is, "checking");
	if (f->uidvalidity != 0 && f->uidvalidity != is->uidvalidity) {
		/* Recreated: the old UIDs mean nothing now. */
		isync_note(is, "%s: UIDVALIDITY changed, index rebuilt", name);
		if (store_imap_detach(is->s, f->id, cause) != 0 ||
		    store_folder_set_imap(
		        is->s, f->id, is->uidvalidity, 0, 0, cause) != 0)
			return -1;
		f->rebuild = 1;
	} else if (f->uidvalidity == 0 &&
	    store_folder_set_imap(is->s, f->id, is->uidvalidity, 0, 0, cause) !=
	        0)
		return -1;
	f->quick = !f->rebuild && complete && isync_qresync(is) &&
	    is->highestmodseq > 0;
	return 0;
}

/*
 * Bring one folder of the store in line with the server.
 *
 * After a complete earlier sync and with QRESYNC, SELECT brings the
 * changed flags and the vanished UIDs, and only UIDs from the stored
 * UIDNEXT on can be new: nothing else is asked. Otherwise a UID SEARCH of
 * the whole folder is compared with the stored UIDs.
 */
int
isync_sync_folder(struct isync *is, const char *name, char **cause)
{
	struct fstate f;
	uint32_t *have = NULL, *want = NULL;
	size_t nhave = 0, nwant = 0;
	int ret = -1, rc, partial;

	if ((rc = folder_open(is, name, &f, cause)) != 0) {
		if (rc == 1) {
			/* Noted by the SELECT: the other folders go on. */
			is->nfailed++;
			ret = 0;
		}
		goto out;
	}
	if (!f.rebuild && !f.quick &&
	    store_imap_uids(is->s, f.id, &have, &nhave, cause) != 0)
		goto out;
	if (folder_flags(is, &f, have, nhave, cause) != 0 ||
	    isync_txn_begin(is, cause) != 0 ||
	    folder_uids(is, &f, nhave > 0, &partial, cause) != 0)
		goto out;
	if (partial && is->search.n == 0)
		goto done;
	if (f.quick) {
		free(have);
		have = NULL;
		if (store_imap_uids(is->s, f.id, &have, &nhave, cause) != 0)
			goto out;
	}
	if (folder_diff(is, f.id, have, nhave, partial, &want, &nwant, cause) !=
	        0 ||
	    isync_txn_commit(is, cause) != 0 ||
	    fetch_index(is, want, nwant, cause) != 0)
		goto out;
done:
	if (isync_txn_commit(is, cause) != 0 ||
	    store_imap_reattach(is->s, f.id, cause) != 0 ||
	    store_folder_set_imap(is->s, f.id, is->uidvalidity, is->uidnext,
	        is->highestmodseq, cause) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		isync_txn_rollback(is);
	free(have);
	free(want);
	return ret;
}

/* LIST, and make the store's folders match. */
int
isync_sync_list(struct isync *is, char **cause)
{
	int64_t *ids = NULL;
	char **names = NULL;
	size_t n = 0, i, k;
	int ret = -1, compare = 0;

	isync_folders_free(is);
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
	    isync_modseq(is)) {
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
			if (strcmp(names[i], is->folders[k].name) == 0)
				break;
		}
		if (k == is->nfolders || !isync_wanted(is, names[i])) {
			if (store_folder_delete(is->s, ids[i], cause) != 0)
				goto fail;
		}
	}
	for (k = 0; k < is->nfolders; k++) {
		int64_t id;

		/* A \Noselect parent (P of P/Sub) is listed, never synced. */
		if (!isync_wanted(is, is->folders[k].name))
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
	if ((ret = store_commit(is->s, cause)) == 0)
		isync_stored(is);
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

int
isync_sync_quota(struct isync *is, char **cause)
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

/*
 * Did LIST-STATUS say the folder is as stored after a complete sync (same
 * UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ)? 1 yes, 0 no, -1 error.
 */
int
isync_unchanged(struct isync *is, const struct folder_entry *f, char **cause)
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
int
isync_inbox_first(struct isync *is, int *done, char **cause)
{
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;
	int64_t id;

	*done = 0;
	if (!isync_qresync(is) || !isync_wanted(is, "INBOX"))
		return 0;
	if ((id = store_folder(is->s, is->account_id, "INBOX", 0, cause)) <= 0)
		return (int)id;
	if (store_imap_folder_state(
	        is->s, id, &uidvalidity, &uidnext, &modseq, cause) != 0)
		return -1;
	if (uidnext == 0 || modseq == 0)
		return 0; /* never synced to the end: the LIST comes first */
	if (isync_sync_folder(is, "INBOX", cause) != 0)
		return -1;
	*done = 1;
	return 0;
}

int
isync_inbox_newest(struct isync *is, char **cause)
{
	struct fstate f;
	uint32_t uidvalidity = 0, uidnext = 0, lo;
	uint64_t modseq = 0;
	int64_t id, ids[1], keys[1];
	size_t got = 0;
	int rc;

	if ((id = store_folder(is->s, is->account_id, "INBOX", 0, cause)) < 0)
		return -1;
	if (id > 0 &&
	    (store_imap_folder_state(
	         is->s, id, &uidvalidity, &uidnext, &modseq, cause) != 0 ||
	        store_index_ids_before(is->s, id, STORE_SORT_DATE, INT64_MAX,
	            INT64_MAX, 1, ids, keys, &got, cause) != 0))
		return -1;
	/* Synced to the end before, or cut short with rows to show. */
	if (got > 0 || (uidnext != 0 && modseq != 0))
		return 0;
	if ((rc = folder_open(is, "INBOX", &f, cause)) != 0)
		goto out; /* 1: refused, and noted */
	is->fresh = 1;
	if (is->exists == 0)
		return 0;
	lo = is->exists > INDEX_NEWEST ? is->exists - INDEX_NEWEST + 1 : 1;
	is->done = 0;
	is->total = is->exists - lo + 1;
	/*
	 * By message number, the last INDEX_NEWEST whatever their UIDs (a
	 * folder with gaps in its UIDs too); the rows are keyed by UID as
	 * always.
	 */
	if (imap_simple_fetch(is->c, index_fetch, is, cause,
	        "FETCH %u:%u (UID FLAGS INTERNALDATE RFC822.SIZE%s "
	        "BODY.PEEK[HEADER.FIELDS (" HEADER_FIELDS ")])",
	        lo, is->exists, isync_modseq(is) ? " MODSEQ" : "") != 0 ||
	    isync_txn_commit(is, cause) != 0) {
		rc = -1;
		goto out;
	}
	tern_fault("imap-after-newest");
	isync_progress(is, "index");
	isync_stored(is);
	return 0;
out:
	if (rc < 0) {
		isync_txn_rollback(is);
		/*
		 * A connection lost or a reply that made no sense ends the
		 * pass. Anything else (a refusal, a SELECT without its
		 * UIDVALIDITY) is left to the folder's own sync to meet and
		 * report: this step never fails a sync that would work
		 * without it.
		 */
		if (is->c->err != DRV_OK)
			return -1;
		free(*cause);
		*cause = NULL;
	}
	return 0;
}
