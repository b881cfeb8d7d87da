/*
 * tern send [-a ACCOUNT] [--[no-]sign] [--[no-]encrypt] [FILE]
 * tern send --list | --retry ID | --drop ID
 * tern compose [-a ACCOUNT] [--postpone] [ADDRESS...]
 * tern reply [-a|--all] [--postpone] ACCOUNT/FOLDER UID
 * tern forward [--attach] [--postpone] ACCOUNT/FOLDER UID ADDRESS...
 *
 * Every message is queued in the outbox first, then sent at once; when
 * the server cannot be reached or says "not now" it stays queued for the
 * next sync (exit 0, with a note). A refusal, or a login or TLS failure,
 * keeps the message and exits 1 with the reason; a message that can never
 * be sent (no recipient) is not queued and exits 2.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/cli.h"
#include "tern/compose.h"
#include "tern/crypto.h"
#include "tern/smtp.h"
#include "tern/util.h"

struct send_state {
	int64_t id; /* the message this command queued, 0 if none */
	int seen; /* an outcome for it was reported */
	enum smtp_result result;
};

/* Say what happened to each message; remember ours. */
static void
outcome(void *arg, const struct smtp_outcome *o)
{
	struct send_state *ss = arg;
	int ours = ss != NULL && o->id == ss->id;

	if (ours) {
		ss->seen = 1;
		ss->result = o->result;
	}
	switch (o->result) {
	case SMTP_SENT:
		if (!ours)
			tern_warnx("%s: outbox message %lld sent", o->account,
			    (long long)o->id);
		if (o->copy_error != NULL)
			tern_warnx("%s: sent, but the copy for the Sent folder "
			           "failed (%s); it is kept in the outbox and "
			           "filed at the next sync",
			    o->account, o->copy_error);
		break;
	case SMTP_OFFLINE:
		tern_warnx("%s: queued; will be sent at the next sync (%s)",
		    o->account, o->reason);
		break;
	case SMTP_DEFERRED:
	case SMTP_TEMPFAIL:
		tern_warnx("%s: not sent: %s; kept in the outbox as %lld and "
		           "tried again at the next sync",
		    o->account, o->reason, (long long)o->id);
		break;
	case SMTP_REFUSED:
		tern_warnx("%s: not sent: %s; kept in the outbox as %lld "
		           "(tern send --retry %lld, or --drop %lld)",
		    o->account, o->reason, (long long)o->id, (long long)o->id,
		    (long long)o->id);
		break;
	case SMTP_UNKNOWN:
		tern_warnx("%s: %s; kept in the outbox as %lld and not sent "
		           "again unless you say so (tern send --retry %lld)",
		    o->account, o->reason, (long long)o->id, (long long)o->id);
		break;
	}
}

/*
 * The exit status for what became of a message (tern(1), EXIT STATUS):
 * sent, or queued for the next sync to send without the user (server
 * unreachable, or it said not now), is 0, the note saying which; a login
 * or TLS failure (queued, but the user must fix the rc first), a refusal,
 * or a fate in doubt is 1.
 */
static int
send_status(enum smtp_result r)
{
	switch (r) {
	case SMTP_SENT:
	case SMTP_OFFLINE:
	case SMTP_DEFERRED:
		return TERN_EXIT_OK;
	case SMTP_TEMPFAIL:
	case SMTP_REFUSED:
	case SMTP_UNKNOWN:
		break;
	}
	return TERN_EXIT_FAIL;
}

static int keep_draft(const struct compose *c, char *cause);

/*
 * Queue raw for a and try to send; the exit status. A message that
 * cannot be queued (a recipient without a key when it is to be
 * encrypted) keeps draft c, when there is one.
 */
