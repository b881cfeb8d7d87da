/*
 * Bodies in bulk: the whole messages of a folder that the store lacks,
 * asked for in pipelined UID FETCH commands of consecutive UIDs, parsed
 * as they stream in, and stored by the store's writer thread into the
 * account's pack files, committed every few megabytes.
 *
 * Memory stays bounded whatever the sizes: each command asks for about
 * BULK_CMD_BYTES by the sizes the index recorded; the writer's queue is
 * bounded in bytes; and every literal goes to the parser's sink as it
 * arrives: one of up to BULK_SINK bytes straight into the writer's next
 * job, a bigger one into a file beside the packs, which the writer then
 * adopts as a pack of its own. (A literal in any other response while
 * the bodies come is dropped: none is asked for.)
 *
 * What was committed stays when anything fails, and bodies received whole
 * before a connection was lost are committed too: a second call asks only
 * for what is still missing. A message deleted, or given a body, by
 * another tern meanwhile is skipped by the row's own check in the writer's
 * transaction (store_msg_put_packed).
 *
 * No account lock (core_sync_lock) is taken: a sync holds it for as long
 * as it watches, and an export must not wait for that. Nothing needs it:
 * pack appends happen inside a store transaction, which BEGIN IMMEDIATE
 * makes the only writer of the store until it commits, and which reads
 * the pack's committed size afresh; and a body is written only to a row
 * that still lacks one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-sync.h"
#include "tern/core.h"
#include "tern/store.h"
#include "tern/util.h"

/*
 * Bytes of bodies asked per command, and messages; when the caller may
 * ask to stop (bodies_yield), less, so that what is still in flight then
 * comes soon.
 */
#define BULK_CMD_BYTES (4 << 20)
#define BULK_YIELD_CMD_BYTES (256 << 10)
#define BULK_YIELD_CMD_MSGS 8
/* Commands in flight when the caller may ask to stop. */
#define BULK_YIELD_INFLIGHT 2
#define BULK_CMD_MSGS 500
/* A literal over this goes to a file as it arrives. */
#define BULK_SINK (4 << 20)
/* Bodies per writer job, and the writer's queue. */
#define BULK_JOB_BYTES (1 << 20)
#define BULK_JOB_MSGS 256
#define BULK_QUEUE_BYTES (8 << 20)
/* A commit after this much (an export writes what is committed). */
#define BULK_COMMIT_BYTES (8 << 20)
#define BULK_COMMIT_MSGS 1000
/* Progress after this many messages. */
#define BULK_PROGRESS 200

/* Bodies for the writer: in one buffer, or each a file of its own. */
struct bjob {
	struct bbody {
		int64_t id;
		size_t off, len; /* in data */
		char *path; /* a whole file instead, len bytes */
	} * v;
	size_t n, cap;
	struct buf data;
	int commit; /* end the transaction after these */
};

struct bulk {
	struct isync *is;
	/* What is asked for: ascending UIDs, their rows and sizes. */
	uint32_t *uids;
	int64_t *ids, *sizes;
	unsigned char *got;
	size_t n;

	struct bjob *job; /* being filled */
	size_t since_commit, since_commit_n;
	struct store_writer *w; /* NULL: stored inline */
	struct store_ckpt *ckpt;
	int in_txn; /* the writer's transaction is open */
	int outer; /* inside the caller's: stored inline, ended with it */
	int store_failed;

	/*
	 * The literal being read (sink): straight into the job being
	 * filled, from memoff on, or (over BULK_SINK) into a file.
	 */
	int tomem;
	size_t memoff;
	int tmpfd;
	char *tmppath;
	uint64_t tmpsize, tmpgot;
};

static void
bjob_free(void *job)
{
	struct bjob *j = job;
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->n; i++) {
		if (j->v[i].path != NULL) {
			(void)unlink(j->v[i].path);
			free(j->v[i].path);
		}
	}
	free(j->v);
	buf_free(&j->data);
	free(j);
}

