/*
 * Tags: messages of the open folder's view picked one by one (t) or by a
 * pattern (T), for the next action to apply to them all (;). They live in
 * the client's memory only, as a sorted array of message ids, and go when
 * another folder opens.
 *
 * Tagging by pattern asks the store which messages of the folder match
 * (store_search: the full-text index and the columns, one query), then
 * keeps those the view shows by bisection over its ids: no query per
 * message, so ten thousand are tagged as fast as one.
 */
#include <stdlib.h>
#include <string.h>

#include "tern/pattern.h"
#include "ui-private.h"

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
ui_tagged(struct ui *u, int64_t id)
{
	return u->ntags > 0 &&
	    bsearch(&id, u->tags, u->ntags, sizeof id, cmp_id) != NULL;
}

void
ui_tags_clear(struct ui *u)
{
	free(u->tags);
	u->tags = NULL;
	u->ntags = 0;
	u->tag_prefix = 0;
}

/* Tag (on) or untag id; 1 if that changed anything. */
static int
tag_set(struct ui *u, int64_t id, int on)
{
	size_t lo = 0, hi = u->ntags, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->tags[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < u->ntags && u->tags[lo] == id) {
		if (on)
			return 0;
		memmove(u->tags + lo, u->tags + lo + 1,
		    (u->ntags - lo - 1) * sizeof *u->tags);
		u->ntags--;
		return 1;
	}
	if (!on)
		return 0;
	u->tags = xreallocarray(u->tags, u->ntags + 1, sizeof *u->tags);
	memmove(
	    u->tags + lo + 1, u->tags + lo, (u->ntags - lo) * sizeof *u->tags);
	u->tags[lo] = id;
	u->ntags++;
	return 1;
}

/* Tag or untag the message under the cursor, and go to the next. */
void
ui_tag_current(struct ui *u)
{
	int64_t id;

	if (u->cur >= u->nids) {
		ui_message(u, 0, "No message here");
		return;
	}
	id = u->ids[u->cur];
	if (u->hidden != NULL && u->hidden[u->cur] > 0) {
		/* A collapsed thread is tagged whole: its row stands for
		 * all of it. */
		int64_t *ids = NULL;
		size_t n = 0, i;
		char *cause = NULL;
		int on = !ui_tagged(u, id);

		if (ui_thread_members(u, u->cur, &ids, &n, &cause) != 0) {
			ui_message(u, 1, "%s", cause);
			free(cause);
			return;
		}
		for (i = 0; i < n; i++)
			tag_set(u, ids[i], on);
		free(ids);
	} else if (!tag_set(u, id, 1))
		tag_set(u, id, 0);
	if (u->cur + 1 < u->nids)
		u->cur++;
	u->dirty = 1;
}

/* The ids the view holds, sorted: what a pattern's matches are kept
 * among. NULL (every message of the folder) when nothing narrows it. */
static int64_t *
view_ids(struct ui *u, size_t *n)
{
	const int64_t *src = u->tids != NULL ? u->tids : u->ids;
	size_t len = u->tids != NULL ? u->ntids : u->nids;
	int64_t *v;

	if (u->limit == NULL)
		return NULL;
	v = xreallocarray(NULL, len + 1, sizeof *v);
	memcpy(v, src, len * sizeof *v);
	qsort(v, len, sizeof *v, cmp_id);
	*n = len;
	return v;
}

void
ui_tags_drop(struct ui *u, const int64_t *ids, size_t n)
{
	size_t i, j = 0, k = 0;

	/* Both sorted: one pass. */
	for (i = 0; i < u->ntags; i++) {
		while (j < n && ids[j] < u->tags[i])
			j++;
		if (j == n || ids[j] != u->tags[i])
			u->tags[k++] = u->tags[i];
	}
	u->ntags = k;
}