static int
queue_and_send(struct tern *t, struct rc_account *a, const char *raw,
    size_t len, const struct compose *c, enum smtp_result *resultp)
{
	struct send_state ss;
	char *cause = NULL;

	memset(&ss, 0, sizeof ss);
	if (a->smtp == NULL) {
		tern_warnx("account %s has no smtp URL: add 'smtp "
		           "smtps://HOST' to it in %s",
		    a->name, t->rc_path);
		return TERN_EXIT_USAGE;
	}
	if ((ss.id = smtp_outbox_queue(t, a, raw, len, &cause)) < 0) {
		if (c != NULL && ss.id != CORE_REFUSED)
			return keep_draft(c, cause);
		return cli_fail(core_exit_status((int)ss.id), cause);
	}
	if (smtp_outbox_flush(t, a, outcome, &ss, &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (resultp != NULL)
		*resultp = ss.seen ? ss.result : SMTP_OFFLINE;
	if (!ss.seen) {
		/* An older message found the server away first. */
		tern_warnx(
		    "%s: queued; will be sent at the next sync", a->name);
		return TERN_EXIT_OK;
	}
	return send_status(ss.result);
}

static struct rc_account *
find_account(struct tern *t, const char *name)
{
	struct rc_account *a = rc_find_account(t->rc, name);

	if (a == NULL)
		tern_warnx("no account '%s' in %s", name, t->rc_path);
	return a;
}

/* The first account that can send, for a message with no better clue. */
static struct rc_account *
default_account(struct tern *t)
{
	size_t i;

	for (i = 0; i < t->rc->naccounts; i++) {
		if (t->rc->accounts[i].smtp != NULL &&
		    t->rc->accounts[i].from != NULL)
			return &t->rc->accounts[i];
	}
	tern_warnx("no account in %s has 'smtp' and 'from'", t->rc_path);
	return NULL;
}

static void
print_field(const char *s)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	text_visible(&b, s ? s : "", s ? strlen(s) : 0, 0);
	for (i = 0; i < b.len; i++) {
		if (b.data[i] == '\t')
			b.data[i] = ' ';
	}
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	buf_free(&b);
}

/* ID STATE ATTEMPTS DATE ACCOUNT TO SUBJECT ERROR, one line each. */
static int
send_list(struct tern *t)
{
	struct store_outbox *v;
	char *cause = NULL, *to, *subj, date[32];
	size_t n, i, j;
	int64_t acct;

	if (tern_store(t, &cause) == NULL)
		return cli_fail(TERN_EXIT_FAIL, cause);
	for (j = 0; j < t->rc->naccounts; j++) {
		struct rc_account *a = &t->rc->accounts[j];

		if ((acct = store_account_find(t->store, a->name, &cause)) < 0)
			return cli_fail(TERN_EXIT_FAIL, cause);
		if (acct == 0)
			continue;
		if (store_outbox_list(t->store, acct, 1, &v, &n, &cause) != 0)
			return cli_fail(TERN_EXIT_FAIL, cause);
		for (i = 0; i < n; i++) {
			to = compose_header_get(v[i].raw, v[i].len, "To");
			subj =
			    compose_header_get(v[i].raw, v[i].len, "Subject");
			core_format_date(v[i].created, date, sizeof date);
			printf("%lld\t%s\t%d\t%s\t%s\t", (long long)v[i].id,
			    store_outbox_state_name(v[i].state), v[i].attempts,
			    date, a->name);
			{
				char *d = to ? compose_header_decode(to) : NULL;
				char *s =
				    subj ? compose_header_decode(subj) : NULL;

				print_field(d);
				putchar('\t');
				print_field(s);
				free(d);
				free(s);
			}
			putchar('\t');
			print_field(v[i].last_error);
			putchar('\n');
			free(to);
			free(subj);
		}
		store_outbox_list_free(v, n);
	}
	return TERN_EXIT_OK;
}

/* --retry ID or --drop ID: find the row's account, then act. */
static int
send_admin(struct tern *t, const char *idstr, int drop)
{
	struct store_outbox o;
	struct rc_account *a = NULL;
	char *cause = NULL;
	uint64_t id;
	size_t j;
	int found, status;

	if (parse_uint64(idstr, strlen(idstr), INT64_MAX, &id) != 0) {
		tern_warnx(
		    "'%s' is not an outbox id (tern send --list)", idstr);
		return TERN_EXIT_USAGE;
	}
	if (tern_store(t, &cause) == NULL)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if ((found = store_outbox_get(t->store, (int64_t)id, &o, &cause)) < 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (found == 0) {
		tern_warnx("no message %llu in the outbox (tern send --list)",
		    (unsigned long long)id);
		return TERN_EXIT_USAGE;
	}
	for (j = 0; j < t->rc->naccounts && a == NULL; j++) {
		if (store_account_find(t->store, t->rc->accounts[j].name,
		        NULL) == o.account_id)
			a = &t->rc->accounts[j];
	}
	store_outbox_clear(&o);
	if (drop) {
		if (store_outbox_delete(t->store, (int64_t)id, &cause) != 0)
			return cli_fail(TERN_EXIT_FAIL, cause);
		return TERN_EXIT_OK;
	}
	if (a == NULL) {
		tern_warnx("outbox message %llu belongs to an account no "
		           "longer in %s",
		    (unsigned long long)id, t->rc_path);
		return TERN_EXIT_USAGE;
	}
	if (store_outbox_requeue(t->store, (int64_t)id, &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	{
		struct send_state ss;

		memset(&ss, 0, sizeof ss);
		ss.id = (int64_t)id;
		if (smtp_outbox_flush(t, a, outcome, &ss, &cause) != 0)
			return cli_fail(TERN_EXIT_FAIL, cause);
		status = ss.seen ? send_status(ss.result) : TERN_EXIT_OK;
	}
	return status;
}

int
cmd_send(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "list", no_argument, NULL, 'l' },
		{ "retry", required_argument, NULL, 'r' },
		{ "drop", required_argument, NULL, 'd' },
		{ "sign", no_argument, NULL, 'S' },
		{ "no-sign", no_argument, NULL, 's' },
		{ "encrypt", no_argument, NULL, 'E' },
		{ "no-encrypt", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct rc_account *a = NULL;
	const char *account = NULL;
	struct buf raw;
	char *cause = NULL;
	int ch, status, sign = CRYPTO_DEFAULT, encrypt = CRYPTO_DEFAULT;

	while ((ch = getopt_long(argc, argv, "a:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			account = optarg;
			break;
		case 'S':
		case 's':
			sign = ch == 'S' ? CRYPTO_YES : CRYPTO_NO;
			break;
		case 'E':
		case 'e':
			encrypt = ch == 'E' ? CRYPTO_YES : CRYPTO_NO;
			break;
		case 'l':
			return optind == argc ? send_list(t)
			                      : cli_usage(cli_find("send"));
		case 'r':
		case 'd':
			if (optind != argc)
				return cli_usage(cli_find("send"));
			return send_admin(t, optarg, ch == 'd');
		default:
			return cli_usage(cli_find("send"));
		}
	}
	if (argc - optind > 1)
		return cli_usage(cli_find("send"));
	if (account != NULL && (a = find_account(t, account)) == NULL)
		return TERN_EXIT_USAGE;

	buf_init(&raw, COMPOSE_MESSAGE_MAX);
	if (read_file(optind < argc ? argv[optind] : "/dev/stdin",
	        COMPOSE_MESSAGE_MAX, &raw, &cause) != 0) {
		buf_free(&raw);
		return cli_fail(TERN_EXIT_FAIL, cause);
	}
	if (a == NULL &&
	    (a = smtp_account_for(t->rc, raw.data ? raw.data : "", raw.len)) ==
	        NULL) {
		char *from = compose_header_get(raw.data, raw.len, "From");
		char *vis = from != NULL ? text_visible_dup(from) : NULL;

		tern_warnx("no account has 'from' %s: name one with -a",
		    vis != NULL ? vis : "(the message has no From)");
		free(vis);
		free(from);
		buf_free(&raw);
		return TERN_EXIT_USAGE;
	}
	if (sign != CRYPTO_DEFAULT || encrypt != CRYPTO_DEFAULT) {
		/* As the message's own Sign: and Encrypt: lines would say;
		 * the first of each is the one that counts. */
		struct buf with;

		buf_init(&with, 0);
		if (sign != CRYPTO_DEFAULT)
			buf_printf(&with, "Sign: %s\r\n", sign ? "yes" : "no");
		if (encrypt != CRYPTO_DEFAULT)
			buf_printf(
			    &with, "Encrypt: %s\r\n", encrypt ? "yes" : "no");
		buf_add(&with, raw.data ? raw.data : "", raw.len);
		buf_free(&raw);
		raw = with;
	}
	status =
	    queue_and_send(t, a, raw.data ? raw.data : "", raw.len, NULL, NULL);
	buf_free(&raw);
	return status;
}

/* The draft could not be sent: say why, and where the text is kept. */
static int
keep_draft(const struct compose *c, char *cause)
{
	char *why = NULL, *path = compose_draft_keep(c, &why);

	if (path != NULL)
		tern_warnx("%s; the draft is kept in %s", cause, path);
	else
		tern_warnx("%s; the draft could not be kept: %s", cause, why);
	free(cause);
	free(why);
	free(path);
	return TERN_EXIT_FAIL;
}

/* Keep the edited draft in Drafts instead of sending it. */
static int
postpone(struct tern *t, struct rc_account *a, struct compose *c)
{
	struct buf out;
	char *cause = NULL, *where = NULL;
	int status = TERN_EXIT_OK;

	buf_init(&out, 0);
	if (compose_build(c, 0, COMPOSE_DRAFT, &out, NULL, &cause) != 0 ||
	    smtp_draft_save(t, a, out.data, out.len, &where, &cause) != 0)
		status = cli_fail(TERN_EXIT_FAIL, cause);
	else
		tern_warnx("postponed to %s", where);
	free(where);
	buf_free(&out);
	return status;
}

/* Edit the draft, build it, queue and send (or postpone); exit status. */
static int
edit_and_send(struct tern *t, struct rc_account *a, struct compose *c,
    int postponing, enum smtp_result *resultp)
{
	struct buf out;
	char *cause = NULL;
	int status;

	if (a->smtp == NULL) {
		tern_warnx("account %s has no smtp URL: add 'smtp "
		           "smtps://HOST' to it in %s",
		    a->name, t->rc_path);
		return TERN_EXIT_USAGE;
	}
	if (compose_signature_file(c, a->signature, &cause) != 0) {
		/* A missing signature loses no work: said, and written without. */
		tern_warnx("signature: %s", cause);
		free(cause);
		cause = NULL;
	}
	if (compose_edit(c, compose_editor(t->rc->editor), &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (postponing)
		return postpone(t, a, c);
	buf_init(&out, 0);
	/* Bcc stays in the queued copy; it is removed when sent. */
	if (compose_build(c, 0, COMPOSE_KEEP_BCC, &out, NULL, &cause) != 0) {
		buf_free(&out);
		return keep_draft(c, cause);
	}
	status = queue_and_send(t, a, out.data, out.len, c, resultp);
	buf_free(&out);
	return status;
}

/* Join addresses given as arguments. */
static char *
join_args(int argc, char **argv)
{
	struct buf b;
	int i;

	if (argc <= 0)
		return NULL;
	buf_init(&b, 0);
	for (i = 0; i < argc; i++) {
		if (i > 0)
			buf_adds(&b, ", ");
		buf_adds(&b, argv[i]);
	}
	return buf_steal(&b, NULL);
}

int
cmd_compose(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "postpone", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct rc_account *a = NULL;
	struct compose c;
	int ch, status, postponing = 0;

	while ((ch = getopt_long(argc, argv, "a:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if ((a = find_account(t, optarg)) == NULL)
				return TERN_EXIT_USAGE;
			break;
		case 'P':
			postponing = 1;
			break;
		default:
			return cli_usage(cli_find("compose"));
		}
	}
	if (a == NULL && (a = default_account(t)) == NULL)
		return TERN_EXIT_USAGE;
	compose_init(&c);
	compose_new(&c, a->from);
	c.to = join_args(argc - optind, argv + optind);
	status = edit_and_send(t, a, &c, postponing, NULL);
	compose_clear(&c);
	return status;
}

/*
 * The original message of a reply or forward, its raw bytes fetched when
 * they are not in the store yet.
 */
static int
load_original(struct tern *t, const char *spec, const char *uidstr,
    struct folder_ref *r, struct store_msg *m, struct buf *raw)
{
	const struct driver_ops *d;
	char *cause = NULL;
	uint64_t uid;
	int status, found;

	if (parse_uint64(uidstr, strlen(uidstr), UINT32_MAX, &uid) != 0 ||
	    uid == 0) {
		tern_warnx("'%s' is not a UID", uidstr);
		return TERN_EXIT_USAGE;
	}
	if ((status = folder_ref_parse(t, spec, r, &cause)) != 0)
		return cli_fail(status, cause);
	if (r->folder == NULL || r->folder_id == 0) {
		tern_warnx(
		    "'%s': name an existing folder as ACCOUNT/FOLDER", spec);
		folder_ref_clear(r);
		return TERN_EXIT_USAGE;
	}
	found = store_msg_get(t->store, r->folder_id, (uint32_t)uid, m, &cause);
	if (found <= 0) {
		folder_ref_clear(r);
		if (found < 0)
			return cli_fail(TERN_EXIT_FAIL, cause);
		tern_warnx(
		    "no message %llu in %s", (unsigned long long)uid, spec);
		return TERN_EXIT_USAGE;
	}
	found = store_msg_raw(t->store, m->id, raw, &cause);
	if (found == 0 && r->account != NULL &&
	    (d = core_driver(r->account->protocol)) != NULL &&
	    d->fetch != NULL) {
		if (d->fetch(t, r->account, m->id, 1, &cause) == 0)
			found = store_msg_raw(t->store, m->id, raw, &cause);
		else
			found = -1;
	}
	if (found <= 0) {
		store_msg_clear(m);
		folder_ref_clear(r);
		if (found < 0)
			return cli_fail(TERN_EXIT_FAIL, cause);
		tern_warnx("the body of message %llu in %s is not in the "
		           "store and cannot be fetched now",
		    (unsigned long long)uid, spec);
		return TERN_EXIT_FAIL;
	}
	return 0;
}

/* The account that answers mail of folder r: its own, or the default. */
static struct rc_account *
answering_account(struct tern *t, const struct folder_ref *r)
{
	if (r->account != NULL && r->account->smtp != NULL)
		return r->account;
	return default_account(t);
}

int
cmd_reply(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "postpone", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct folder_ref r;
	struct store_msg m;
	struct rc_account *a;
	struct compose c;
	struct buf raw;
	int ch, all = 0, status, postponing = 0;

	while ((ch = getopt_long(argc, argv, "a", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'P':
			postponing = 1;
			break;
		default:
			return cli_usage(cli_find("reply"));
		}
	}
	if (argc - optind != 2)
		return cli_usage(cli_find("reply"));
	buf_init(&raw, COMPOSE_MESSAGE_MAX);
	if ((status = load_original(
	         t, argv[optind], argv[optind + 1], &r, &m, &raw)) != 0) {
		buf_free(&raw);
		return status;
	}
	if ((a = answering_account(t, &r)) == NULL)
		status = TERN_EXIT_USAGE;
	else {
		compose_init(&c);
		compose_reply(&c, raw.data, raw.len, a->from, all);
		/* The answered flag is set when the reply is sent (outbox). */
		status = edit_and_send(t, a, &c, postponing, NULL);
		compose_clear(&c);
	}
	store_msg_clear(&m);
	folder_ref_clear(&r);
	buf_free(&raw);
	return status;
}

int
cmd_forward(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "attach", no_argument, NULL, 'A' },
		{ "postpone", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct folder_ref r;
	struct store_msg m;
	struct rc_account *a;
	struct compose c;
	struct buf raw;
	enum smtp_result result = SMTP_OFFLINE;
	char *cause = NULL;
	int ch, attach = 0, status, postponing = 0;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			attach = 1;
			break;
		case 'P':
			postponing = 1;
			break;
		default:
			return cli_usage(cli_find("forward"));
		}
	}
	if (argc - optind < 2)
		return cli_usage(cli_find("forward"));
	buf_init(&raw, COMPOSE_MESSAGE_MAX);
	if ((status = load_original(
	         t, argv[optind], argv[optind + 1], &r, &m, &raw)) != 0) {
		buf_free(&raw);
		return status;
	}
	if ((a = answering_account(t, &r)) == NULL)
		status = TERN_EXIT_USAGE;
	else {
		compose_init(&c);
		compose_forward(&c, raw.data, raw.len, a->from, attach);
		c.to = join_args(argc - optind - 2, argv + optind + 2);
		status = edit_and_send(t, a, &c, postponing, &result);
		compose_clear(&c);
		/* Passed (forwarded), as Maildir's P says. */
		if (status == TERN_EXIT_OK && result == SMTP_SENT &&
		    core_flag(t, &r, &m.uid, 1, STORE_F_PASSED, 0, &cause) != 0)
			status = cli_fail(TERN_EXIT_FAIL, cause);
	}
	store_msg_clear(&m);
	folder_ref_clear(&r);
	buf_free(&raw);
	return status;
}
