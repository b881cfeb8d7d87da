/*
 * The pattern language: each operator alone and combined, the tree's
 * shape and columns, every kind of malformed pattern with the column it
 * points at, and the IMAP SEARCH keys each pattern becomes.
 */
#include <stdlib.h>
#include <time.h>

#include "../lib/test.h"
#include "tern/pattern.h"

/* 2024-07-15 12:00:00 UTC, a Monday; the tests run in UTC. */
#define NOW 1721044800

/* The dump of text's tree, or "ERR col N: ..." (static, overwritten). */
static const char *
parse(const char *text)
{
	static char *last;
	struct pattern *p = NULL;
	char *cause = NULL;
	size_t col = 0;

	free(last);
	if (pattern_parse(text, NOW, &p, &col, &cause) != 0) {
		last = xasprintf("ERR %zu %s", col, cause);
		free(cause);
		return last;
	}
	last = pattern_dump(p);
	pattern_free(&p);
	return last;
}

/* The IMAP keys of text, literals shown as they go, or "ERR ...". */
static const char *
imap(const char *text, int literal_plus)
{
	static char *last;
	struct pattern *p = NULL;
	struct pattern_imap q;
	char *cause = NULL;

	free(last);
	last = NULL;
	if (pattern_parse(text, NOW, &p, NULL, &cause) != 0 ||
	    pattern_imap(p, literal_plus, &q, &cause) != 0) {
		last = xasprintf("ERR %s", cause);
		free(cause);
		pattern_free(&p);
		return last;
	}
	last = buf_steal(&q.keys, NULL);
	pattern_imap_clear(&q);
	pattern_free(&p);
	return last;
}

static void
test_text_operators(void)
{
	CHECK_STR(parse("~f alice"), "(from \"alice\")");
	CHECK_STR(parse("~t bob"), "(to \"bob\")");
	CHECK_STR(parse("~c carol"), "(cc \"carol\")");
	CHECK_STR(parse("~C dave"), "(tocc \"dave\")");
	CHECK_STR(parse("~s hello"), "(subject \"hello\")");
	CHECK_STR(parse("~b bientôt"), "(body \"bientôt\")");
	CHECK_STR(parse("~B Hélène"), "(whole \"Hélène\")");
	CHECK_STR(parse("~h tern"), "(header \"tern\")");
	CHECK_STR(parse("~h \"List-Id: tern list\""),
	    "(header List-Id: \"tern list\")");
	CHECK_STR(parse("~h X-Spam:"), "(header X-Spam: \"\")");
	CHECK_STR(parse("~x <a@b.c>"), "(refs \"<a@b.c>\")");
	/* Quotes, escapes, prefixes. */
	CHECK_STR(parse("~s \"hello world\""), "(subject \"hello world\")");
	CHECK_STR(parse("~s 'it is'"), "(subject \"it is\")");
	CHECK_STR(parse("~s \"say \\\"hi\\\"\""), "(subject \"say \"hi\"\")");
	CHECK_STR(parse("~s a\\ b"), "(subject \"a b\")");
	CHECK_STR(parse("~b bient*"), "(body \"bient*\")");
	CHECK_STR(parse("~b \"bien tô*\""), "(body \"bien tô*\")");
	CHECK_STR(parse("~b \"bien tô\"*"), "(body \"bien tô*\")");
	CHECK_STR(
	    parse("~f alice@example.com"), "(from \"alice@example.com\")");
	/* A bare word is from, subject or body. */
	CHECK_STR(parse("hello"), "(word \"hello\")");
	CHECK_STR(parse("\"hello world\""), "(word \"hello world\")");
	CHECK_STR(parse("Встреча"), "(word \"Встреча\")");
	CHECK_STR(parse("wild*"), "(word \"wild*\")");
	CHECK_STR(parse("a*b"), "(word \"a*b\")");
}