size_t
ui_tags_shown(struct ui *u, int64_t **out)
{
	int64_t *view;
	size_t nview = 0, i, n = 0;

	*out = xreallocarray(NULL, u->ntags + 1, sizeof **out);
	if ((view = view_ids(u, &nview)) == NULL) {
		memcpy(*out, u->tags, u->ntags * sizeof **out);
		return u->ntags;
	}
	for (i = 0; i < u->ntags; i++) {
		if (bsearch(&u->tags[i], view, nview, sizeof *view, cmp_id) !=
		    NULL)
			(*out)[n++] = u->tags[i];
	}
	free(view);
	return n;
}

/*
 * Tag (on) or untag the messages of the view that match a pattern asked
 * for. A malformed pattern says on the message line which column is
 * wrong, and nothing changes.
 */
void
ui_tag_pattern(struct ui *u, int on)
{
	struct pattern *p = NULL;
	int64_t *m = NULL, *view = NULL;
	size_t nm = 0, nview = 0, i, k = 0, col = 0;
	char *pat = NULL, *cause = NULL, note[64] = "";
	uint64_t t;
	int64_t pending;

	if (u->nfolders == 0) {
		ui_message(u, 0, "No folder is open");
		return;
	}
	if (ui_prompt(u,
	        on ? "Tag messages matching: " : "Untag messages matching: ",
	        NULL, 0, &pat) != 0 ||
	    *pat == '\0')
		goto out;
	/* Timed from the pattern given, not from the prompt. */
	t = ui_now_us();
	if (pattern_parse(pat, 0, &p, &col, &cause) != 0) {
		ui_message(u, 1, "Bad pattern: %s", cause);
		goto out;
	}
	if (store_search(u->s, 0, u->folders[u->fcur].id, p, STORE_SORT_DATE,
	        &m, &nm, &cause) != 0) {
		ui_message(u, 1, "%s", cause);
		goto out;
	}
	if (nm > 0) /* m is NULL when nothing matched */
		qsort(m, nm, sizeof *m, cmp_id);
	view = view_ids(u, &nview);
	for (i = 0; i < nm; i++) {
		if (view == NULL ||
		    bsearch(&m[i], view, nview, sizeof *view, cmp_id) != NULL)
			m[k++] = m[i];
	}
	nm = k;
	if (on) {
		/* Merge the two sorted sets. */
		int64_t *all =
		    xreallocarray(NULL, u->ntags + nm + 1, sizeof *all);
		size_t a = 0, b = 0, n = 0;

		while (a < u->ntags || b < nm) {
			if (b == nm || (a < u->ntags && u->tags[a] < m[b]))
				all[n++] = u->tags[a++];
			else if (a == u->ntags || m[b] < u->tags[a])
				all[n++] = m[b++];
			else {
				all[n++] = u->tags[a++];
				b++;
			}
		}
		free(u->tags);
		u->tags = all;
		u->ntags = n;
	} else {
		size_t n = 0;

		for (i = 0; i < u->ntags; i++) {
			if (nm == 0 ||
			    bsearch(&u->tags[i], m, nm, sizeof *m, cmp_id) ==
			        NULL)
				u->tags[n++] = u->tags[i];
		}
		u->ntags = n;
	}
	ui_log(u, "tag-pattern %s matches=%zu tagged=%zu %.3f ms",
	    on ? "tag" : "untag", nm, u->ntags,
	    (double)(ui_now_us() - t) / 1000);
	/* Text the search index has not taken in yet cannot match. */
	if ((pending = ui_indexer_pending(u)) > 0)
		snprintf(note, sizeof note, " (%lld not indexed yet)",
		    (long long)pending);
	ui_message(u, 0, "%zu message%s %s; %zu tagged%s", nm,
	    nm == 1 ? "" : "s", on ? "match" : "untagged", u->ntags, note);
	u->dirty = 1;
out:
	pattern_free(&p);
	free(m);
	free(view);
	free(cause);
	free(pat);
}
