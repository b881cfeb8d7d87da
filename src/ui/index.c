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

#include "tern/pattern.h"
#include "ui-private.h"

void
ui_index_cache_clear(struct ui *u)
{
	for (size_t i = 0; i < UI_ROWCACHE; i++)
		store_index_row_clear(&u->cache[i]);
}

/* The loaded rows gone (the cursor left where it is). */
static void
index_drop_rows(struct ui *u)
{
	free(u->ids);
	free(u->depth);
	u->ids = NULL;
	u->depth = NULL;
	u->nids = 0;
}

void
ui_index_free(struct ui *u)
{
	ui_index_cache_clear(u);
	index_drop_rows(u);
	u->cur = u->top = 0;
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
	size_t nb = 0, na = 0;
	int64_t folder = u->folders[u->fcur].id;
	char *cause = NULL;
	int top = key == INT64_MIN;

	if ((!top &&
	        store_index_ids_before(u->s, folder, u->sort, key, id,
	            FIRST_CHUNK / 2, bids, bkeys, &nb, &cause) != 0) ||
	    store_index_ids_after(u->s, folder, u->sort, key,
	        top ? INT64_MIN : id - 1, FIRST_CHUNK, aids, akeys, &na,
	        &cause) != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		return -1;
	}
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

/*
 * Thread a folder: a message's parent is the message its In-Reply-To
 * (or last Reference) names, when that one is older in date order (which
 * also rules out cycles). Roots in date order (newest first when
 * reverse), each followed by its replies depth first. Pure of ui state,
 * so the background loader can run it on its own store handle.
 */
int
ui_thread_order(struct store *s, int64_t folder_id, int reverse, int64_t **idsp,
    uint8_t **depthp, size_t *np, char **cause)
{
	struct store_thread_key *k = NULL;
	size_t n = 0, i, cap, *tab = NULL, *parent = NULL, *first = NULL,
	       *next = NULL, *last = NULL, *stack = NULL, out = 0;
	int64_t *ids;
	uint8_t *depths;

	if (store_index_thread_keys(s, folder_id, &k, &n, cause) != 0)
		return -1;
	for (cap = 16; cap < n * 2; cap *= 2)
		;
	tab = xcalloc(cap, sizeof *tab); /* index + 1, 0 empty */
	parent = xcalloc(n ? n : 1, sizeof *parent);
	first = xcalloc(n ? n : 1, sizeof *first);
	next = xcalloc(n ? n : 1, sizeof *next);
	last = xcalloc(n ? n : 1, sizeof *last);
	for (i = 0; i < n; i++) {
		size_t h, p = 0;

		if (k[i].parent != 0) {
			for (h = k[i].parent & (cap - 1); tab[h];
			     h = (h + 1) & (cap - 1)) {
				if (k[tab[h] - 1].msgid == k[i].parent) {
					p = tab[h];
					break;
				}
			}
		}
		parent[i] = p; /* index + 1 of an older message, or 0 */
		if (p != 0) {
			if (first[p - 1] == 0)
				first[p - 1] = i + 1;
			else
				next[last[p - 1] - 1] = i + 1;
			last[p - 1] = i + 1;
		}
		if (k[i].msgid != 0) {
			for (h = k[i].msgid & (cap - 1); tab[h];
			     h = (h + 1) & (cap - 1)) {
				if (k[tab[h] - 1].msgid == k[i].msgid)
					break;
			}
			if (tab[h] == 0)
				tab[h] = i + 1;
		}
	}
	ids = xcalloc(n ? n : 1, sizeof *ids);
	depths = xcalloc(n ? n : 1, 1);
	stack = xcalloc(n ? n : 1, sizeof *stack);
	for (size_t r = 0; r < n; r++) {
		size_t root = reverse ? n - 1 - r : r, sp = 0;

		if (parent[root] != 0)
			continue;
		stack[sp++] = root + 1;
		while (sp > 0) {
			size_t m = stack[--sp] - 1, c, depth = 0, q;

			for (q = parent[m]; q != 0 && depth < 255;
			     q = parent[q - 1])
				depth++;
			ids[out] = k[m].id;
			depths[out++] = (uint8_t)depth;
			/* Push children in reverse so the oldest comes out
			 * first: collect them, then push backwards. */
			size_t base = sp;
			for (c = first[m]; c != 0; c = next[c - 1])
				stack[sp++] = c;
			for (size_t a = base, b = sp - 1; a < b && sp > base;
			     a++, b--) {
				size_t tmp = stack[a];
				stack[a] = stack[b];
				stack[b] = tmp;
			}
		}
	}
	*idsp = ids;
	*depthp = depths;
	*np = out;
	free(k);
	free(tab);
	free(parent);
	free(first);
	free(next);
	free(last);
	free(stack);
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
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
	if (threaded && limit == NULL && sort == STORE_SORT_DATE)
		return ui_thread_order(
		    s, folder_id, reverse, idsp, depthp, np, cause);
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

	free(u->ids);
	free(u->depth);
	u->ids = ids;
	u->depth = depth;
	u->nids = n;
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

void
ui_index_load(struct ui *u, int keep)
{
	int64_t keep_id = 0, *ids = NULL, folder;
	uint8_t *depth = NULL;
	size_t n = 0, i;
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
		if (windowed) {
			struct store_index_row r;

			if (store_index_row(u->s, keep_id, &r, NULL) == 1 &&
			    index_window(u, r.date, keep_id) == 0 &&
			    u->cur < u->nids && u->ids[u->cur] == keep_id) {
				store_index_row_clear(&r);
				u->top = u->cur >= row ? u->cur - row : 0;
				return;
			}
			store_index_row_clear(&r);
		}
		if (index_load_partial(u) != 0)
			return;
		if (keep_id != 0) {
			int chunks = 0; /* past the first screenful or so */

			/* Load from the end until the cursor's message is
			 * in; it is usually near the end. When it is not,
			 * a big folder goes to the loader instead. */
			u->cur = u->top = 0;
			for (;;) {
				for (i = u->nids; i > 0; i--) {
					if (u->ids[i - 1] == keep_id)
						break;
				}
				if (i > 0 || !u->partial)
					break;
				if (++chunks > 0 &&
				    u->folders[u->fcur].total >= UI_ASYNC_MIN &&
				    ui_loader_request(u, folder) == 0) {
					u->cur = u->nids ? u->nids - 1 : 0;
					u->partial = u->partial_hi = 0;
					u->load_keep = keep_id;
					u->load_cur_id =
					    u->nids ? u->ids[u->cur] : 0;
					u->loading_index = 1;
					u->load_t0 = t;
					ui_message(u, 0, "Sorting…");
					ui_log(u, "index-load queued gen=%llu",
					    (unsigned long long)u->load_gen);
					return;
				}
				ui_index_more(u);
			}
			u->cur = i > 0         ? i - 1
			    : oldcur < u->nids ? oldcur
			    : u->nids          ? u->nids - 1
			                       : 0;
			u->top = u->cur >= row ? u->cur - row : 0;
		} else
			u->cur = u->nids ? u->nids - 1 : 0;
	} else if ((u->folders[u->fcur].total >= UI_ASYNC_MIN ||
	               u->folders[u->fcur].total < 0) &&
	    ui_loader_request(u, folder) == 0) {
		/* Sorting or threading a big folder (or one not counted
		 * yet) takes longer than a key may: the loader does it while
		 * the old order stays usable, and ui_index_loaded() puts the
		 * result in. */
		u->loading_index = 1;
		u->load_t0 = t;
		u->load_keep = u->load_cur_id = keep_id;
		ui_message(u, 0, "%s…",
		    u->threaded    ? "Threading"
		        : u->limit ? "Searching"
		                   : "Sorting");
		ui_log(u, "index-load queued gen=%llu",
		    (unsigned long long)u->load_gen);
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

static void
short_date(int64_t d, char *out, size_t len)
{
	time_t tt = (time_t)d, now = time(NULL);
	struct tm tm, tn;

	if (d <= 0 || localtime_r(&tt, &tm) == NULL ||
	    localtime_r(&now, &tn) == NULL) {
		snprintf(out, len, "%s", "?");
		return;
	}
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(out, len, "%H:%M", &tm);
	else if (tm.tm_year == tn.tm_year)
		strftime(out, len, "%b %d", &tm);
	else
		strftime(out, len, "%Y-%m-%d", &tm);
}

/* The display name of an address ("Name <a@b>" -> Name), malloc'd. */
static char *
sender_name(const char *from)
{
	const char *lt;
	size_t a, b;

	if (from == NULL)
		return xstrdup("");
	if ((lt = strchr(from, '<')) == NULL || lt == from)
		return xstrdup(from);
	a = 0;
	b = (size_t)(lt - from);
	while (a < b && (from[a] == ' ' || from[a] == '"'))
		a++;
	while (b > a && (from[b - 1] == ' ' || from[b - 1] == '"'))
		b--;
	if (a == b)
		return xstrdup(from);
	return xstrndup(from + a, b - a);
}

static void
size_str(int64_t n, char *out, size_t len)
{
	if (n < 1000)
		snprintf(out, len, "%lld", (long long)n);
	else if (n < 1000 * 1024)
		snprintf(out, len, "%lldK", (long long)((n + 1023) / 1024));
	else
		snprintf(out, len, "%.1fM", (double)n / (1024 * 1024));
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
	flags[0] = r->flags & STORE_F_DELETED ? 'D'
	    : !(r->flags & STORE_F_SEEN)      ? 'N'
	                                      : ' ';
	flags[1] = r->flags & STORE_F_FLAGGED ? '!' : ' ';
	flags[2] = r->flags & STORE_F_REPLIED ? 'r' : ' ';
	flags[3] = r->has_attach ? '@' : ' ';
	flags[4] = '\0';
	if (pos == u->cur)
		attr = u->attr[UI_C_CURSOR];
	else if (r->flags & STORE_F_DELETED)
		attr = u->attr[UI_C_INDEX_DEL];
	else if (r->flags & STORE_F_FLAGGED)
		attr = u->attr[UI_C_INDEX_FLAG];
	else if (!(r->flags & STORE_F_SEEN))
		attr = u->attr[UI_C_INDEX_NEW];
	else
		attr = u->attr[UI_C_INDEX];
	short_date(r->date, date, sizeof date);
	size_str(r->size, size, sizeof size);
	name = sender_name(r->from);
	fw = w / 4;
	if (fw < 12)
		fw = 12;
	if (fw > 28)
		fw = 28;
	if (u->depth != NULL && u->depth[pos] > 0) {
		struct buf b;
		int d = u->depth[pos] > 10 ? 10 : u->depth[pos];

		buf_init(&b, 0);
		for (int i = 1; i < d; i++)
			buf_adds(&b, " ");
		buf_adds(&b, "└─>");
		buf_adds(&b, r->subject ? r->subject : "");
		subj = buf_steal(&b, NULL);
	} else
		subj = xstrdup(r->subject ? r->subject : "(no subject)");

	/* " NF!@ date       sender         size subject" */
	col = 0;
	ui_put(y, x, 1, pos == u->cur ? ">" : " ", attr);
	col = 1;
	ui_put(y, x + col, 5, flags, attr);
	col += 5;
	if (w - col > 11) {
		ui_put(y, x + col, 11, date, attr);
		col += 11;
	}
	if (w - col > fw + 1) {
		ui_put(y, x + col, fw + 1, name, attr);
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
	/* lo: the first match after the cursor's (date, id) for dir 1, at
	 * or after it for dir -1. */
	lo = 0;
	hi = n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		after = dates[mid] > r.date ||
		    (dates[mid] == r.date &&
		        (dir > 0 ? ids[mid] > cur : ids[mid] >= cur));
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
