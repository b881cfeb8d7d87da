/*
 * tern sync [--watch] [ACCOUNT...]: upload postponed drafts, run each
 * account's driver, showing progress on stderr when it is a terminal, and
 * one summary line per account at the end; then send the outbox.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/smtp.h"
#include "tern/util.h"

struct progress_state {
	uint64_t started;
	int shown;
};

static void
show_progress(void *arg, const struct sync_progress *p)
{
	struct progress_state *ps = arg;
	double secs = (double)(now_ms() - ps->started) / 1000.0;
	double rate = secs > 0 ? (double)p->bytes / secs / 1048576.0 : 0;
	/* The folder name is the server's: shown visibly, like all else. */
	char *folder = text_visible_dup(p->folder ? p->folder : "");

	if (p->total)
		fprintf(stderr,
		    "\r%s/%s: %s %llu/%llu, %.1f MiB, %.1f MiB/s\033[K",
		    p->account, folder, p->what, (unsigned long long)p->done,
		    (unsigned long long)p->total, (double)p->bytes / 1048576.0,
		    rate);
	else
		fprintf(stderr, "\r%s/%s: %s %llu\033[K", p->account, folder,
		    p->what, (unsigned long long)p->done);
	free(folder);
	ps->shown = 1;
}

/* Report what sending the outbox did. */
static void
sync_outcome(void *arg, const struct smtp_outcome *o)
{
	int *failed = arg;

	switch (o->result) {
	case SMTP_SENT:
		printf("%s: sent outbox message %lld\n", o->account,
		    (long long)o->id);
		if (o->copy_error != NULL) {
			tern_warnx("%s: the Sent copy of %lld failed: %s",
			    o->account, (long long)o->id, o->copy_error);
			*failed = 1;
		}
		break;
	case SMTP_OFFLINE:
		tern_warnx(
		    "%s: outbox kept for later: %s", o->account, o->reason);
		break;
	case SMTP_DEFERRED:
		/* Still queued, for the next sync: a note, not a failure. */
		tern_warnx("%s: outbox message %lld not sent: %s; kept for the "
		           "next sync",
		    o->account, (long long)o->id, o->reason);
		break;
	default:
		tern_warnx("%s: outbox message %lld not sent: %s (tern send "
		           "--list)",
		    o->account, (long long)o->id, o->reason);
		*failed = 1;
		break;
	}
}

/* After an account's sync: send what waits in its outbox. */
static int
sync_outbox(struct tern *t, struct rc_account *a)
{
	char *cause = NULL;
	int failed = 0;

	if (a->smtp == NULL)
		return TERN_EXIT_OK;
	if (smtp_outbox_flush(t, a, sync_outcome, &failed, &cause) != 0) {
		tern_warnx("%s: outbox: %s", a->name, cause);
		free(cause);
		return TERN_EXIT_FAIL;
	}
	fflush(stdout);
	return failed ? TERN_EXIT_FAIL : TERN_EXIT_OK;
}

/* Report what uploading a postponed draft did. */
static void
sync_draft(void *arg, const struct smtp_draft_outcome *o)
{
	(void)arg;
	if (o->where != NULL) {
		printf("%s: draft uploaded to %s\n", o->account, o->where);
		return;
	}
	/* Still queued, for the next sync: a note, not a failure. */
	tern_warnx("%s: draft kept for later: %s", o->account, o->reason);
}

/* Before an account's sync: upload its postponed drafts. */
static int
sync_drafts(struct tern *t, struct rc_account *a)
{
	char *cause = NULL;

	if (smtp_drafts_flush(t, a, sync_draft, NULL, &cause) != 0) {
		tern_warnx("%s: drafts: %s", a->name, cause);
		free(cause);
		return TERN_EXIT_FAIL;
	}
	fflush(stdout);
	return TERN_EXIT_OK;
}