static void
test_ranges(void)
{
	/* 2024-01-01 00:00 to 2024-06-30 23:59:59 UTC. */
	CHECK_STR(
	    parse("~d 2024-01-01-2024-06-30"), "(date 1704067200 1719791999)");
	CHECK_STR(parse("~d 2024-03-05"), "(date 1709596800 1709683199)");
	CHECK_STR(parse("~d 2024-01-01-"), "(date 1704067200 -)");
	CHECK_STR(parse("~d -2024-06-30"), "(date - 1719791999)");
	CHECK_STR(parse("~d 2024-02-29"), "(date 1709164800 1709251199)");
	/* Relative to NOW: two weeks, a month, a year back. */
	CHECK_STR(parse("~d <2w"), "(date 1719835200 -)");
	CHECK_STR(parse("~d >1m"), "(date - 1718452800)");
	CHECK_STR(parse("~d <1y"), "(date 1689422400 -)");
	CHECK_STR(parse("~d <10d"), "(date 1720180800 -)");
	CHECK_STR(parse("~d =3d"), "(date 1720742400 1720828799)");
	CHECK_STR(parse("~z <10K"), "(size - 10239)");
	CHECK_STR(parse("~z >1M"), "(size 1048577 -)");
	CHECK_STR(parse("~z 10K-20K"), "(size 10240 20480)");
	CHECK_STR(parse("~z 5k-"), "(size 5120 -)");
	CHECK_STR(parse("~z -2K"), "(size - 2048)");
	CHECK_STR(parse("~z 100"), "(size 100 100)");
}

static void
test_flags_and_logic(void)
{
	CHECK_STR(parse("~F"), "(flagged)");
	CHECK_STR(parse("~N"), "(new)");
	CHECK_STR(parse("~U"), "(unread)");
	CHECK_STR(parse("~R"), "(read)");
	CHECK_STR(parse("~D"), "(deleted)");
	CHECK_STR(parse("~A"), "(all)");
	CHECK_STR(parse("!~F"), "(not (flagged))");
	CHECK_STR(parse("! ~F"), "(not (flagged))");
	CHECK_STR(parse("!!~F"), "(not (not (flagged)))");
	CHECK_STR(parse("~F ~U"), "(and (flagged) (unread))");
	CHECK_STR(parse("~F | ~U"), "(or (flagged) (unread))");
	CHECK_STR(parse("~F|~U"), "(or (flagged) (unread))");
	/* '!' binds tighter than juxtaposition, which binds tighter than
	 * '|'; both associate to the left. */
	CHECK_STR(parse("~f a ~s b | ~b c"),
	    "(or (and (from \"a\") (subject \"b\")) (body \"c\"))");
	CHECK_STR(parse("~f a (~s b | ~b c)"),
	    "(and (from \"a\") (or (subject \"b\") (body \"c\")))");
	CHECK_STR(
	    parse("!~f a ~s b"), "(and (not (from \"a\")) (subject \"b\"))");
	CHECK_STR(
	    parse("!(~f a ~s b)"), "(not (and (from \"a\") (subject \"b\")))");
	CHECK_STR(parse("a | b | c"),
	    "(or (or (word \"a\") (word \"b\")) (word \"c\"))");
	CHECK_STR(parse("a b c"),
	    "(and (and (word \"a\") (word \"b\")) (word \"c\"))");
	CHECK_STR(parse("((~F))"), "(flagged)");
	CHECK_STR(parse("(~f x)~U"), "(and (from \"x\") (unread))");
	CHECK_STR(parse("  ~U  "), "(unread)");
}

static void
test_columns(void)
{
	struct pattern *p = NULL;
	char *cause = NULL;

	CHECK(pattern_parse("~F  ~s x | !~U", NOW, &p, NULL, &cause) == 0);
	if (p == NULL)
		return;
	CHECK(p->op == PATTERN_OR && p->col == 1);
	CHECK(p->a->op == PATTERN_AND && p->a->col == 1);
	CHECK(p->a->b->op == PATTERN_SUBJECT && p->a->b->col == 5);
	CHECK(p->b->op == PATTERN_NOT && p->b->col == 12);
	CHECK(p->b->a->op == PATTERN_UNREAD && p->b->a->col == 13);
	pattern_free(&p);
	CHECK(p == NULL);
	/* Columns count characters, not bytes. */
	CHECK(pattern_parse("Über ~s x", NOW, &p, NULL, &cause) == 0);
	if (p != NULL)
		CHECK(p->b->col == 6);
	pattern_free(&p);
}

