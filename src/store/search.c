/*
 * A pattern (tern/pattern.h) answered by the store: one SELECT whose
 * WHERE is the pattern's tree, text terms as FTS5 MATCH over the index
 * (fts.c), flags, dates and sizes as the message's own columns.
 *
 * A subtree of text terms alone (and, or, and-not) becomes one MATCH
 * expression, so "~s a ~b b" asks the index once, not twice. Every
 * text goes to FTS5 as a quoted phrase, tokenised as the index was:
 * nothing the user types is read as FTS5 syntax.
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"
#include "tern/pattern.h"

/* At most this many parameters (the parser bounds the depth, not this). */
#define SEARCH_MAX_TERMS 500

struct param {
	int is_text;
	int64_t i;
	char *t;
};

struct query {
	struct buf sql;
	struct param *v;
	size_t n;
};

static void
param_int(struct query *q, int64_t i)
{
	q->v = xreallocarray(q->v, q->n + 1, sizeof *q->v);
	q->v[q->n].is_text = 0;
	q->v[q->n].i = i;
	q->v[q->n++].t = NULL;
	buf_addc(&q->sql, '?');
}

static void
param_text(struct query *q, char *t)
{
	q->v = xreallocarray(q->v, q->n + 1, sizeof *q->v);
	q->v[q->n].is_text = 1;
	q->v[q->n].i = 0;
	q->v[q->n++].t = t;
	buf_addc(&q->sql, '?');
}

/* Can n be said in FTS5's query language alone? */
static int
fts_only(const struct pattern *n)
{
	switch (n->op) {
	case PATTERN_AND:
		/* FTS5's NOT is binary: "a NOT b", never "NOT b" alone. */
		if (n->b->op == PATTERN_NOT && fts_only(n->a))
			return fts_only(n->b->a);
		if (n->a->op == PATTERN_NOT && fts_only(n->b))
			return fts_only(n->a->a);
		return fts_only(n->a) && fts_only(n->b);
	case PATTERN_OR:
		return fts_only(n->a) && fts_only(n->b);
	default:
		return pattern_is_text(n->op) && n->op != PATTERN_REFS;
	}
}

/* text as an FTS5 string: in double quotes, its quotes doubled. */
static void
fts_string(struct buf *b, const char *text)
{
	buf_addc(b, '"');
	for (; *text != '\0'; text++) {
		if (*text == '"')
			buf_addc(b, '"');
		buf_addc(b, *text);
	}
	buf_addc(b, '"');
}

/* The envelope's columns a ~h field name stands for, or NULL. */
static const char *
header_column(const char *field)
{
	if (ascii_strcasecmp(field, "from") == 0)
		return "from_";
	if (ascii_strcasecmp(field, "to") == 0)
		return "to_";
	if (ascii_strcasecmp(field, "cc") == 0)
		return "cc";
	if (ascii_strcasecmp(field, "subject") == 0)
		return "subject";
	return NULL;
}

static void
fts_term(struct buf *b, const struct pattern *n)
{
	const char *cols = NULL;
	char *t = NULL;

	switch (n->op) {
	case PATTERN_WORD:
		cols = "{from_ subject body}";
		break;
	case PATTERN_FROM:
		cols = "from_";
		break;
	case PATTERN_TO:
		cols = "to_";
		break;
	case PATTERN_CC:
		cols = "cc";
		break;
	case PATTERN_TOCC:
		cols = "{to_ cc}";
		break;
	case PATTERN_SUBJECT:
		cols = "subject";
		break;
	case PATTERN_BODY:
		cols = "body";
		break;
	case PATTERN_HEADER:
		if (n->field == NULL)
			cols = "{from_ to_ cc subject header}";
		else if ((cols = header_column(n->field)) == NULL) {
			/* "Name: value" lines: the name's words, then the
			 * value's, as one phrase. */
			cols = "header";
			t = xasprintf("%s %s", n->field, n->text);
		}
		break;
	default: /* PATTERN_WHOLE: every column */
		break;
	}
	if (cols != NULL)
		buf_printf(b, "%s : ", cols);
	fts_string(b, t != NULL ? t : n->text);
	if (n->prefix)
		buf_adds(b, " *");
	free(t);
}

