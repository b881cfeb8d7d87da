/*
 * The index: one line per message of the open folder.
 *
 * Only the ids are held for the whole folder (in sort or thread order);
 * the rows on screen are read one by one through a small cache keyed by
 * id, so a 100,000-message folder costs 800 KB and a screenful of
 * lookups, not 100,000 rows.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/compose.h"
#include "tern/indexfmt.h"
#include "tern/mime.h"
#include "tern/pattern.h"
#include "tern/rc.h"
#include "ui-private.h"

void
ui_index_cache_clear(struct ui *u)
{
	for (size_t i = 0; i < UI_ROWCACHE; i++)
		store_index_row_clear(&u->cache[i]);
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The loaded rows gone (the cursor left where it is). */
static void
index_drop_rows(struct ui *u)
{
	free(u->ids);
	free(u->depth);
	free(u->tids);
	free(u->tdepth);
	free(u->hidden);
	u->ids = NULL;
	u->depth = NULL;
	u->tids = NULL;
	u->tdepth = NULL;
	u->hidden = NULL;
	u->nids = u->ntids = 0;
}

/* The rows of the thread that holds position i of tdepth[0..n). */
static void
thread_span(const uint8_t *tdepth, size_t n, size_t i, size_t *a, size_t *b)
{
	size_t s = i, e = i + 1;

	while (s > 0 && !(tdepth[s] & UI_THREAD_START))
		s--;
	while (e < n && !(tdepth[e] & UI_THREAD_START))
		e++;
	*a = s;
	*b = e;
}

static size_t
find_id(const int64_t *ids, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n && ids[i] != id; i++)
		;
	return i;
}

static int
is_collapsed(struct ui *u, int64_t root)
{
	return u->ncollapsed > 0 &&
	    bsearch(&root, u->collapsed, u->ncollapsed, sizeof root, cmp_id) !=
	    NULL;
}

/* What shows of the whole threaded view: a collapsed thread as its
 * first row, with the number of rows it hides. */
static void
thread_view(struct ui *u)
{
	size_t i, j, k, n = 0;

	free(u->ids);
	free(u->depth);
	free(u->hidden);
	u->ids = xreallocarray(NULL, u->ntids + 1, sizeof *u->ids);
	u->depth = xcalloc(u->ntids + 1, 1);
	u->hidden =
	    u->ncollapsed > 0 ? xcalloc(u->ntids + 1, sizeof *u->hidden) : NULL;
	for (i = 0; i < u->ntids; i = j) {
		thread_span(u->tdepth, u->ntids, i, &k, &j);
		if (j - i > 1 && is_collapsed(u, u->tids[i])) {
			u->ids[n] = u->tids[i];
			u->depth[n] = u->tdepth[i];
			u->hidden[n++] = (uint32_t)(j - i - 1);
			continue;
		}
		memcpy(u->ids + n, u->tids + i, (j - i) * sizeof *u->ids);
		memcpy(u->depth + n, u->tdepth + i, j - i);
		n += j - i;
	}
	u->nids = n;
	ui_index_cache_clear(u);
}

/* The row that shows message id: its own, or its collapsed thread's. */
static int64_t
shown_id(struct ui *u, int64_t id)
{
	size_t i, a, b;

	if (u->tids == NULL || find_id(u->ids, u->nids, id) < u->nids)
		return id;
	if ((i = find_id(u->tids, u->ntids, id)) == u->ntids)
		return id;
	thread_span(u->tdepth, u->ntids, i, &a, &b);
	return u->tids[a];
}

void
ui_thread_collapse(struct ui *u, int all)
{
	int64_t id, root;
	size_t i, a, b;

	if (!u->threaded || u->tids == NULL) {
		ui_message(u, 0, "Threads collapse in the threaded view (v)");
		return;
	}
	if (u->cur >= u->nids)
		return;
	id = u->ids[u->cur];
	if ((i = find_id(u->tids, u->ntids, id)) == u->ntids)
		return;
	thread_span(u->tdepth, u->ntids, i, &a, &b);
	root = u->tids[a];
	if (all && u->ncollapsed > 0) {
		free(u->collapsed);
		u->collapsed = NULL;
		u->ncollapsed = 0;
	} else if (all) {
		/* Every thread of more than one message, in id order. */
		free(u->collapsed);
		u->collapsed =
		    xreallocarray(NULL, u->ntids + 1, sizeof *u->collapsed);
		u->ncollapsed = 0;
		for (i = 0; i < u->ntids; i = b) {
			thread_span(u->tdepth, u->ntids, i, &a, &b);
			if (b - a >= 2)
				u->collapsed[u->ncollapsed++] = u->tids[a];
		}
		qsort(
		    u->collapsed, u->ncollapsed, sizeof *u->collapsed, cmp_id);
	} else if (b - a < 2) {
		ui_message(u, 0, "This thread is one message");
		return;
	} else {
		int64_t *c = u->ncollapsed > 0
		    ? bsearch(&root, u->collapsed, u->ncollapsed, sizeof root,
		          cmp_id)
		    : NULL;

		if (c != NULL) {
			size_t at = (size_t)(c - u->collapsed);

			memmove(c, c + 1, (u->ncollapsed - at - 1) * sizeof *c);
			u->ncollapsed--;
		} else {
			for (i = u->ncollapsed;
			     i > 0 && u->collapsed[i - 1] > root; i--)
				;
			u->collapsed = xreallocarray(u->collapsed,
			    u->ncollapsed + 1, sizeof *u->collapsed);
			memmove(u->collapsed + i + 1, u->collapsed + i,
			    (u->ncollapsed - i) * sizeof *u->collapsed);
			u->collapsed[i] = root;
			u->ncollapsed++;
		}
	}
	thread_view(u);
	id = shown_id(u, id);
	u->cur = find_id(u->ids, u->nids, id);
	if (u->cur >= u->nids)
		u->cur = u->nids ? u->nids - 1 : 0;
	u->dirty = 1;
}