static void
test_malformed(void)
{
	CHECK_STR(parse(""), "ERR 1 column 1: the pattern is empty");
	CHECK_STR(parse("   "), "ERR 1 column 1: the pattern is empty");
	CHECK_STR(parse("~"),
	    "ERR 1 column 1: ~ must be followed by an operator letter");
	CHECK_STR(parse("~q foo"), "ERR 1 column 1: unknown operator ~q");
	CHECK_STR(parse("~F ~q"), "ERR 4 column 4: unknown operator ~q");
	CHECK_STR(parse("~é"), "ERR 1 column 1: unknown operator after ~");
	CHECK_STR(parse("~f"), "ERR 1 column 1: ~f needs an argument");
	CHECK_STR(parse("~U ~s"), "ERR 4 column 4: ~s needs an argument");
	CHECK_STR(parse("(~f )"), "ERR 2 column 2: ~f needs an argument");
	CHECK_STR(parse("~f a | ~b"), "ERR 8 column 8: ~b needs an argument");
	CHECK_STR(parse("~s \"abc"), "ERR 4 column 4: the quote is not closed");
	CHECK_STR(
	    parse("~s 'abc\""), "ERR 4 column 4: the quote is not closed");
	CHECK_STR(parse("~s \"abc\"def"),
	    "ERR 9 column 9: a space or an operator must follow the "
	    "closing quote");
	CHECK_STR(parse("(~F"), "ERR 1 column 1: ( is not closed");
	CHECK_STR(parse("~U (~F | (~N)"), "ERR 4 column 4: ( is not closed");
	CHECK_STR(parse("~F)"), "ERR 3 column 3: unexpected )");
	CHECK_STR(parse(")"), "ERR 1 column 1: unexpected )");
	CHECK_STR(
	    parse("| ~F"), "ERR 1 column 1: | needs a pattern on each side");
	CHECK_STR(
	    parse("~F |"), "ERR 4 column 4: | needs a pattern on each side");
	CHECK_STR(parse("~F || ~U"),
	    "ERR 4 column 4: | needs a pattern on each side");
	CHECK_STR(
	    parse("(~F |)"), "ERR 5 column 5: | needs a pattern on each side");
	CHECK_STR(parse("!"), "ERR 1 column 1: ! needs a pattern after it");
	CHECK_STR(parse("~F !"), "ERR 4 column 4: ! needs a pattern after it");
	CHECK_STR(parse("!)"), "ERR 1 column 1: ! needs a pattern after it");
	CHECK_STR(parse("()"), "ERR 2 column 2: empty parentheses");
	CHECK_STR(parse("~Fx"), "ERR 3 column 3: ~F takes no argument");
	CHECK_STR(parse("~s !!!"),
	    "ERR 4 column 4: ~s: no letters or digits to search for");
	CHECK_STR(parse("*"),
	    "ERR 1 column 1: the word: no letters or digits to search for");
	CHECK_STR(parse("~h \"X-A: ...\""),
	    "ERR 4 column 4: ~h: no letters or digits to search for");
	CHECK_STR(parse("Über ~q"), "ERR 6 column 6: unknown operator ~q");
	CHECK(strncmp(parse("~d 2024-13-01"), "ERR 4 column 4: ~d takes", 24) ==
	    0);
	CHECK(strncmp(parse("~d 2024-02-30"), "ERR 4 column 4: ~d takes", 24) ==
	    0);
	CHECK(strncmp(parse("~d 2023-02-29-"), "ERR 4 column 4: ~d takes",
	          24) == 0);
	CHECK(strncmp(parse("~d <2x"), "ERR 4 column 4: ~d takes", 24) == 0);
	CHECK(strncmp(parse("~d <w"), "ERR 4 column 4: ~d takes", 24) == 0);
	CHECK(strncmp(parse("~d -"), "ERR 4 column 4: ~d takes", 24) == 0);
	CHECK(strncmp(parse("~d 2024-01-01x"), "ERR 4 column 4: ~d takes",
	          24) == 0);
	CHECK(strncmp(parse("~d 2024-01-01-2024-1-02"),
	          "ERR 4 column 4: ~d takes", 24) == 0);
	CHECK_STR(parse("~d 2024-06-30-2024-01-01"),
	    "ERR 4 column 4: ~d: the range ends before it starts");
	CHECK(strncmp(parse("~z 10Q"), "ERR 4 column 4: ~z takes", 24) == 0);
	CHECK(strncmp(parse("~z <0"), "ERR 4 column 4: ~z takes", 24) == 0);
	CHECK(strncmp(parse("~z -"), "ERR 4 column 4: ~z takes", 24) == 0);
	CHECK(strncmp(parse("~z K"), "ERR 4 column 4: ~z takes", 24) == 0);
	CHECK_STR(parse("~z 2K-1K"),
	    "ERR 4 column 4: ~z: the range ends before it starts");
	{
		char deep[300];

		memset(deep, '(', 200);
		strcpy(deep + 200, "~F");
		CHECK(strstr(parse(deep), "nested too deeply") != NULL);
		memset(deep, '!', 200);
		strcpy(deep + 200, "~F");
		CHECK(strstr(parse(deep), "nested too deeply") != NULL);
	}
}