static void
fts_expr(struct buf *b, const struct pattern *n)
{
	switch (n->op) {
	case PATTERN_AND:
		buf_addc(b, '(');
		if (n->b->op == PATTERN_NOT && fts_only(n->a) &&
		    fts_only(n->b->a)) {
			fts_expr(b, n->a);
			buf_adds(b, " NOT ");
			fts_expr(b, n->b->a);
		} else if (n->a->op == PATTERN_NOT && fts_only(n->b) &&
		    fts_only(n->a->a)) {
			fts_expr(b, n->b);
			buf_adds(b, " NOT ");
			fts_expr(b, n->a->a);
		} else {
			fts_expr(b, n->a);
			buf_adds(b, " AND ");
			fts_expr(b, n->b);
		}
		buf_addc(b, ')');
		break;
	case PATTERN_OR:
		buf_addc(b, '(');
		fts_expr(b, n->a);
		buf_adds(b, " OR ");
		fts_expr(b, n->b);
		buf_addc(b, ')');
		break;
	default:
		fts_term(b, n);
		break;
	}
}

/* "%text%" for LIKE, its wildcards escaped. */
static char *
like_text(const char *text)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addc(&b, '%');
	for (; *text != '\0'; text++) {
		if (*text == '%' || *text == '_' || *text == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *text);
	}
	buf_addc(&b, '%');
	return buf_steal(&b, NULL);
}

/*
 * A message the index has not taken in yet (the fill comes after a
 * sync's bulk download): its text terms are tried on its envelope with
 * LIKE (ASCII case folded only) until the fill indexes it.
 */
#define UNINDEXED \
	"(m.id > (SELECT value FROM fts_state WHERE name = 'filled') AND" \
	" NOT EXISTS (SELECT 1 FROM fts_doc d WHERE d.message_id = m.id))"

static void
like_col(struct query *q, const char *col, const char *text)
{
	buf_printf(&q->sql, "m.%s LIKE ", col);
	param_text(q, like_text(text));
	buf_adds(&q->sql, " ESCAPE '\\'");
}

/* A subtree of text terms (fts_only) as LIKEs on the envelope. */
static void
like_expr(struct query *q, const struct pattern *n)
{
	static const char *const env[] = { "from_", "to_", "cc", "subject" };
	const char *col = NULL;
	size_t i;

	switch (n->op) {
	case PATTERN_AND:
	case PATTERN_OR:
		buf_addc(&q->sql, '(');
		like_expr(q, n->a);
		buf_adds(&q->sql, n->op == PATTERN_AND ? " AND " : " OR ");
		like_expr(q, n->b);
		buf_addc(&q->sql, ')');
		return;
	case PATTERN_NOT:
		buf_adds(&q->sql, "NOT ");
		like_expr(q, n->a);
		return;
	case PATTERN_WORD:
		buf_addc(&q->sql, '(');
		like_col(q, "from_", n->text);
		buf_adds(&q->sql, " OR ");
		like_col(q, "subject", n->text);
		buf_addc(&q->sql, ')');
		return;
	case PATTERN_FROM:
		col = "from_";
		break;
	case PATTERN_TO:
		col = "to_";
		break;
	case PATTERN_CC:
		col = "cc";
		break;
	case PATTERN_SUBJECT:
		col = "subject";
		break;
	case PATTERN_TOCC:
		buf_addc(&q->sql, '(');
		like_col(q, "to_", n->text);
		buf_adds(&q->sql, " OR ");
		like_col(q, "cc", n->text);
		buf_addc(&q->sql, ')');
		return;
	case PATTERN_HEADER:
		if (n->field != NULL)
			col = header_column(n->field);
		if (n->field == NULL || col == NULL)
			break;
		like_col(q, col, n->text);
		return;
	default: /* a body, a whole message: no text of it yet */
		break;
	}
	if (col != NULL) {
		like_col(q, col, n->text);
		return;
	}
	if (n->op == PATTERN_WHOLE ||
	    (n->op == PATTERN_HEADER && n->field == NULL)) {
		buf_addc(&q->sql, '(');
		for (i = 0; i < TERN_NELEM(env); i++) {
			if (i > 0)
				buf_adds(&q->sql, " OR ");
			like_col(q, env[i], n->text);
		}
		buf_addc(&q->sql, ')');
		return;
	}
	buf_adds(&q->sql, "0");
}

static void
flag_test(struct query *q, unsigned mask, unsigned want)
{
	buf_printf(&q->sql, "(m.flags & %u) = %u", mask, want);
}