int
ui_thread_members(
    struct ui *u, size_t pos, int64_t **out, size_t *nout, char **cause)
{
	int64_t *tids = u->tids, id;
	uint8_t *tdepth = u->tdepth;
	size_t n = u->ntids, i, a, b;
	int own = 0;

	if (pos >= u->nids) {
		*cause = xstrdup("No message here");
		return -1;
	}
	id = u->ids[pos];
	if (!u->threaded || tids == NULL) {
		/* The flat view: the folder threaded for this once. */
		if (ui_order_ids(u->s, u->folders[u->fcur].id, u->sort, 0, 1,
		        u->limit, u->limit_extra, u->nlimit_extra, &tids,
		        &tdepth, &n, cause) != 0)
			return -1;
		own = 1;
	}
	if ((i = find_id(tids, n, id)) == n) {
		a = 0;
		b = 0;
	} else
		thread_span(tdepth, n, i, &a, &b);
	*nout = b - a;
	*out = xreallocarray(NULL, *nout + 1, sizeof **out);
	memcpy(*out, tids + a, *nout * sizeof **out);
	if (own) {
		free(tids);
		free(tdepth);
	}
	if (*nout == 0) {
		free(*out);
		*cause = xstrdup("The message is not in a thread");
		return -1;
	}
	return 0;
}

void
ui_index_free(struct ui *u)
{
	ui_index_cache_clear(u);
	index_drop_rows(u);
	u->cur = u->top = 0;
	/* Tags and collapsed threads belong to the folder's view. */
	ui_tags_clear(u);
	free(u->collapsed);
	u->collapsed = NULL;
	u->ncollapsed = 0;
}

#define FIRST_CHUNK 512
#define CHUNK 8192

/*
 * Prepend rows older than the loaded ones (ids and keys come nearest
 * first). Positions count from the oldest loaded row, so the cursor and
 * the window move down by what was added and stay on their messages.
 */
static void
index_prepend(struct ui *u, const int64_t *ids, const int64_t *keys, size_t got)
{
	size_t i;

	if (got == 0)
		return;
	u->ids = xreallocarray(u->ids, u->nids + got, sizeof *u->ids);
	memmove(u->ids + got, u->ids, u->nids * sizeof *u->ids);
	for (i = 0; i < got; i++)
		u->ids[got - 1 - i] = ids[i];
	u->nids += got;
	if (u->nids > got) {
		u->cur += got;
		u->top += got;
	}
	u->lo_key = keys[got - 1];
	u->lo_id = ids[got - 1];
}

/* Append rows newer than the loaded ones (ids and keys nearest first). */
static void
index_append(struct ui *u, const int64_t *ids, const int64_t *keys, size_t got)
{
	if (got == 0)
		return;
	u->ids = xreallocarray(u->ids, u->nids + got, sizeof *u->ids);
	memcpy(u->ids + u->nids, ids, got * sizeof *u->ids);
	u->nids += got;
	u->hi_key = keys[got - 1];
	u->hi_id = ids[got - 1];
}

/* A chunk of older (hi: newer) rows than those loaded; 1 if more are
 * left on either side. */
static int
index_more_side(struct ui *u, int hi)
{
	int64_t ids[CHUNK], keys[CHUNK];
	size_t got = 0;
	char *cause = NULL;
	int rc;

	if (!(hi ? u->partial_hi : u->partial))
		return u->partial || u->partial_hi;
	if (hi)
		rc =
		    store_index_ids_after(u->s, u->folders[u->fcur].id, u->sort,
		        u->hi_key, u->hi_id, CHUNK, ids, keys, &got, &cause);
	else
		rc = store_index_ids_before(u->s, u->folders[u->fcur].id,
		    u->sort, u->lo_key, u->lo_id, CHUNK, ids, keys, &got,
		    &cause);
	if (rc != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		got = 0;
	}
	if (hi)
		index_append(u, ids, keys, got);
	else
		index_prepend(u, ids, keys, got);
	if (got < CHUNK) {
		if (hi)
			u->partial_hi = 0;
		else
			u->partial = 0;
		if (!u->partial && !u->partial_hi)
			ui_log(u, "index-complete rows=%zu", u->nids);
	}
	u->dirty = 1;
	return u->partial || u->partial_hi;
}

int
ui_index_more(struct ui *u)
{
	return index_more_side(u, !u->partial);
}

void
ui_index_complete(struct ui *u)
{
	while (ui_index_more(u))
		;
}

/*
 * Open the default views (date or size order, oldest first) from the end
 * the cursor starts at: a screenful or so now, the rest from
 * ui_index_more() between keys. Nothing is counted first.
 */
static int
index_load_partial(struct ui *u)
{
	int64_t ids[FIRST_CHUNK], keys[FIRST_CHUNK];
	size_t got = 0;
	char *cause = NULL;

	if (store_index_ids_before(u->s, u->folders[u->fcur].id, u->sort,
	        INT64_MAX, INT64_MAX, FIRST_CHUNK, ids, keys, &got,
	        &cause) != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		return -1;
	}
	index_drop_rows(u);
	index_prepend(u, ids, keys, got);
	u->partial = got == FIRST_CHUNK;
	u->partial_hi = 0;
	if (got > 0) {
		u->hi_key = keys[0];
		u->hi_id = ids[0];
	}
	return 0;
}

/*
 * A window of the date or size order instead of the loaded rows: the
 * first rows (key INT64_MIN), or those around the message id whose sort
 * key is key, that message and what follows it first. More are loaded on
 * both open sides between keys, as from the end of index_load_partial.
 */
