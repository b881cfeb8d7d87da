/*
 * Accounts and their folders: the sidebar, and opening a folder.
 * Accounts are the rc's, in its order, then any other the store holds
 * (such as the built-in local account).
 */
#include <stdlib.h>
#include <string.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/pattern.h"
#include "ui-private.h"

static size_t
account_add(struct ui *u, const char *name, struct rc_account *rc)
{
	struct ui_account *a;

	u->accts = xreallocarray(u->accts, u->naccts + 1, sizeof *u->accts);
	a = &u->accts[u->naccts];
	memset(a, 0, sizeof *a);
	a->name = xstrdup(name);
	a->rc = rc;
	a->drv = rc ? core_driver(rc->protocol) : NULL;
	return u->naccts++;
}

static void
accounts_update(struct ui *u)
{
	struct store_account_info *v = NULL;
	size_t n = 0, i, j;

	if (u->naccts == 0) {
		for (i = 0; i < u->t->rc->naccounts; i++)
			account_add(u, u->t->rc->accounts[i].name,
			    &u->t->rc->accounts[i]);
	}
	if (store_account_list(u->s, &v, &n, NULL) != 0)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < u->naccts; j++) {
			if (strcmp(u->accts[j].name, v[i].name) == 0)
				break;
		}
		if (j == u->naccts)
			j = account_add(u, v[i].name, NULL);
		u->accts[j].id = v[i].id;
		store_account_get_quota(u->s, v[i].id, &u->accts[j].quota_used,
		    &u->accts[j].quota_limit, NULL);
	}
	store_account_list_free(v, n);
}

void
ui_folders_free(struct ui *u)
{
	size_t i;

	for (i = 0; i < u->nfolders; i++)
		free(u->folders[i].name);
	free(u->folders);
	u->folders = NULL;
	u->nfolders = 0;
	for (i = 0; i < u->naccts; i++) {
		free(u->accts[i].name);
		free(u->accts[i].what);
		free(u->accts[i].error);
	}
	free(u->accts);
	u->accts = NULL;
	u->naccts = 0;
}

/*
 * Count one more folder whose counts are not known (or stale); 1 if more
 * remain. The main loop calls this between keys, so the folder list
 * shows at once and its numbers follow.
 */
int
ui_folders_count_more(struct ui *u)
{
	while (u->count_next < u->nfolders) {
		struct ui_folder *f = &u->folders[u->count_next++];

		if (!f->stale)
			continue;
		if (store_index_folder_counts(
		        u->s, f->id, &f->total, &f->unseen, NULL) == 0)
			f->stale = 0;
		u->dirty = 1;
		break;
	}
	return u->count_next < u->nfolders;
}

/* The counts of folder i, now (the open folder needs its total). */
void
ui_folder_count(struct ui *u, size_t i)
{
	struct ui_folder *f = &u->folders[i];

	if (f->stale &&
	    store_index_folder_counts(
	        u->s, f->id, &f->total, &f->unseen, NULL) == 0)
		f->stale = 0;
}

void
ui_folders_load(struct ui *u)
{
	int64_t open_id = u->nfolders ? u->folders[u->fcur].id : 0;
	int64_t sel_id = u->nfolders ? u->folders[u->fsel].id : 0;
	struct ui_folder *old = u->folders;
	size_t i, j, k, nold = u->nfolders;

	accounts_update(u);
	u->folders = NULL;
	u->nfolders = 0;
	for (i = 0; i < u->naccts; i++) {
		struct store_folder *v = NULL;
		size_t n = 0;

		if (u->accts[i].id <= 0 ||
		    store_index_folder_names(
		        u->s, u->accts[i].id, &v, &n, NULL) != 0)
			continue;
		u->folders = xreallocarray(
		    u->folders, u->nfolders + n, sizeof *u->folders);
		for (j = 0; j < n; j++) {
			struct ui_folder *f = &u->folders[u->nfolders++];

			f->account = i;
			f->id = v[j].id;
			f->name = v[j].name;
			v[j].name = NULL;
			/* Show the last counts until the new ones come,
			 * and the last search's (taken when it was made). */
			f->total = f->unseen = f->matches = -1;
			for (k = 0; k < nold; k++) {
				if (old[k].id == f->id) {
					f->total = old[k].total;
					f->unseen = old[k].unseen;
					f->matches = old[k].matches;
				}
			}
			f->stale = 1;
		}
		store_folder_list_free(v, n);
	}
	for (k = 0; k < nold; k++)
		free(old[k].name);
	free(old);
	u->count_next = 0;
	u->fcur = u->fsel = 0;
	for (i = 0; i < u->nfolders; i++) {
		if (u->folders[i].id == open_id)
			u->fcur = i;
		if (u->folders[i].id == sel_id)
			u->fsel = i;
	}
	u->dirty = 1;
}