/* Store a job: on whichever thread owns the store now. */
static int
bjob_run(void *arg, void *job, char **cause)
{
	struct bulk *b = arg;
	struct bjob *j = job;
	struct store *s = b->is->s;
	int64_t account = b->is->account_id;
	size_t i;
	int rc;

	if (!b->in_txn && j->n > 0) {
		if (store_begin(s, cause) != 0)
			return -1;
		b->in_txn = 1;
	}
	for (i = 0; i < j->n; i++) {
		struct bbody *e = &j->v[i];

		if (e->path != NULL) {
			rc = store_msg_adopt_packed(
			    s, e->id, account, e->path, (int64_t)e->len, cause);
			free(e->path);
			e->path = NULL;
		} else
			rc = store_msg_put_packed(s, e->id, account,
			    j->data.data + e->off, e->len, cause);
		if (rc < 0) {
			/* Rolled back already. */
			b->in_txn = 0;
			if (cause != NULL && *cause == NULL)
				set_cause(cause, "storing a body failed");
			return -1;
		}
	}
	if (j->commit && b->in_txn) {
		b->in_txn = 0;
		if (store_commit(s, cause) != 0)
			return -1;
		tern_fault("imap-after-bodies");
	}
	return 0;
}

/* The writer ends: what it did not commit is rolled back. */
static void
bjob_finish(void *arg, int failed)
{
	struct bulk *b = arg;

	(void)failed;
	/* Inside the caller's transaction, whole bodies go with it. */
	if (b->in_txn && b->outer)
		(void)store_commit(b->is->s, NULL);
	else if (b->in_txn)
		store_rollback(b->is->s);
	b->in_txn = 0;
}

/* Hand the job being filled over; commit: the transaction ends. */
static int
bulk_hand(struct bulk *b, int commit, char **cause)
{
	struct bjob *j = b->job;
	size_t bytes;
	int ret;

	if (j == NULL) {
		if (!commit)
			return 0;
		j = xcalloc(1, sizeof *j);
		buf_init(&j->data, 0);
	}
	b->job = NULL;
	j->commit = commit;
	if (commit)
		b->since_commit = b->since_commit_n = 0;
	bytes = j->data.len;
	if (b->w != NULL)
		ret = store_writer_queue(b->w, j, bytes, cause);
	else {
		ret = bjob_run(b, j, cause);
		bjob_free(j);
	}
	if (ret != 0)
		b->store_failed = 1;
	return ret;
}