static int
index_window(struct ui *u, int64_t key, int64_t id)
{
	int64_t bids[FIRST_CHUNK / 2], bkeys[FIRST_CHUNK / 2];
	int64_t aids[FIRST_CHUNK], akeys[FIRST_CHUNK];
	size_t nb = 0, na = 0, more = 0;
	int64_t folder = u->folders[u->fcur].id;
	char *cause = NULL;
	int top = key == INT64_MIN;

	/* The message itself, then what follows it (ties are in UID
	 * order, so no id just below it names "from it on"). */
	if (!top) {
		aids[0] = id;
		akeys[0] = key;
		na = 1;
	}
	if ((!top &&
	        store_index_ids_before(u->s, folder, u->sort, key, id,
	            FIRST_CHUNK / 2, bids, bkeys, &nb, &cause) != 0) ||
	    store_index_ids_after(u->s, folder, u->sort, key,
	        top ? INT64_MIN : id, FIRST_CHUNK - na, aids + na, akeys + na,
	        &more, &cause) != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		return -1;
	}
	na += more;
	index_drop_rows(u);
	index_prepend(u, bids, bkeys, nb);
	index_append(u, aids, akeys, na);
	if (nb == 0 && na > 0) {
		u->lo_key = akeys[0];
		u->lo_id = aids[0];
	}
	if (na == 0 && nb > 0) {
		u->hi_key = bkeys[0];
		u->hi_id = bids[0];
	}
	u->partial = !top && nb == FIRST_CHUNK / 2;
	u->partial_hi = na == FIRST_CHUNK;
	u->cur = u->top = nb;
	u->dirty = 1;
	ui_log(u, "index-window rows=%zu%s", u->nids, top ? " first" : "");
	return 0;
}

const struct store_index_row *
ui_index_row(struct ui *u, size_t pos)
{
	struct store_index_row *r;
	int64_t id;
	char *cause = NULL;

	if (pos >= u->nids)
		return NULL;

	id = u->ids[pos];
	r = &u->cache[(uint64_t)id % UI_ROWCACHE];
	if (r->id == id)
		return r;
	store_index_row_clear(r);
	if (store_index_row(u->s, id, r, &cause) != 1) {
		free(cause);
		store_index_row_clear(r);
		return NULL;
	}
	return r;
}

/* A message id and its place in the store's order, looked up by id. */
struct id_rank {
	int64_t id;
	size_t rank;
};