char *
ui_folder_spec(struct ui *u, size_t i)
{
	return xasprintf(
	    "%s/%s", u->accts[u->folders[i].account].name, u->folders[i].name);
}

ssize_t
ui_folder_find(struct ui *u, size_t account, const char *name)
{
	for (size_t i = 0; i < u->nfolders; i++) {
		if (u->folders[i].account == account &&
		    strcmp(u->folders[i].name, name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

void
ui_folder_open(struct ui *u, size_t i)
{
	uint64_t t = ui_now_us();

	if (i >= u->nfolders)
		return;
	u->fcur = u->fsel = i;
	free(u->limit);
	u->limit = NULL;
	ui_limit_extra_clear(u);
	u->top = 0;
	ui_index_load(u, 0);
	ui_log(u, "folder-open %s/%s rows=%zu %.3f ms",
	    u->accts[u->folders[i].account].name, u->folders[i].name, u->nids,
	    (double)(ui_now_us() - t) / 1000);
}

void
ui_folders_draw(struct ui *u, int y, int x, int h, int w)
{
	size_t i, top = 0, row = 0, sel = u->folders_focus ? u->fsel : u->fcur;
	size_t prev = (size_t)-1;
	/* Lines: an account header before each account's first folder. */
	struct {
		size_t folder; /* (size_t)-1: account header */
		size_t account;
	} *lines = xcalloc(u->nfolders * 2 + 1, sizeof *lines);
	size_t nl = 0, selline = 0;

	for (i = 0; i < u->nfolders; i++) {
		if (u->folders[i].account != prev) {
			prev = u->folders[i].account;
			lines[nl].folder = (size_t)-1;
			lines[nl++].account = prev;
		}
		if (i == sel)
			selline = nl;
		lines[nl].folder = i;
		lines[nl++].account = prev;
	}
	if (selline >= (size_t)h)
		top = selline - (size_t)h + 1;
	for (row = 0; row < (size_t)h; row++) {
		size_t l = top + row;
		char *s;
		int attr = u->attr[UI_C_SIDEBAR];

		if (l >= nl) {
			ui_put(y + (int)row, x, w, "", attr);
			continue;
		}
		if (lines[l].folder == (size_t)-1) {
			struct ui_account *a = &u->accts[lines[l].account];
			s = xasprintf("%s%s", a->name,
			    a->drv == NULL  ? ""
			        : a->online ? " ●"
			                    : " ○");
			ui_put(y + (int)row, x, w, s, attr | A_BOLD);
		} else {
			struct ui_folder *f = &u->folders[lines[l].folder];
			char cnt[32];
			int cw;

			if (f->matches >= 0)
				snprintf(cnt, sizeof cnt, " =%lld",
				    (long long)f->matches);
			else if (f->unseen > 0)
				snprintf(cnt, sizeof cnt, " %lld",
				    (long long)f->unseen);
			else
				cnt[0] = '\0';
			cw = (int)strlen(cnt);
			if (lines[l].folder == sel)
				attr = u->attr[UI_C_SIDEBAR_SEL];
			else if (f->unseen > 0)
				attr |= A_BOLD;
			s = xasprintf(" %s", f->name);
			ui_put(
			    y + (int)row, x, w - cw > 0 ? w - cw : 0, s, attr);
			if (cw > 0 && w - cw > 0)
				ui_put(y + (int)row, x + w - cw, cw, cnt, attr);
		}
		free(s);
	}
	free(lines);
}

void
ui_folders_search_clear(struct ui *u)
{
	free(u->fsearch);
	u->fsearch = NULL;
	for (size_t i = 0; i < u->nfolders; i++)
		u->folders[i].matches = -1;
}

/*
 * Search every folder of the selected folder's account from the folder
 * list: each folder shows how many of its messages match, and opening
 * one limits it to them (and asks its server, as l does).
 */
static void
folders_search(struct ui *u)
{
	struct pattern *p = NULL;
	struct ui_account *a;
	char *pat = NULL, *cause = NULL, *prompt;
	int64_t *ids = NULL, total = 0;
	size_t n = 0, i, nf = 0, acct;

	if (u->nfolders == 0)
		return;
	acct = u->folders[u->fsel].account;
	a = &u->accts[acct];
	prompt = xasprintf("Search every folder of %s: ", a->name);
	if (ui_prompt(u, prompt, u->fsearch, 0, &pat) != 0) {
		free(prompt);
		return;
	}
	free(prompt);
	ui_folders_search_clear(u);
	if (*pat == '\0') {
		free(pat);
		return;
	}
	if (pattern_parse(pat, 0, &p, NULL, &cause) != 0) {
		ui_message(u, 1, "Bad pattern: %s", cause);
		free(cause);
		free(pat);
		return;
	}
	for (i = 0; i < u->nfolders; i++) {
		if (u->folders[i].account != acct)
			continue;
		if (store_search(u->s, 0, u->folders[i].id, p, STORE_SORT_DATE,
		        &ids, &n, &cause) != 0) {
			ui_message(u, 1, "%s", cause);
			free(cause);
			ui_folders_search_clear(u);
			pattern_free(&p);
			free(pat);
			return;
		}
		free(ids);
		u->folders[i].matches = (int64_t)n;
		total += (int64_t)n;
		nf += n > 0;
	}
	pattern_free(&p);
	u->fsearch = pat;
	u->fsearch_account = acct;
	ui_log(u, "folders-search %s matches=%lld folders=%zu", a->name,
	    (long long)total, nf);
	ui_message(u, 0,
	    "%lld message%s match in %zu folder%s of %s%s; Enter opens one "
	    "limited to them",
	    (long long)total, total == 1 ? "" : "s", nf, nf == 1 ? "" : "s",
	    a->name,
	    a->drv != NULL && a->drv->search != NULL
	        ? " (this store's copy; an opened folder asks the server too)"
	        : "");
}

int
ui_folders_key(struct ui *u, enum ui_fn fn)
{
	switch (fn) {
	case UI_FN_NEXT:
		if (u->fsel + 1 < u->nfolders)
			u->fsel++;
		break;
	case UI_FN_PREV:
		if (u->fsel > 0)
			u->fsel--;
		break;
	case UI_FN_FIRST:
		u->fsel = 0;
		break;
	case UI_FN_LAST:
		u->fsel = u->nfolders ? u->nfolders - 1 : 0;
		break;
	case UI_FN_OPEN:
		u->folders_focus = 0;
		ui_folder_open(u, u->fsel);
		/* Found by the folder list's search: opened limited to it. */
		if (u->fsearch != NULL && u->fsel < u->nfolders &&
		    u->folders[u->fsel].account == u->fsearch_account)
			ui_limit_apply(u, xstrdup(u->fsearch));
		break;
	case UI_FN_SEARCH:
	case UI_FN_LIMIT:
		folders_search(u);
		break;
	case UI_FN_QUIT:
	case UI_FN_CHANGE_FOLDER:
		u->folders_focus = 0;
		u->fsel = u->fcur;
		break;
	default:
		return 0;
	}
	return 1;
}