/* The index of uid among those asked for, or -1. */
static ssize_t
bulk_find(const struct bulk *b, uint32_t uid)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->uids[mid] == uid)
			return (ssize_t)mid;
		if (b->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Forget the literal read last: nobody claimed it. */
static void
tmp_drop(struct bulk *b)
{
	if (b->tomem && b->job != NULL)
		b->job->data.len = b->memoff;
	b->tomem = 0;
	if (b->tmpfd >= 0)
		close(b->tmpfd);
	b->tmpfd = -1;
	if (b->tmppath != NULL) {
		(void)unlink(b->tmppath);
		free(b->tmppath);
		b->tmppath = NULL;
	}
	b->tmpsize = b->tmpgot = 0;
}

static struct bjob *
job_get(struct bulk *b)
{
	if (b->job == NULL) {
		b->job = xcalloc(1, sizeof *b->job);
		buf_init(&b->job->data, 0);
	}
	return b->job;
}

/*
 * Every literal of the responses goes to the sink, so a body is copied
 * once, from what was read into where the writer takes it.
 */
static int
sink_begin(void *arg, uint64_t size, char **cause)
{
	struct bulk *b = arg;
	struct bjob *j;

	tmp_drop(b); /* a literal nobody claimed */
	b->tmpsize = size;
	if (size <= BULK_SINK) {
		j = job_get(b);
		if (buf_reserve(&j->data, (size_t)size) != 0) {
			b->store_failed = 1;
			return set_cause(cause,
			    "a body of %llu bytes is too big",
			    (unsigned long long)size);
		}
		b->tomem = 1;
		b->memoff = j->data.len;
		return 0;
	}
	if ((b->tmpfd = store_pack_tmp(b->is->s, &b->tmppath, cause)) < 0) {
		b->store_failed = 1;
		return -1;
	}
	return 0;
}

static int
sink_data(void *arg, const char *data, size_t len, char **cause)
{
	struct bulk *b = arg;
	ssize_t n;

	b->tmpgot += len;
	if (b->tomem) {
		/* Reserved at its beginning. */
		(void)buf_add(&b->job->data, data, len);
		return 0;
	}
	while (len > 0) {
		if ((n = write(b->tmpfd, data, len)) < 0) {
			if (errno == EINTR)
				continue;
			b->store_failed = 1;
			return set_cause(cause,
			    "cannot write the store: %s: %s", b->tmppath,
			    strerror(errno));
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A FETCH response: a body for the writer. */
static int
bulk_fetch(void *arg, const struct imap_resp *r, char **cause)
{
	struct bulk *b = arg;
	struct isync *is = b->is;
	struct fetch_items fi;
	struct bjob *j;
	struct bbody *e;
	const char *data = NULL;
	size_t len = 0, i;
	ssize_t k;
	int diverted;

	if (isync_fetch_items(r, &fi) != 0) {
		/* News of the folder: the next sync reads it. */
		is->changed = 1;
		tmp_drop(b);
		return 0;
	}
	diverted = fi.body != 0 && r->items[fi.body].diverted;
	/* The literal read last is the body's only if none came after. */
	for (i = fi.body + 1; diverted == 1 && i < r->nitems; i++) {
		if (r->items[i].diverted)
			diverted = -1;
	}
	if (diverted != 1)
		tmp_drop(b);
	if (diverted < 0 || fi.body == 0 || (k = bulk_find(b, fi.uid)) < 0 ||
	    b->got[k] ||
	    (!diverted && (data = imap_astr(r, fi.body, &len)) == NULL) ||
	    (diverted && b->tmpgot != b->tmpsize)) {
		/* Not a body asked for (NIL: gone meanwhile), or twice. */
		tmp_drop(b);
		return 0;
	}
	b->got[k] = 1;
	j = job_get(b);
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 64;
		j->v = xreallocarray(j->v, j->cap, sizeof *j->v);
	}
	e = &j->v[j->n++];
	memset(e, 0, sizeof *e);
	e->id = b->ids[k];
	if (diverted && b->tomem) {
		/* In the job already. */
		e->off = b->memoff;
		e->len = (size_t)b->tmpsize;
		b->tomem = 0;
	} else if (diverted) {
		close(b->tmpfd);
		b->tmpfd = -1;
		e->path = b->tmppath;
		e->len = (size_t)b->tmpsize;
		b->tmppath = NULL;
	} else {
		e->off = j->data.len;
		e->len = len;
		if (buf_add(&j->data, data, len) != 0) {
			b->store_failed = 1;
			return set_cause(
			    cause, "a body of %zu bytes is too big", len);
		}
	}
	len = e->len;
	b->tmpsize = b->tmpgot = 0;
	is->done++;
	is->bytes += len;
	b->since_commit += len;
	b->since_commit_n++;
	if (is->done % BULK_PROGRESS == 0)
		isync_progress(is, "bodies");
	if (b->since_commit >= BULK_COMMIT_BYTES ||
	    b->since_commit_n >= BULK_COMMIT_MSGS)
		return bulk_hand(b, 1, cause);
	if (j->data.len >= BULK_JOB_BYTES || j->n >= BULK_JOB_MSGS ||
	    e->path != NULL)
		return bulk_hand(b, 0, cause);
	return 0;
}

static void
bulk_writer_start(struct bulk *b)
{
	struct store_writer_params p;

	memset(&p, 0, sizeof p);
	p.run = bjob_run;
	p.free = bjob_free;
	p.finish = bjob_finish;
	p.arg = b;
	p.max_jobs = 32;
	p.max_bytes = BULK_QUEUE_BYTES;
	b->ckpt = store_ckpt_start(b->is->s);
	/* The server can give every body again: commits need not each
	 * wait for the disk (a pack's bytes are synced anyway). */
	(void)store_cache_writes(b->is->s, 1, NULL);
	if ((b->w = store_writer_start(&p)) == NULL) {
		store_ckpt_stop(&b->ckpt);
		(void)store_cache_writes(b->is->s, 0, NULL);
	}
}

/* Stop the writer after what it holds is stored and committed, or
 * (discard) at once. */
static int
bulk_writer_stop(struct bulk *b, int discard, char **cause)
{
	int ret = 0;

	if (b->w == NULL) {
		bjob_finish(b, discard);
		return 0;
	}
	ret = store_writer_stop(&b->w, discard, cause);
	store_ckpt_stop(&b->ckpt);
	if (store_cache_writes(b->is->s, 0, ret == 0 ? cause : NULL) != 0)
		ret = -1;
	return ret;
}

/*
 * Which of uids[0..n) the store lacks, into b (ascending), with their rows
 * and recorded sizes.
 */
static int
bulk_want(struct bulk *b, const uint32_t *uids, size_t n, char **cause)
{
	uint32_t *have = NULL, *ask;
	int64_t *ids = NULL, *sizes = NULL;
	size_t nhave = 0, i, j, k;

	if (store_imap_bodiless(b->is->s, b->is->folder_id, &have, &ids, &sizes,
	        &nhave, cause) != 0)
		return -1;
	ask = xreallocarray(NULL, n + 1, sizeof *ask);
	memcpy(ask, uids, n * sizeof *ask);
	{
		struct imap_uidset set = { ask, n, n + 1 };

		imap_uidset_sort(&set);
		n = set.n;
		ask = set.v;
	}
	b->uids = xreallocarray(NULL, nhave + 1, sizeof *b->uids);
	b->ids = xreallocarray(NULL, nhave + 1, sizeof *b->ids);
	b->sizes = xreallocarray(NULL, nhave + 1, sizeof *b->sizes);
	for (i = 0, j = 0, k = 0; i < n && j < nhave;) {
		if (ask[i] < have[j])
			i++;
		else if (have[j] < ask[i])
			j++;
		else {
			b->uids[k] = have[j];
			b->ids[k] = ids[j];
			b->sizes[k] = sizes[j];
			k++;
			/* The same UID twice is asked once. */
			while (i < n && ask[i] == have[j])
				i++;
			j++;
		}
	}
	b->n = k;
	b->got = xcalloc(k + 1, 1);
	free(ask);
	free(have);
	free(ids);
	free(sizes);
	return 0;
}

/* The recorded size of the ith body wanted (what a command adds up). */
static int64_t
bulk_size(const struct bulk *b, size_t i)
{
	return b->sizes[i] > 0 ? b->sizes[i] : 0;
}

static void
bulk_clear(struct bulk *b)
{
	tmp_drop(b);
	bjob_free(b->job);
	b->job = NULL;
	free(b->uids);
	free(b->ids);
	free(b->sizes);
	free(b->got);
}

/*
 * The next command's UIDs, uids[*lo..*hi): done of b->n asked already,
 * from the top down when newest, else from the bottom up; at least one,
 * then as many as fit max_bytes (by the stored sizes) and max_msgs.
 */
static void
bulk_next_run(const struct bulk *b, size_t done, int newest, int64_t max_bytes,
    size_t max_msgs, size_t *lo, size_t *hi)
{
	int64_t bytes;

	if (newest) {
		*hi = b->n - done;
		*lo = *hi - 1;
		bytes = bulk_size(b, *lo);
		while (*lo > 0 && *hi - *lo < max_msgs &&
		    bytes + bulk_size(b, *lo - 1) <= max_bytes)
			bytes += bulk_size(b, --*lo);
	} else {
		*lo = done;
		*hi = *lo + 1;
		bytes = bulk_size(b, *lo);
		while (*hi < b->n && *hi - *lo < max_msgs &&
		    bytes + bulk_size(b, *hi) <= max_bytes)
			bytes += bulk_size(b, (*hi)++);
	}
}

/*
 * Send the UID FETCH commands for b's UIDs into cmds (*ncmds of them),
 * in runs; when the caller may ask to stop, few in flight, and none
 * more once it does.
 */
static int
bodies_send(struct bulk *b, int newest, struct imap_cmd **cmds, size_t *ncmds,
    char **cause)
{
	struct isync *is = b->is;
	struct buf set;
	size_t waited = 0, done, cmd_msgs;
	int64_t cmd_bytes;
	int ret = -1;

	buf_init(&set, 0);
	cmd_bytes =
	    is->bodies_yield != NULL ? BULK_YIELD_CMD_BYTES : BULK_CMD_BYTES;
	cmd_msgs =
	    is->bodies_yield != NULL ? BULK_YIELD_CMD_MSGS : BULK_CMD_MSGS;
	for (done = 0; done < b->n;) {
		size_t lo, hi;

		if (is->bodies_yield != NULL) {
			/* The oldest done before the next goes out. */
			while (*ncmds - waited >= BULK_YIELD_INFLIGHT) {
				if (imap_wait(is->c, cmds[waited++], cause) !=
				    0)
					goto out;
			}
			if (*ncmds > 0 && is->bodies_yield(is)) {
				is->bodies_yielded = 1;
				break;
			}
		}

		bulk_next_run(b, done, newest, cmd_bytes, cmd_msgs, &lo, &hi);
		buf_reset(&set);
		imap_uidset_format(&set, b->uids + lo, hi - lo);
		cmds[*ncmds] = imap_send_fetch(is->c, bulk_fetch, b, cause,
		    "UID FETCH %s (UID BODY.PEEK[])", set.data);
		if (cmds[*ncmds] == NULL)
			goto out;
		(*ncmds)++;
		done += hi - lo;
	}
	ret = 0;
out:
	buf_free(&set);
	return ret;
}

/* Wait for every command sent; -1 unless each ended OK. */
static int
bodies_wait(
    struct isync *is, struct imap_cmd **cmds, size_t ncmds, char **cause)
{
	size_t i;

	if (imap_wait_all(is->c, cause) != 0)
		return -1;
	for (i = 0; i < ncmds; i++) {
		if (cmds[i]->status != IMAP_OK)
			return set_cause(cause, "%s: UID FETCH failed: %s",
			    is->c->peer, cmds[i]->text);
	}
	return 0;
}

int
isync_bodies(struct isync *is, const uint32_t *uids, size_t n, char **cause)
{
	struct imap_cmd **cmds = NULL;
	struct imap_sink sink;
	struct bulk b;
	size_t ncmds = 0, i;
	int ret = -1, sent, newest;

	memset(&b, 0, sizeof b);
	b.is = is;
	b.tmpfd = -1;
	/* Whatever the index left open is the store's before the writer
	 * takes it. */
	if (isync_txn_commit(is, cause) != 0 ||
	    bulk_want(&b, uids, n, cause) != 0)
		goto out;
	if (b.n == 0) {
		ret = 0;
		goto out;
	}
	is->done = 0;
	is->total = b.n;
	is->bytes = 0;
	isync_progress(is, "bodies");
	cmds = xcalloc(b.n, sizeof *cmds);
	/* Inside a caller's transaction the store stays on this thread. */
	if (!(b.outer = store_in_txn(is->s)))
		bulk_writer_start(&b);
	sink.begin = sink_begin;
	sink.data = sink_data;
	sink.arg = &b;
	sink.threshold = 0;
	imap_parser_set_sink(is->c->parser, &sink);
	imap_allow_bodies(is->c, 1);
	/*
	 * Each command a run of the UIDs wanted, in the order the caller
	 * gave them: newest first when they came down, else oldest first
	 * (an export, which writes them in that order as they come).
	 */
	newest = n > 1 && uids[0] > uids[n - 1];
	if (bodies_send(&b, newest, cmds, &ncmds, cause) != 0 ||
	    bodies_wait(is, cmds, ncmds, cause) != 0 ||
	    bulk_hand(&b, 1, cause) != 0)
		goto fail;
	ret = bulk_writer_stop(&b, 0, cause);
	isync_progress(is, "bodies");
	goto out;
fail:
	/*
	 * The bodies that came whole are kept, unless storing is what
	 * failed: a second call goes on from there.
	 */
	sent = !b.store_failed && bulk_hand(&b, 1, NULL) == 0;
	(void)bulk_writer_stop(&b, !sent, NULL);
out:
	if (is->c != NULL && is->c->parser != NULL) {
		imap_parser_set_sink(is->c->parser, NULL);
		imap_allow_bodies(is->c, 0);
	}
	for (i = 0; i < ncmds; i++)
		imap_cmd_free(&cmds[i]);
	free(cmds);
	bulk_clear(&b);
	return ret;
}

/* A message of a fetch_many: where it is. */
struct many {
	int64_t folder_id;
	uint32_t uid, uidvalidity;
};

static int
many_cmp(const void *a, const void *b)
{
	const struct many *x = a, *y = b;

	if (x->folder_id != y->folder_id)
		return x->folder_id < y->folder_id ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/*
 * The bodies of v[0..n) (one folder's) on is's connection: connected and
 * the folder selected first, when it is not already.
 */
static int
many_folder(struct isync *is, const struct many *v, size_t n, char **cause)
{
	struct store_folder f;
	uint32_t *uids = NULL;
	size_t i, k = 0;
	int ok, ret = -1;

	memset(&f, 0, sizeof f);
	if (store_folder_get(is->s, v[0].folder_id, &f, cause) != 0)
		goto out;
	if (is->c == NULL && isync_connect_account(is, cause) != 0)
		goto out;
	if (isync_learn_delim(is, cause) != 0)
		goto out;
	/* Still selected on a kept connection: its UIDVALIDITY holds. */
	ok = is->selected != NULL && is->folder_id == f.id &&
	    strcmp(is->selected, f.name) == 0;
	if (!ok && isync_select_folder(is, f.name, f.id, 0, 0, &ok, cause) != 0)
		goto out;
	if (!ok) {
		set_cause(cause, "%s: cannot open folder %s: %s", is->c->peer,
		    f.name, is->notes.data ? is->notes.data : "");
		goto out;
	}
	uids = xreallocarray(NULL, n, sizeof *uids);
	for (i = 0; i < n; i++) {
		if ((v[i].uidvalidity ? v[i].uidvalidity : f.uidvalidity) !=
		    is->uidvalidity) {
			set_cause(cause,
			    "%s: the folder %s was recreated on the server; "
			    "run tern sync",
			    is->c->peer, f.name);
			goto out;
		}
		uids[k++] = v[i].uid;
	}
	ret = isync_bodies(is, uids, k, cause);
out:
	free(uids);
	store_folder_clear(&f);
	return ret;
}

/*
 * Folder by folder on one connection (a kept one if there is one). A
 * kept connection can look good and be gone: a failure on one is tried
 * again on a new connection, from what was stored.
 */
int
imap_fetch_many(struct tern *t, struct rc_account *a, const int64_t *msg_ids,
    size_t n, char **cause)
{
	struct isync is;
	struct many *v;
	size_t nv = 0, i, j;
	int has_body, rc, ret = -1;

	v = xreallocarray(NULL, n + 1, sizeof *v);
	if (isync_init(&is, t, a, t->fetch_opts, cause) != 0)
		goto out;
	/* One snapshot for the lookups, not a lock for each. */
	if (store_read_begin(is.s, cause) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		rc = store_msg_where(is.s, msg_ids[i], &v[nv].folder_id,
		    &v[nv].uid, &v[nv].uidvalidity, &has_body, cause);
		if (rc < 0) {
			store_read_end(is.s);
			goto out;
		}
		if (rc == 1 && !has_body && v[nv].uid > 0)
			nv++;
	}
	store_read_end(is.s);
	qsort(v, nv, sizeof *v, many_cmp);
	isync_kept_take(&is);
	for (i = 0; i < nv; i = j) {
		for (j = i; j < nv && v[j].folder_id == v[i].folder_id; j++)
			;
		if ((rc = many_folder(&is, v + i, j - i, cause)) != 0 &&
		    is.reused && drv_err_transient(imap_err(is.c))) {
			if (cause != NULL) {
				free(*cause);
				*cause = NULL;
			}
			is.reused = 0;
			isync_drop_connection(&is);
			rc = many_folder(&is, v + i, j - i, cause);
		}
		if (rc != 0)
			goto out;
		is.reused = 0;
	}
	ret = 0;
out:
	is.keep = ret == 0;
	isync_clear(&is);
	free(v);
	return ret;
}