static int
cmp_id_rank(const void *a, const void *b)
{
	const struct id_rank *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* A thread and the key it is sorted by. */
struct thread_ent {
	size_t key;
	size_t thread;
	size_t first, n; /* its rows in the display order */
};

static int
cmp_thread_ent(const void *a, const void *b)
{
	const struct thread_ent *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

/*
 * The rows of the folder (those in keep, when given) as mime_thread's
 * input, into *vp (n of them); their strings are in *pool.
 */
static int
thread_input(struct store *s, int64_t folder_id, const int64_t *keep,
    size_t nkeep, struct mime_thread_msg **vp, size_t *np, char **pool,
    char **cause)
{
	struct store_thread_row *rows = NULL;
	struct mime_thread_msg *v;
	size_t nrows = 0, n = 0, i;

	if (store_index_thread_rows(s, folder_id, &rows, pool, &nrows, cause) !=
	    0)
		return -1;
	v = xcalloc(nrows ? nrows : 1, sizeof *v);
	for (i = 0; i < nrows; i++) {
		if (keep != NULL &&
		    bsearch(&rows[i].id, keep, nkeep, sizeof *keep, cmp_id) ==
		        NULL)
			continue;
		v[n].id = rows[i].id;
		v[n].date = rows[i].date;
		v[n].message_id = rows[i].message_id;
		v[n].in_reply_to = rows[i].in_reply_to;
		v[n].refs = rows[i].refs;
		v[n].subject = rows[i].subject;
		n++;
	}
	free(rows); /* the strings stay, in pool */
	*vp = v;
	*np = n;
	return 0;
}

/* Each message's place in the sort order, into rank: the input's for
 * date, else the store's order looked up by id. */
static int
sort_ranks(struct store *s, int64_t folder_id, enum store_sort sort,
    const struct mime_thread_msg *v, size_t n, size_t *rank, char **cause)
{
	struct id_rank *ranks;
	int64_t *sids = NULL;
	size_t ns = 0, i;

	if (sort == STORE_SORT_DATE) {
		for (i = 0; i < n; i++)
			rank[i] = i;
		return 0;
	}
	if (store_index_ids(s, folder_id, sort, NULL, &sids, &ns, cause) != 0)
		return -1;
	ranks = xcalloc(ns ? ns : 1, sizeof *ranks);
	for (i = 0; i < ns; i++) {
		ranks[i].id = sids[i];
		ranks[i].rank = i;
	}
	free(sids);
	qsort(ranks, ns, sizeof *ranks, cmp_id_rank);
	for (i = 0; i < n; i++) {
		struct id_rank key = { v[i].id, 0 }, *r;

		r = bsearch(&key, ranks, ns, sizeof *ranks, cmp_id_rank);
		rank[i] = r != NULL ? r->rank : i;
	}
	free(ranks);
	return 0;
}

/*
 * The display order mime_thread gave (disp: the messages by it), then
 * its threads as units (te), sorted by rank: from and subject by the
 * thread's first message, date and size by its newest or largest. How
 * many threads.
 */
static size_t
thread_units(const struct mime_thread_msg *v, size_t n, const size_t *rank,
    enum store_sort sort, size_t *disp, struct thread_ent *te)
{
	size_t i, nte = 0;

	for (i = 0; i < n; i++)
		disp[v[i].order < n ? v[i].order : i] = i;
	for (i = 0; i < n; i++) {
		const struct mime_thread_msg *m = &v[disp[i]];

		if (nte == 0 ||
		    v[disp[te[nte - 1].first]].thread != m->thread) {
			te[nte].thread = m->thread;
			te[nte].first = i;
			te[nte].key = rank[disp[i]];
			nte++;
		}
		te[nte - 1].n++;
		if ((sort == STORE_SORT_DATE || sort == STORE_SORT_SIZE) &&
		    rank[disp[i]] > te[nte - 1].key)
			te[nte - 1].key = rank[disp[i]];
	}
	qsort(te, nte, sizeof *te, cmp_thread_ent);
	return nte;
}

int
ui_thread_order(struct store *s, int64_t folder_id, enum store_sort sort,
    int reverse, const int64_t *keep, size_t nkeep, int64_t **idsp,
    uint8_t **depthp, size_t *np, char **cause)
{
	struct mime_thread_msg *v = NULL;
	struct thread_ent *te = NULL;
	int64_t *ids;
	uint8_t *depths;
	char *pool = NULL;
	size_t n = 0, i, k, out = 0, nte;
	size_t *rank = NULL, *disp = NULL;
	int ret = -1;

	if (thread_input(s, folder_id, keep, nkeep, &v, &n, &pool, cause) != 0)
		goto out;
	mime_thread(v, n);
	rank = xcalloc(n ? n : 1, sizeof *rank);
	if (sort_ranks(s, folder_id, sort, v, n, rank, cause) != 0)
		goto out;
	disp = xcalloc(n ? n : 1, sizeof *disp);
	te = xcalloc(n ? n : 1, sizeof *te);
	nte = thread_units(v, n, rank, sort, disp, te);

	ids = xcalloc(n ? n : 1, sizeof *ids);
	depths = xcalloc(n ? n : 1, 1);
	for (k = 0; k < nte; k++) {
		const struct thread_ent *t = &te[reverse ? nte - 1 - k : k];

		for (i = 0; i < t->n; i++) {
			const struct mime_thread_msg *m =
			    &v[disp[t->first + i]];
			int d =
			    m->depth > UI_DEPTH_MASK ? UI_DEPTH_MASK : m->depth;

			ids[out] = m->id;
			depths[out++] =
			    (uint8_t)(d | (i == 0 ? UI_THREAD_START : 0));
		}
	}
	*idsp = ids;
	*depthp = depths;
	*np = out;
	ret = 0;
out:
	free(pool);
	free(v);
	free(rank);
	free(disp);
	free(te);
	return ret;
}

int
ui_match_ids(struct store *s, int64_t folder_id, enum store_sort sort,
    const char *text, int64_t **ids, size_t *n, char **cause)
{
	struct pattern *p = NULL;
	int ret;

	if (pattern_parse(text, 0, &p, NULL, cause) != 0)
		return -1;
	ret = store_search(s, 0, folder_id, p, sort, ids, n, cause);
	pattern_free(&p);
	return ret;
}

/*
 * The folder's ids in order, kept when in ids[0..n) or extra[0..nextra):
 * the store's matches joined by the server's. A message whose text the
 * store does not hold is the server's to answer: the store's guess from
 * its envelope ("!~b word" holds for all of them) is dropped. ids is
 * replaced.
 */
static int
join_extra(struct store *s, int64_t folder_id, enum store_sort sort,
    int64_t **ids, size_t *n, const int64_t *extra, size_t nextra, char **cause)
{
	int64_t *all = NULL, *want;
	size_t nall = 0, nw = 0, i, k = 0;
	int body;

	if (store_index_ids(s, folder_id, sort, NULL, &all, &nall, cause) != 0)
		return -1;
	want = xreallocarray(NULL, *n + nextra + 1, sizeof *want);
	for (i = 0; i < *n; i++) {
		if ((body = store_fts_has_body(s, (*ids)[i], cause)) < 0) {
			free(want);
			free(all);
			return -1;
		}
		if (body)
			want[nw++] = (*ids)[i];
	}
	memcpy(want + nw, extra, nextra * sizeof *want);
	nw += nextra;
	qsort(want, nw, sizeof *want, cmp_id);
	for (i = 0; i < nall; i++) {
		if (bsearch(&all[i], want, nw, sizeof *want, cmp_id) != NULL)
			all[k++] = all[i];
	}
	free(want);
	free(*ids);
	*ids = all;
	*n = k;
	return 0;
}

/* Every id of the open folder in the current order (not the partial
 * path); pure of ui state like ui_thread_order. */
int
ui_order_ids(struct store *s, int64_t folder_id, enum store_sort sort,
    int reverse, int threaded, const char *limit, const int64_t *extra,
    size_t nextra, int64_t **idsp, uint8_t **depthp, size_t *np, char **cause)
{
	int64_t *ids = NULL;
	size_t n = 0, i;

	*depthp = NULL;
	if (threaded && limit == NULL)
		return ui_thread_order(s, folder_id, sort, reverse, NULL, 0,
		    idsp, depthp, np, cause);
	if ((limit != NULL
	            ? ui_match_ids(s, folder_id, sort, limit, &ids, &n, cause)
	            : store_index_ids(
	                  s, folder_id, sort, NULL, &ids, &n, cause)) != 0)
		return -1;
	if (limit != NULL && extra != NULL &&
	    join_extra(s, folder_id, sort, &ids, &n, extra, nextra, cause) !=
	        0) {
		free(ids);
		return -1;
	}
	if (threaded) {
		/* The matches threaded among themselves. */
		int ret;

		qsort(ids, n, sizeof *ids, cmp_id);
		ret = ui_thread_order(s, folder_id, sort, reverse, ids, n, idsp,
		    depthp, np, cause);
		free(ids);
		return ret;
	}
	if (reverse) {
		for (i = 0; i < n / 2; i++) {
			int64_t tmp = ids[i];
			ids[i] = ids[n - 1 - i];
			ids[n - 1 - i] = tmp;
		}
	}
	*idsp = ids;
	*np = n;
	return 0;
}

void
ui_index_install(struct ui *u, int64_t *ids, uint8_t *depth, size_t n,
    int64_t keep_id, size_t row)
{
	size_t i;

	index_drop_rows(u);
	if (depth != NULL) {
		u->tids = ids;
		u->tdepth = depth;
		u->ntids = n;
		thread_view(u);
		if (keep_id != 0)
			keep_id = shown_id(u, keep_id);
	} else {
		u->ids = ids;
		u->nids = n;
	}
	u->partial = u->partial_hi = 0;
	ui_index_cache_clear(u);
	if (keep_id != 0) {
		for (i = 0; i < u->nids; i++) {
			if (u->ids[i] == keep_id) {
				u->cur = i;
				break;
			}
		}
		if (i == u->nids && u->cur >= u->nids)
			u->cur = u->nids ? u->nids - 1 : 0;
		u->top = u->cur >= row ? u->cur - row : 0;
	} else {
		u->cur = u->nids && !u->reverse ? u->nids - 1 : 0;
		u->top = u->cur;
	}
	u->dirty = 1;
}

/* The loader has the folder to order: said, and timed from t. */
static void
loader_queued(struct ui *u, uint64_t t, const char *what)
{
	u->loading_index = 1;
	u->load_t0 = t;
	ui_message(u, 0, "%s…", what);
	ui_log(
	    u, "index-load queued gen=%llu", (unsigned long long)u->load_gen);
}

/*
 * The date order, walked a page at a time from the newest rows, with the
 * cursor kept on keep_id (at screen row row) when it is loaded; a window
 * away from the newest rows (windowed) stays where it is. 1 when that is
 * all (the window kept, an error said, or the loader asked), else 0.
 */
static int
load_by_date(struct ui *u, int64_t keep_id, int windowed, size_t row,
    size_t oldcur, uint64_t t)
{
	int64_t folder = u->folders[u->fcur].id;
	int chunks = 0; /* past the first screenful or so */
	size_t i;

	if (windowed) {
		struct store_index_row r;

		if (store_index_row(u->s, keep_id, &r, NULL) == 1 &&
		    index_window(u, r.date, keep_id) == 0 && u->cur < u->nids &&
		    u->ids[u->cur] == keep_id) {
			store_index_row_clear(&r);
			u->top = u->cur >= row ? u->cur - row : 0;
			return 1;
		}
		store_index_row_clear(&r);
	}
	if (index_load_partial(u) != 0)
		return 1;
	if (keep_id == 0) {
		u->cur = u->nids ? u->nids - 1 : 0;
		return 0;
	}
	/* Load from the end until the cursor's message is in; it is usually
	 * near the end. When it is not, a big folder goes to the loader
	 * instead. */
	u->cur = u->top = 0;
	for (;;) {
		for (i = u->nids; i > 0; i--) {
			if (u->ids[i - 1] == keep_id)
				break;
		}
		if (i > 0 || !u->partial)
			break;
		if (++chunks > 0 && u->folders[u->fcur].total >= UI_ASYNC_MIN &&
		    ui_loader_request(u, folder) == 0) {
			u->cur = u->nids ? u->nids - 1 : 0;
			u->partial = u->partial_hi = 0;
			u->load_keep = keep_id;
			u->load_cur_id = u->nids ? u->ids[u->cur] : 0;
			loader_queued(u, t, "Sorting");
			return 1;
		}
		ui_index_more(u);
	}
	u->cur = i > 0         ? i - 1
	    : oldcur < u->nids ? oldcur
	    : u->nids          ? u->nids - 1
	                       : 0;
	u->top = u->cur >= row ? u->cur - row : 0;
	return 0;
}

void
ui_index_load(struct ui *u, int keep)
{
	int64_t keep_id = 0, *ids = NULL, folder;
	uint8_t *depth = NULL;
	size_t n = 0;
	char *cause = NULL;
	uint64_t t = ui_now_us();
	size_t row = u->cur >= u->top ? u->cur - u->top : 0, oldcur = u->cur;
	int windowed;

	if (u->nfolders == 0) {
		ui_index_free(u);
		return;
	}
	folder = u->folders[u->fcur].id;
	if (keep && u->cur < u->nids && u->ids_folder == folder)
		keep_id = u->ids[u->cur];
	/* A window away from the newest rows stays where it is. */
	windowed = keep_id != 0 && u->partial_hi;
	/* A result still on its way from the loader is out of date now. */
	u->load_gen++;
	u->loading_index = 0;
	if (u->ids_folder != folder) {
		ui_index_free(u);
		u->ids_folder = folder;
	}
	u->partial = u->partial_hi = 0;
	/*
	 * Only the date order has an index to walk a page at a time; the
	 * others are sorted whole, in the loader for a big folder.
	 */
	if (!u->threaded && u->limit == NULL && !u->reverse &&
	    u->sort == STORE_SORT_DATE) {
		if (load_by_date(u, keep_id, windowed, row, oldcur, t))
			return;
	} else if ((u->folders[u->fcur].total >= UI_ASYNC_MIN ||
	               u->folders[u->fcur].total < 0) &&
	    ui_loader_request(u, folder) == 0) {
		/* Sorting or threading a big folder (or one not counted
		 * yet) takes longer than a key may: the loader does it while
		 * the old order stays usable, and ui_index_loaded() puts the
		 * result in. */
		u->load_keep = u->load_cur_id = keep_id;
		loader_queued(u, t,
		    u->threaded    ? "Threading"
		        : u->limit ? "Searching"
		                   : "Sorting");
		return;
	} else {
		if (ui_order_ids(u->s, folder, u->sort, u->reverse, u->threaded,
		        u->limit, u->limit_extra, u->nlimit_extra, &ids, &depth,
		        &n, &cause) != 0) {
			ui_message(u, 1, "%s", cause);
			free(cause);
			return;
		}
		ui_index_install(u, ids, depth, n, keep_id, row);
	}
	ui_log(u, "index-load rows=%zu%s %.3f ms", u->nids,
	    u->partial ? " partial" : "", (double)(ui_now_us() - t) / 1000);
	u->dirty = 1;
}

void
ui_index_loaded(struct ui *u, uint64_t gen, int64_t *ids, uint8_t *depth,
    size_t n, char *error)
{
	size_t row = u->cur >= u->top ? u->cur - u->top : 0;
	int64_t keep_id;

	if (gen != u->load_gen || !u->loading_index) {
		free(ids);
		free(depth);
		free(error);
		return;
	}
	u->loading_index = 0;
	if (error != NULL) {
		ui_message(u, 1, "%s", error);
		free(error);
		return;
	}
	/* The message the cursor was on when the order was asked for,
	 * unless the cursor moved since. */
	keep_id = u->cur < u->nids ? u->ids[u->cur] : 0;
	if (keep_id == u->load_cur_id)
		keep_id = u->load_keep;
	ui_index_install(u, ids, depth, n, keep_id, row);
	if (u->msg != NULL && !u->msg_error) {
		free(u->msg);
		u->msg = NULL;
	}
	ui_log(u, "index-load async rows=%zu %.3f ms", u->nids,
	    (double)(ui_now_us() - u->load_t0) / 1000);
}

/* Is the addr-spec one of the accounts' own From addresses? */
static int
own_address(struct ui *u, const char *spec)
{
	struct rc *rc = u->t->rc;
	int own = 0;

	for (size_t i = 0; spec != NULL && !own && i < rc->naccounts; i++) {
		char *a = rc->accounts[i].from != NULL
		    ? compose_addr_spec(rc->accounts[i].from)
		    : NULL;

		own = a != NULL && ascii_strcasecmp(a, spec) == 0;
		free(a);
	}
	return own;
}

/* Is from one of the addresses the accounts send as? */
static int
from_me(struct ui *u, const char *from)
{
	char *spec = from != NULL ? compose_addr_spec(from) : NULL;
	int yes = own_address(u, spec);

	free(spec);
	return yes;
}

/* "To <list>" when a subscribed list is among the recipients (its
 * local part, as mutt's %L), else NULL. */
static char *
list_name(struct ui *u, const struct store_index_row *r)
{
	const char *lists[2] = { r->to, r->cc };
	char *name = NULL;

	if (u->t->rc->nsubscribed == 0)
		return NULL;
	for (size_t k = 0; name == NULL && k < 2; k++) {
		char **v =
		    lists[k] != NULL ? compose_addr_list(lists[k]) : NULL;

		for (size_t i = 0; v != NULL && name == NULL && v[i] != NULL;
		     i++) {
			if (rc_is_list(u->t->rc, v[i], 1))
				name = xasprintf(
				    "To %.*s", (int)strcspn(v[i], "@"), v[i]);
		}
		compose_strv_free(v);
	}
	return name;
}

/*
 * The index's From column, as mutt's %F and %L: "To <list>" for mail to
 * a subscribed list, "To recipient" for one's own mail, else the
 * sender's name.
 */
static char *
who(struct ui *u, const struct store_index_row *r)
{
	char *name;

	if ((name = list_name(u, r)) != NULL)
		return name;
	if (from_me(u, r->from))
		name = indexfmt_to_name(r->to);
	return name != NULL ? name : indexfmt_name(r->from);
}

/* A row's flag column: new or deleted, tagged or flagged, replied, has
 * attachments. */
static void
row_flags(struct ui *u, const struct store_index_row *r, char flags[5])
{
	flags[0] = r->flags & STORE_F_DELETED ? 'D'
	    : !(r->flags & STORE_F_SEEN)      ? 'N'
	                                      : ' ';
	/* A tag shows where the flag does, as in mutt. */
	flags[1] = ui_tagged(u, r->id)   ? '*'
	    : r->flags & STORE_F_FLAGGED ? '!'
	                                 : ' ';
	flags[2] = r->flags & STORE_F_REPLIED ? 'r' : ' ';
	flags[3] = r->has_attach ? '@' : ' ';
	flags[4] = '\0';
}

static int
row_attr(struct ui *u, const struct store_index_row *r, size_t pos)
{
	if (pos == u->cur)
		return u->attr[UI_C_CURSOR];
	if (r->flags & STORE_F_DELETED)
		return u->attr[UI_C_INDEX_DEL];
	if (r->flags & STORE_F_FLAGGED)
		return u->attr[UI_C_INDEX_FLAG];
	if (!(r->flags & STORE_F_SEEN))
		return u->attr[UI_C_INDEX_NEW];
	return u->attr[UI_C_INDEX];
}

/* The subject as the row shows it: the thread's tree in front, and how
 * many messages a collapsed thread hides (malloc'd). */
static char *
row_subject(struct ui *u, const struct store_index_row *r, size_t pos)
{
	unsigned hidden = u->hidden != NULL ? u->hidden[pos] : 0;
	struct buf b;
	int d;

	if (u->depth == NULL || (u->depth[pos] & UI_DEPTH_MASK) == 0) {
		const char *subj = r->subject ? r->subject : "(no subject)";

		return hidden > 0 ? xasprintf("(+%u) %s", hidden, subj)
		                  : xstrdup(subj);
	}
	d = u->depth[pos] & UI_DEPTH_MASK;
	if (d > 10)
		d = 10;
	buf_init(&b, 0);
	for (int i = 1; i < d; i++)
		buf_adds(&b, " ");
	buf_adds(&b, "└─>");
	if (hidden > 0)
		buf_printf(&b, "(+%u) ", hidden);
	buf_adds(&b, r->subject ? r->subject : "");
	return buf_steal(&b, NULL);
}

/* The row as the rc's index_format says. */
static void
draw_row_format(struct ui *u, const struct store_index_row *r, size_t pos,
    const char *flags, const char *subj, int y, int x, int w, int attr)
{
	struct indexfmt_row ir = { flags, r->date, r->size, r->from, subj,
		pos + 1, r->to, from_me(u, r->from) };
	struct buf b;

	ui_put(y, x, 1, pos == u->cur ? ">" : " ", attr);
	if (w <= 1)
		return;
	buf_init(&b, 0);
	indexfmt_line(
	    u->t->rc->index_format, u->t->rc->date_format, &ir, time(NULL), &b);
	ui_put(y, x + 1, w - 1, b.data ? b.data : "", attr);
	buf_free(&b);
}

/* The date column: the rc's date_format, else the short date. */
static void
row_date(struct ui *u, int64_t date, char *out, size_t len)
{
	struct indexfmt_row ir = { NULL, date, 0, NULL, NULL, 0, NULL, 0 };
	struct buf b;

	if (u->t->rc->date_format == NULL) {
		indexfmt_short_date(date, time(NULL), out, len);
		return;
	}
	buf_init(&b, 0);
	indexfmt_line("%d", u->t->rc->date_format, &ir, time(NULL), &b);
	snprintf(out, len, "%s", b.data ? b.data : "");
	buf_free(&b);
}

static void
draw_row(struct ui *u, size_t pos, int y, int x, int w)
{
	const struct store_index_row *r = ui_index_row(u, pos);
	char flags[5], date[32], size[32], *name, *subj;
	int attr, fw, col;

	if (r == NULL) {
		ui_put(y, x, w, "  (gone)", u->attr[UI_C_INDEX]);
		return;
	}
	row_flags(u, r, flags);
	attr = row_attr(u, r, pos);
	subj = row_subject(u, r, pos);
	if (u->t->rc->index_format != NULL) {
		draw_row_format(u, r, pos, flags, subj, y, x, w, attr);
		free(subj);
		return;
	}
	row_date(u, r->date, date, sizeof date);
	indexfmt_size(r->size, size, sizeof size);
	name = who(u, r);
	fw = w / 4;
	if (fw < 12)
		fw = 12;
	if (fw > 28)
		fw = 28;

	/* " NF!@ date       sender         size subject" */
	ui_put(y, x, 1, pos == u->cur ? ">" : " ", attr);
	col = 1;
	ui_put(y, x + col, 5, flags, attr);
	col += 5;
	if (w - col > 11) {
		ui_put(y, x + col, 11, date, attr);
		col += 11;
	}
	if (w - col > fw + 1) {
		/* A name as wide as its column keeps a space after it: it
		 * must not run into the subject. */
		ui_put_cut(y, x + col, fw, name, attr);
		ui_put(y, x + col + fw, 1, " ", attr);
		col += fw + 1;
	}
	if (w - col > 7 + 10) {
		char sz[40];

		snprintf(sz, sizeof sz, "%6s ", size);
		ui_put(y, x + col, 7, sz, attr);
		col += 7;
	}
	if (w - col > 0)
		ui_put(y, x + col, w - col, subj, attr);
	free(name);
	free(subj);
}

void
ui_index_draw(struct ui *u, int y, int x, int h, int w)
{
	size_t i;

	if (h <= 0)
		return;
	/* Keep the cursor on screen, moving the window as little as can be. */
	if (u->cur < u->top)
		u->top = u->cur;
	if (u->cur >= u->top + (size_t)h)
		u->top = u->cur - (size_t)h + 1;
	if (u->nids > (size_t)h && u->top > u->nids - (size_t)h)
		u->top = u->nids - (size_t)h;
	if (u->nids <= (size_t)h)
		u->top = 0;
	for (i = 0; i < (size_t)h; i++) {
		if (u->top + i < u->nids)
			draw_row(u, u->top + i, y + (int)i, x, w);
		else if (i == 0 && u->nids == 0)
			ui_put(y, x, w,
			    u->loading_index ? "  Loading…"
			        : u->limit   ? "  No message matches the limit"
			                     : "  No messages in this folder",
			    u->attr[UI_C_INDEX]);
		else
			ui_put(y + (int)i, x, w, "", u->attr[UI_C_INDEX]);
	}
}

/*
 * A search in a folder loaded a window at a time: the matches come from
 * the store in date order with their dates, the first one past the
 * cursor's message is found by bisection, and the window moves there
 * when it is not loaded.
 */
static int
index_search_window(struct ui *u, const char *text, int dir, size_t from)
{
	int64_t folder = u->folders[u->fcur].id, cur = u->ids[from];
	int64_t *ids = NULL, *dates = NULL, id, key;
	struct store_index_row r;
	struct pattern *p = NULL;
	char *cause = NULL;
	size_t n = 0, lo, hi, mid, i, j;
	int found = 0, wrapped = 0, after;

	memset(&r, 0, sizeof r);
	if (pattern_parse(text, 0, &p, NULL, &cause) != 0 ||
	    store_search_dated(u->s, 0, folder, p, STORE_SORT_DATE, &ids,
	        &dates, &n, &cause) != 0 ||
	    store_index_row(u->s, cur, &r, &cause) != 1) {
		if (cause != NULL)
			ui_message(u, 1, "%s", cause);
		free(cause);
		goto out;
	}
	if (n == 0)
		goto out;
	/* lo: the first match after the cursor's (date, uid) for dir 1, at
	 * or after it for dir -1 (the index's order: ties by UID). */
	lo = 0;
	hi = n;
	while (lo < hi) {
		uint32_t uid = 0;

		mid = lo + (hi - lo) / 2;
		if (dates[mid] == r.date) {
			struct store_index_row t;

			if (store_index_row(u->s, ids[mid], &t, NULL) == 1)
				uid = t.uid;
			store_index_row_clear(&t);
		}
		after = dates[mid] > r.date ||
		    (dates[mid] == r.date &&
		        (dir > 0 ? uid > r.uid : uid >= r.uid));
		if (after)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (dir > 0) {
		wrapped = lo == n;
		j = wrapped ? 0 : lo;
	} else {
		wrapped = lo == 0;
		j = wrapped ? n - 1 : lo - 1;
	}
	id = ids[j];
	key = dates[j];
	for (i = 0; i < u->nids && u->ids[i] != id; i++)
		;
	if (i == u->nids) {
		if (index_window(u, key, id) != 0)
			goto out;
		for (i = 0; i < u->nids && u->ids[i] != id; i++)
			;
		if (i == u->nids)
			goto out;
	}
	if (wrapped)
		ui_message(u, 0, "Search wrapped");
	u->cur = i;
	found = 1;
out:
	store_index_row_clear(&r);
	pattern_free(&p);
	free(ids);
	free(dates);
	return found;
}

/*
 * Move the cursor to the next (dir 1) or previous (dir -1) message after
 * position from that matches the pattern pat (tern/pattern.h). Returns 1
 * found, 0 not found (or a malformed pattern, said in the status line).
 */
int
ui_index_search(struct ui *u, const char *pat, int dir, size_t from)
{
	int64_t *m = NULL;
	size_t n = 0, i, k;
	char *cause = NULL;
	int found = 0;

	if (u->nids == 0 || u->nfolders == 0)
		return 0;
	if (from >= u->nids)
		from = u->nids - 1;
	if ((u->partial || u->partial_hi) && u->sort == STORE_SORT_DATE &&
	    !u->threaded && u->limit == NULL && !u->reverse)
		return index_search_window(u, pat, dir, from);
	ui_index_complete(u);
	if (ui_match_ids(u->s, u->folders[u->fcur].id, STORE_SORT_DATE, pat, &m,
	        &n, &cause) != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		return 0;
	}
	if (n > 0) /* m is NULL when nothing matched */
		qsort(m, n, sizeof *m, cmp_id);
	for (k = 1; k <= u->nids && n > 0; k++) {
		i = dir > 0 ? (from + k) % u->nids
		            : (from + u->nids - k % u->nids) % u->nids;
		if (bsearch(&u->ids[i], m, n, sizeof *m, cmp_id) != NULL) {
			if ((dir > 0 && i <= from) || (dir < 0 && i >= from))
				ui_message(u, 0, "Search wrapped");
			u->cur = i;
			found = 1;
			break;
		}
	}
	free(m);
	return found;
}

int
ui_index_key(struct ui *u, enum ui_fn fn)
{
	size_t page = LINES > 4 ? (size_t)LINES - 3 : 1;

	/*
	 * A big folder is loaded a window at a time: the first and the last
	 * message are a window away, going up or down past what is loaded
	 * is a chunk more.
	 */
	if (fn == UI_FN_FIRST && u->partial &&
	    index_window(u, INT64_MIN, INT64_MIN) == 0)
		return 1;
	if (fn == UI_FN_LAST && u->partial_hi && index_load_partial(u) == 0) {
		u->cur = u->nids ? u->nids - 1 : 0;
		return 1;
	}
	if (u->partial && (fn == UI_FN_FIRST || u->cur < page + 1))
		index_more_side(u, 0);
	if (u->partial_hi &&
	    (fn == UI_FN_NEXT_UNREAD || u->cur + page + 1 >= u->nids))
		index_more_side(u, 1);
	switch (fn) {
	case UI_FN_NEXT:
		if (u->cur + 1 < u->nids)
			u->cur++;
		break;
	case UI_FN_PREV:
		if (u->cur > 0)
			u->cur--;
		break;
	case UI_FN_PAGE_DOWN:
	case UI_FN_HALF_DOWN:
		if (fn == UI_FN_HALF_DOWN)
			page = page / 2 ? page / 2 : 1;
		u->cur = u->cur + page < u->nids ? u->cur + page
		    : u->nids                    ? u->nids - 1
		                                 : 0;
		u->top += page;
		break;
	case UI_FN_PAGE_UP:
	case UI_FN_HALF_UP:
		if (fn == UI_FN_HALF_UP)
			page = page / 2 ? page / 2 : 1;
		u->cur = u->cur > page ? u->cur - page : 0;
		u->top = u->top > page ? u->top - page : 0;
		break;
	case UI_FN_FIRST:
		u->cur = 0;
		break;
	case UI_FN_LAST:
		u->cur = u->nids ? u->nids - 1 : 0;
		break;
	case UI_FN_NEXT_UNREAD: {
		size_t i;

		for (i = u->cur + 1; i < u->nids; i++) {
			const struct store_index_row *r = ui_index_row(u, i);

			if (r != NULL && !(r->flags & STORE_F_SEEN))
				break;
			/* Only scan what a person would: a few pages. */
			if (i - u->cur > 5000)
				break;
		}
		if (i < u->nids && i - u->cur <= 5000)
			u->cur = i;
		else
			ui_message(u, 0, "No new messages below");
		break;
	}
	default:
		return 0;
	}
	return 1;
}