static int
sync_account(struct tern *t, struct rc_account *a, int watch)
{
	const struct driver_ops *d = core_driver(a->protocol);
	struct progress_state ps = { now_ms(), 0 };
	struct sync_opts o;
	char *summary = NULL, *cause = NULL;
	int rc;

	if (d == NULL || d->sync == NULL) {
		tern_warnx("%s: this tern cannot sync %s accounts", a->name,
		    rc_protocol_name(a->protocol));
		return TERN_EXIT_FAIL;
	}
	memset(&o, 0, sizeof o);
	o.wakefd = -1;
	o.watch = watch;
	if (t->progress) {
		o.progress = show_progress;
		o.arg = &ps;
	}
	/* Moves to local folders queued offline go first. */
	if (a->protocol == RC_PROTO_IMAP &&
	    core_transfer_replay(t, a, &cause) != 0) {
		tern_warnx("%s: %s", a->name, cause);
		free(cause);
		return TERN_EXIT_FAIL;
	}
	rc = d->sync(t, a, &o, &summary, &cause);
	if (ps.shown)
		fputs("\r\033[K", stderr);
	if (rc != 0) {
		tern_warnx("%s: %s", a->name, cause ? cause : "sync failed");
		free(cause);
		free(summary);
		return TERN_EXIT_FAIL;
	}
	{
		/* A summary may quote the server (folder names, replies). */
		char *v = text_visible_dup(summary ? summary : "done");

		printf("%s: %s\n", a->name, v);
		free(v);
	}
	fflush(stdout);
	free(summary);
	return TERN_EXIT_OK;
}

/*
 * Upload postponed drafts, sync, then send the outbox (whether or not
 * the sync worked). A watch runs until stopped: the outbox goes first
 * then.
 */
static int
sync_one(struct tern *t, struct rc_account *a, int watch)
{
	int status = TERN_EXIT_OK;

	if (sync_drafts(t, a) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	if (watch && sync_outbox(t, a) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	if (sync_account(t, a, watch) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	if (sync_outbox(t, a) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	return status;
}

int
cmd_sync(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "watch", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, i, watch = 0, status = TERN_EXIT_OK;
	size_t j;

	while ((ch = getopt_long(argc, argv, "w", longopts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			watch = 1;
			break;
		default:
			return cli_usage(cli_find("sync"));
		}
	}
	for (i = optind; i < argc; i++) {
		if (strcmp(argv[i], TERN_LOCAL_ACCOUNT) == 0)
			continue;
		if (rc_find_account(t->rc, argv[i]) == NULL) {
			tern_warnx(
			    "no account '%s' in %s", argv[i], t->rc_path);
			return TERN_EXIT_USAGE;
		}
	}
	if (watch && argc - optind != 1) {
		tern_warnx("--watch takes exactly one account");
		return TERN_EXIT_USAGE;
	}
	if (optind == argc) {
		if (t->rc->naccounts == 0) {
			tern_warnx(
			    "no accounts in %s; see tern-rc(5)", t->rc_path);
			return TERN_EXIT_USAGE;
		}
		for (j = 0; j < t->rc->naccounts; j++) {
			if (sync_one(t, &t->rc->accounts[j], 0) != 0)
				status = TERN_EXIT_FAIL;
		}
		return status;
	}
	for (i = optind; i < argc; i++) {
		/* tern ls lists it, so it is a name to accept: its folders
		 * live in the store alone and have nothing to sync with. */
		if (strcmp(argv[i], TERN_LOCAL_ACCOUNT) == 0) {
			if (watch) {
				tern_warnx("%s: nothing to watch: its folders "
				           "live only in this store",
				    argv[i]);
				return TERN_EXIT_USAGE;
			}
			printf("%s: nothing to sync: its folders live only in "
			       "this store\n",
			    argv[i]);
			continue;
		}
		if (sync_one(t, rc_find_account(t->rc, argv[i]), watch) != 0)
			status = TERN_EXIT_FAIL;
	}
	return status;
}