static void
where(struct query *q, const struct pattern *n)
{
	struct buf fts;

	if (fts_only(n)) {
		buf_init(&fts, 0);
		fts_expr(&fts, n);
		buf_adds(&q->sql,
		    "(m.id IN (SELECT d.message_id FROM fts"
		    " JOIN fts_doc d ON d.docid = fts.rowid WHERE fts MATCH ");
		param_text(q, buf_steal(&fts, NULL));
		buf_adds(&q->sql, ") OR (" UNINDEXED " AND ");
		like_expr(q, n);
		buf_adds(&q->sql, "))");
		return;
	}
	switch (n->op) {
	case PATTERN_AND:
	case PATTERN_OR:
		buf_addc(&q->sql, '(');
		where(q, n->a);
		buf_adds(&q->sql, n->op == PATTERN_AND ? " AND " : " OR ");
		where(q, n->b);
		buf_addc(&q->sql, ')');
		break;
	case PATTERN_NOT:
		buf_adds(&q->sql, "NOT (");
		where(q, n->a);
		buf_addc(&q->sql, ')');
		break;
	case PATTERN_REFS:
		buf_adds(&q->sql, "(m.refs LIKE ");
		param_text(q, like_text(n->text));
		buf_adds(&q->sql, " ESCAPE '\\' OR m.in_reply_to LIKE ");
		param_text(q, like_text(n->text));
		buf_adds(&q->sql, " ESCAPE '\\')");
		break;
	case PATTERN_DATE:
	case PATTERN_SIZE: {
		const char *col = n->op == PATTERN_DATE ? "m.date" : "m.size";

		buf_addc(&q->sql, '(');
		if (n->min != PATTERN_NONE) {
			buf_printf(&q->sql, "%s >= ", col);
			param_int(q, n->min);
		}
		if (n->max != PATTERN_NONE) {
			if (n->min != PATTERN_NONE)
				buf_adds(&q->sql, " AND ");
			buf_printf(&q->sql, "%s <= ", col);
			param_int(q, n->max);
		}
		buf_addc(&q->sql, ')');
		break;
	}
	case PATTERN_FLAGGED:
		flag_test(q, STORE_F_FLAGGED, STORE_F_FLAGGED);
		break;
	case PATTERN_NEW: /* tern keeps no \Recent: new is unread */
	case PATTERN_UNREAD:
		flag_test(q, STORE_F_SEEN, 0);
		break;
	case PATTERN_READ:
		flag_test(q, STORE_F_SEEN, STORE_F_SEEN);
		break;
	case PATTERN_DELETED:
		flag_test(q, STORE_F_DELETED, STORE_F_DELETED);
		break;
	default: /* PATTERN_ALL */
		buf_adds(&q->sql, "1");
		break;
	}
}

/*
 * A pattern of text alone, in date order: the matches' ids, folders and
 * dates from the index and fts_doc, without a row of message each (a
 * word in every message of 100,000 would read them all).
 */
static void
where_text(struct query *q, const struct pattern *p, int64_t account_id,
    int64_t folder_id)
{
	struct buf fts;

	buf_init(&fts, 0);
	fts_expr(&fts, p);
	buf_adds(&q->sql,
	    "SELECT d.message_id, d.date FROM fts"
	    " JOIN fts_doc d ON d.docid = fts.rowid"
	    " WHERE fts MATCH ");
	param_text(q, buf_steal(&fts, NULL));
	if (folder_id > 0) {
		buf_adds(&q->sql, " AND d.folder_id = ");
		param_int(q, folder_id);
	} else if (account_id > 0) {
		buf_adds(&q->sql,
		    " AND d.folder_id IN (SELECT id FROM folder"
		    " WHERE account_id = ");
		param_int(q, account_id);
		buf_addc(&q->sql, ')');
	}
	/*
	 * And the messages the index has not taken in yet: a walk of the ids
	 * above the fill's mark ('+' keeps the planner off the folder's
	 * index, which would walk every message of the folder).
	 */
	buf_adds(
	    &q->sql, " UNION ALL SELECT m.id, m.date FROM message m WHERE ");
	if (folder_id > 0) {
		buf_adds(&q->sql, "+m.folder_id = ");
		param_int(q, folder_id);
		buf_adds(&q->sql, " AND ");
	} else if (account_id > 0) {
		buf_adds(&q->sql,
		    "+m.folder_id IN (SELECT id FROM folder"
		    " WHERE account_id = ");
		param_int(q, account_id);
		buf_adds(&q->sql, ") AND ");
	}
	buf_adds(&q->sql, UNINDEXED " AND ");
	like_expr(q, p);
	buf_adds(&q->sql, " ORDER BY 2, 1");
}