static void
test_words(void)
{
	struct pattern *p = NULL;
	char **v = NULL, *cause = NULL;
	size_t n = 0;

	CHECK(pattern_parse("~s \"Über uns\" bient* !~f nope | ~x ref uns "
	                    "~h \"List-Id: tern\"",
	          NOW, &p, NULL, &cause) == 0);
	pattern_words(p, &v, &n);
	CHECK(n == 6);
	if (n == 6) {
		CHECK_STR(v[0], "Über");
		CHECK_STR(v[1], "uns");
		CHECK_STR(v[2], "bient*");
		CHECK_STR(v[3], "List");
		CHECK_STR(v[4], "Id");
		CHECK_STR(v[5], "tern");
	}
	CHECK(v != NULL && v[n] == NULL);
	pattern_words_free(v);
	pattern_free(&p);
}

static void
test_imap(void)
{
	struct pattern *p = NULL;
	struct pattern_imap q;
	char *cause = NULL;

	CHECK_STR(imap("~f alice", 0), "FROM \"alice\"");
	CHECK_STR(imap("~t bob", 0), "TO \"bob\"");
	CHECK_STR(imap("~c carol", 0), "CC \"carol\"");
	CHECK_STR(imap("~C dave", 0), "OR TO \"dave\" CC \"dave\"");
	CHECK_STR(imap("~s hi", 0), "SUBJECT \"hi\"");
	CHECK_STR(imap("~b hi", 0), "BODY \"hi\"");
	CHECK_STR(imap("~B hi", 0), "TEXT \"hi\"");
	CHECK_STR(imap("~b bient*", 0), "BODY \"bient\"");
	CHECK_STR(
	    imap("~h \"List-Id: tern\"", 0), "HEADER \"List-Id\" \"tern\"");
	CHECK_STR(imap("~h X-Spam:", 0), "HEADER \"X-Spam\" \"\"");
	CHECK_STR(imap("~x <a@b>", 0),
	    "OR HEADER References \"<a@b>\" HEADER In-Reply-To \"<a@b>\"");
	CHECK_STR(imap("hello", 0),
	    "OR OR FROM \"hello\" SUBJECT \"hello\" BODY \"hello\"");
	CHECK_STR(imap("~F ~N ~U ~R ~D ~A", 0),
	    "FLAGGED UNSEEN UNSEEN SEEN DELETED ALL");
	CHECK_STR(imap("~f a ~s b", 0), "FROM \"a\" SUBJECT \"b\"");
	CHECK_STR(imap("~f a | ~s b", 0), "OR FROM \"a\" SUBJECT \"b\"");
	CHECK_STR(imap("!(~f a ~s b)", 0), "NOT (FROM \"a\" SUBJECT \"b\")");
	CHECK_STR(imap("(~f a ~s b) | ~F", 0),
	    "OR (FROM \"a\" SUBJECT \"b\") FLAGGED");
	CHECK_STR(imap("~f a ~s b | ~b c ~U", 0),
	    "OR (FROM \"a\" SUBJECT \"b\") (BODY \"c\" UNSEEN)");
	CHECK_STR(imap("!~F", 0), "NOT FLAGGED");
	CHECK_STR(imap("~d 2024-01-01-2024-06-30", 0),
	    "SENTSINCE 1-Jan-2024 SENTBEFORE 1-Jul-2024");
	CHECK_STR(imap("!~d 2024-01-01-2024-06-30", 0),
	    "NOT (SENTSINCE 1-Jan-2024 SENTBEFORE 1-Jul-2024)");
	CHECK_STR(imap("~d 2024-03-05", 0),
	    "SENTSINCE 5-Mar-2024 SENTBEFORE 6-Mar-2024");
	CHECK_STR(imap("~d <2w", 0), "SENTSINCE 1-Jul-2024");
	CHECK_STR(imap("~d >1m", 0), "SENTBEFORE 16-Jun-2024");
	CHECK_STR(imap("~d -2024-12-31", 0), "SENTBEFORE 1-Jan-2025");
	CHECK_STR(imap("~z 10K-20K", 0), "LARGER 10239 SMALLER 20481");
	CHECK_STR(imap("~z <10K", 0), "SMALLER 10240");
	CHECK_STR(imap("~z >1M", 0), "LARGER 1048576");
	CHECK_STR(imap("~z 0-100", 0), "SMALLER 101");
	CHECK_STR(imap("~F | ~z 1-2", 0), "OR FLAGGED (LARGER 0 SMALLER 3)");
	CHECK_STR(imap("~h tern", 0),
	    "ERR ~h without a field name (~h \"Name: text\") has no IMAP "
	    "SEARCH key");
	/* Literals for 8-bit text, quotes and backslashes. */
	CHECK(pattern_parse("~s Über ~f a", NOW, &p, NULL, &cause) == 0);
	CHECK(pattern_imap(p, 0, &q, &cause) == 0);
	CHECK_STR(q.keys.data, "SUBJECT {5}\r\nÜber FROM \"a\"");
	CHECK(q.utf8 == 1 && q.nlits == 1);
	CHECK(q.nlits == 1 && q.lits[0] == strlen("SUBJECT {5}\r\n"));
	pattern_imap_clear(&q);
	CHECK(pattern_imap(p, 1, &q, &cause) == 0);
	CHECK_STR(q.keys.data, "SUBJECT {5+}\r\nÜber FROM \"a\"");
	pattern_imap_clear(&q);
	pattern_free(&p);
	CHECK(pattern_parse(
	          "~s 'say \"hi\"' | ~b встреча", NOW, &p, NULL, &cause) == 0);
	CHECK(pattern_imap(p, 0, &q, &cause) == 0);
	CHECK_STR(
	    q.keys.data, "OR SUBJECT {8}\r\nsay \"hi\" BODY {14}\r\nвстреча");
	CHECK(q.utf8 == 1 && q.nlits == 2);
	pattern_imap_clear(&q);
	pattern_free(&p);
	CHECK(pattern_parse("~s 'a\\\\b'", NOW, &p, NULL, &cause) == 0);
	CHECK(pattern_imap(p, 0, &q, &cause) == 0);
	CHECK_STR(q.keys.data, "SUBJECT {3}\r\na\\b");
	CHECK(q.utf8 == 0);
	pattern_imap_clear(&q);
	pattern_free(&p);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_text_operators();
	test_ranges();
	test_flags_and_logic();
	test_columns();
	test_malformed();
	test_words();
	test_imap();
	return test_done();
}