/*
 * Must every match of n match a text term (a MATCH at the top of the
 * conjunction)? Then the index's few ids lead, not a walk of the folder.
 */
static int
text_leads(const struct pattern *n)
{
	if (fts_only(n))
		return 1;
	return n->op == PATTERN_AND && (text_leads(n->a) || text_leads(n->b));
}

int
store_search(struct store *s, int64_t account_id, int64_t folder_id,
    const struct pattern *p, enum store_sort sort, int64_t **ids, size_t *n,
    char **cause)
{
	return store_search_dated(
	    s, account_id, folder_id, p, sort, ids, NULL, n, cause);
}

int
store_search_dated(struct store *s, int64_t account_id, int64_t folder_id,
    const struct pattern *p, enum store_sort sort, int64_t **ids,
    int64_t **dates, size_t *n, char **cause)
{
	static const char *const order[] = {
		" ORDER BY m.date, m.uid, m.id",
		" ORDER BY m.from_ COLLATE NOCASE, m.uid, m.id",
		" ORDER BY m.subject COLLATE NOCASE, m.uid, m.id",
		" ORDER BY m.size, m.uid, m.id",
	};
	struct query q;
	sqlite3_stmt *st = NULL;
	int64_t *v = NULL, *d = NULL;
	size_t nv = 0, cap = 0, i;
	int rc, ret = -1;

	*ids = NULL;
	if (dates != NULL)
		*dates = NULL;
	*n = 0;
	memset(&q, 0, sizeof q);
	buf_init(&q.sql, 0);
	if ((unsigned)sort > STORE_SORT_SIZE)
		sort = STORE_SORT_DATE;
	if (sort == STORE_SORT_DATE && fts_only(p)) {
		/* Text alone: the index and its map say it all. */
		where_text(&q, p, account_id, folder_id);
		goto scoped;
	}
	buf_adds(&q.sql, "SELECT m.id, m.date FROM message m WHERE ");
	/*
	 * With a text term that every match has, the planner is kept off
	 * the folder's index ('+'): it would walk the whole folder in date
	 * order and test each row, where the index's ids are few.
	 */
	if (text_leads(p))
		buf_addc(&q.sql, '+');
	if (folder_id > 0) {
		buf_adds(&q.sql, "m.folder_id = ");
		param_int(&q, folder_id);
	} else if (account_id > 0) {
		buf_adds(&q.sql,
		    "m.folder_id IN (SELECT id FROM folder"
		    " WHERE account_id = ");
		param_int(&q, account_id);
		buf_addc(&q.sql, ')');
	} else
		buf_adds(&q.sql, "m.folder_id");
	buf_adds(&q.sql, " AND ");
	where(&q, p);
	buf_adds(&q.sql, order[sort]);
scoped:
	if (q.n > SEARCH_MAX_TERMS) {
		set_cause(cause, "the pattern has too many terms");
		goto out;
	}
	if (sqlite3_prepare_v2(s->db, q.sql.data, -1, &st, NULL) != SQLITE_OK) {
		store_error(s, "searching", cause);
		goto out;
	}
	for (i = 0; i < q.n; i++) {
		if (q.v[i].is_text)
			store_bind_text_static(st, (int)i + 1, q.v[i].t);
		else
			sqlite3_bind_int64(st, (int)i + 1, q.v[i].i);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nv == cap) {
			cap = cap ? cap * 2 : 256;
			v = xreallocarray(v, cap, sizeof *v);
			if (dates != NULL)
				d = xreallocarray(d, cap, sizeof *d);
		}
		if (dates != NULL)
			d[nv] = sqlite3_column_int64(st, 1);
		v[nv++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		store_error(s, "searching", cause);
		goto out;
	}
	*ids = v;
	if (dates != NULL)
		*dates = d;
	*n = nv;
	v = d = NULL;
	ret = 0;
out:
	sqlite3_finalize(st);
	for (i = 0; i < q.n; i++)
		free(q.v[i].t);
	free(q.v);
	buf_free(&q.sql);
	free(v);
	free(d);
	return ret;
}
