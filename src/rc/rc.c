/*
 * The rc file parser. Line oriented: each line is split into words with
 * shell-like quoting, then the first word says what the line is. Every
 * error names the file and line, and parsing stops at the first one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tern/indexfmt.h"
#include "tern/rc.h"
#include "tern/util.h"

#define RC_MAX_SIZE (1024 * 1024)
#define RC_MAX_WORDS 64
/* How deep source lines may nest. */
#define RC_MAX_DEPTH 16
/* How many header fields "set headers" may name. */
#define RC_MAX_HEADERS 64

struct words {
	char *w[RC_MAX_WORDS];
	size_t n;
};

static void
words_free(struct words *ws)
{
	size_t i;

	for (i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

/* Split one line into words; returns -1 with a reason on a quoting error. */
static int
split_line(const char *s, size_t len, struct words *ws, const char **why)
{
	size_t i = 0;
	struct buf w;

	ws->n = 0;
	buf_init(&w, 0);
	for (;;) {
		int have = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i == len || s[i] == '#')
			break;
		buf_reset(&w);
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
			char q = s[i];

			if (q == '#' && !have)
				break;
			have = 1;
			if (q == '"' || q == '\'') {
				i++;
				while (i < len && s[i] != q) {
					/* As in sh: \ quotes only " and \ */
					if (q == '"' && s[i] == '\\' &&
					    i + 1 < len &&
					    (s[i + 1] == '"' ||
					        s[i + 1] == '\\'))
						i++;
					(void)buf_addc(&w, s[i]);
					i++;
				}
				if (i == len) {
					*why = "unterminated quote";
					goto fail;
				}
				i++;
				continue;
			}
			if ((unsigned char)q < 0x20 && q != '\t') {
				*why = "control character in line";
				goto fail;
			}
			(void)buf_addc(&w, q);
			i++;
		}
		if (!have)
			break;
		if (ws->n == RC_MAX_WORDS) {
			*why = "too many words on one line";
			goto fail;
		}
		ws->w[ws->n++] = w.data ? xstrndup(w.data, w.len) : xstrdup("");
	}
	buf_free(&w);
	return 0;
fail:
	buf_free(&w);
	words_free(ws);
	return -1;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0 ||
	    strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0 ||
	    strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/*
 * A size in bytes, with an optional K, M or G (powers of 1024, "KiB" and
 * "MB" read the same) and at most max; 0 is refused.
 */
static int
parse_size(const char *v, uint64_t max, uint64_t *out)
{
	size_t len = strlen(v), digits = 0;
	uint64_t n, unit = 1;

	while (digits < len && v[digits] >= '0' && v[digits] <= '9')
		digits++;
	if (digits == 0)
		return -1;
	if (digits < len) {
		const char *u = v + digits;

		switch (*u == '\0' ? 0 : (*u | 0x20)) {
		case 'k':
			unit = 1024;
			break;
		case 'm':
			unit = 1024 * 1024;
			break;
		case 'g':
			unit = 1024 * 1024 * 1024;
			break;
		default:
			return -1;
		}
		u++;
		if (*u == 'i' || *u == 'I')
			u++;
		if (*u == 'b' || *u == 'B')
			u++;
		if (*u != '\0')
			return -1;
	}
	if (parse_uint64(v, digits, max, &n) != 0 || n == 0 || n > max / unit)
		return -1;
	*out = n * unit;
	return 0;
}

static int
valid_account_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		        *s == '.' || *s == '@'))
			return 0;
	}
	return 1;
}

static void
account_free(struct rc_account *a)
{
	size_t i;

	free(a->name);
	free(a->host);
	free(a->cafile);
	free(a->user);
	free(a->password);
	free(a->passcmd);
	free(a->oauth_token_cmd);
	free(a->oauth_client_id);
	free(a->oauth_client_secret);
	free(a->oauth_device_url);
	free(a->oauth_auth_url);
	free(a->oauth_token_url);
	free(a->oauth_scope);
	free(a->oauth_store_cmd);
	free(a->oauth_load_cmd);
	free(a->smtp);
	free(a->smtp_user);
	free(a->smtp_passcmd);
	free(a->from);
	free(a->sent);
	free(a->drafts);
	free(a->trash);
	free(a->pgp_key);
	free(a->signature);
	for (i = 0; i < a->nfolders; i++)
		free(a->folders[i]);
	free(a->folders);
}

void
rc_free(struct rc **rcp)
{
	struct rc *rc = *rcp;
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->naccounts; i++)
		account_free(&rc->accounts[i]);
	free(rc->accounts);
	for (i = 0; i < rc->nbinds; i++) {
		free(rc->binds[i].map);
		free(rc->binds[i].key);
		free(rc->binds[i].function);
		free(rc->binds[i].file);
	}
	free(rc->binds);
	for (i = 0; i < rc->nlists; i++)
		free(rc->lists[i]);
	free(rc->lists);
	for (i = 0; i < rc->nsubscribed; i++)
		free(rc->subscribed[i]);
	free(rc->subscribed);
	free(rc->path);
	free(rc->theme);
	free(rc->mailcap);
	free(rc->editor);
	free(rc->index_format);
	free(rc->date_format);
	for (i = 0; i < rc->nheaders; i++)
		free(rc->headers[i]);
	free(rc->headers);
	free(rc->new_mail_command);
	free(rc);
	*rcp = NULL;
}

const char *
rc_protocol_name(enum rc_protocol p)
{
	switch (p) {
	case RC_PROTO_POP3:
		return "pop3";
	case RC_PROTO_IMAP:
		return "imap";
	case RC_PROTO_LOCAL:
		return "local";
	}
	return "?";
}

unsigned
rc_account_port(const struct rc_account *a)
{
	if (a->port != 0)
		return a->port;
	if (a->protocol == RC_PROTO_POP3)
		return a->tls == RC_TLS_ON ? 995 : 110;
	return a->tls == RC_TLS_ON ? 993 : 143;
}

struct rc_account *
rc_find_account(struct rc *rc, const char *name)
{
	size_t i;

	for (i = 0; i < rc->naccounts; i++) {
		if (strcmp(rc->accounts[i].name, name) == 0)
			return &rc->accounts[i];
	}
	return NULL;
}

/* Replace *slot with a copy of v. */
static void
set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
}

static int
account_key(struct rc_account *a, struct words *ws, const char **why)
{
	const char *k = ws->w[0], *v;
	uint64_t n;
	size_t i;

	if (ws->n < 2) {
		*why = "missing value";
		return -1;
	}
	v = ws->w[1];
	if (strcmp(k, "folders") == 0) {
		for (i = 1; i < ws->n; i++) {
			a->folders = xreallocarray(
			    a->folders, a->nfolders + 1, sizeof *a->folders);
			a->folders[a->nfolders++] = xstrdup(ws->w[i]);
		}
		return 0;
	}
	if (ws->n > 2) {
		*why = "too many values (quote a value that has spaces)";
		return -1;
	}
	if (strcmp(k, "protocol") == 0) {
		if (strcmp(v, "pop3") == 0)
			a->protocol = RC_PROTO_POP3;
		else if (strcmp(v, "imap") == 0)
			a->protocol = RC_PROTO_IMAP;
		else {
			*why = "protocol must be pop3 or imap";
			return -1;
		}
	} else if (strcmp(k, "host") == 0)
		set_str(&a->host, v);
	else if (strcmp(k, "port") == 0) {
		if (parse_uint64(v, strlen(v), 65535, &n) != 0 || n == 0) {
			*why = "port must be a number from 1 to 65535";
			return -1;
		}
		a->port = (unsigned)n;
	} else if (strcmp(k, "tls") == 0) {
		if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0)
			a->tls = RC_TLS_ON;
		else if (strcmp(v, "starttls") == 0)
			a->tls = RC_TLS_STARTTLS;
		else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
			a->tls = RC_TLS_OFF;
		else {
			*why = "tls must be on, starttls or off";
			return -1;
		}
	} else if (strcmp(k, "tls_verify") == 0) {
		if (parse_bool(v, &a->tls_verify) != 0) {
			*why = "tls_verify must be yes or no";
			return -1;
		}
	} else if (strcmp(k, "cafile") == 0)
		set_str(&a->cafile, v);
	else if (strcmp(k, "user") == 0)
		set_str(&a->user, v);
	else if (strcmp(k, "password") == 0)
		set_str(&a->password, v);
	else if (strcmp(k, "passcmd") == 0)
		set_str(&a->passcmd, v);
	else if (strcmp(k, "keep") == 0) {
		if (parse_bool(v, &a->keep) != 0) {
			*why = "keep must be yes or no";
			return -1;
		}
	} else if (strcmp(k, "keep_days") == 0) {
		if (parse_uint64(v, strlen(v), 36500, &n) != 0) {
			*why =
			    "keep_days must be a number of days (0 to 36500)";
			return -1;
		}
		a->keep_days = (unsigned)n;
	} else if (strcmp(k, "delete_remote") == 0) {
		if (parse_bool(v, &a->delete_remote) != 0) {
			*why = "delete_remote must be yes or no";
			return -1;
		}
	} else if (strcmp(k, "max_message_size") == 0) {
		if (parse_size(v, UINT64_MAX / 2, &n) != 0) {
			*why = "max_message_size must be a size in bytes "
			       "(such as 1048576, 512K or 20M)";
			return -1;
		}
		a->max_message_size = n;
	} else if (strcmp(k, "offline") == 0) {
		if (strcmp(v, "none") == 0 || strcmp(v, "all") == 0) {
			a->offline = strcmp(v, "all") == 0;
			a->offline_days = 0;
		} else if (parse_uint64(v, strlen(v), 36500, &n) == 0 &&
		    n > 0) {
			a->offline = 1;
			a->offline_days = (unsigned)n;
		} else {
			*why = "offline must be none, all or a number of days "
			       "(1 to 36500)";
			return -1;
		}
	} else if (strcmp(k, "offline_max_size") == 0) {
		if (parse_size(v, UINT64_MAX / 2, &n) != 0) {
			*why = "offline_max_size must be a size in bytes "
			       "(such as 1048576, 512K or 20M)";
			return -1;
		}
		a->offline_max_size = n;
	} else if (strcmp(k, "smtp") == 0) {
		if (strncmp(v, "smtp://", 7) != 0 &&
		    strncmp(v, "smtps://", 8) != 0) {
			*why = "smtp must be an smtp:// or smtps:// URL";
			return -1;
		}
		set_str(&a->smtp, v);
	} else if (strcmp(k, "auth") == 0 || strcmp(k, "smtp_auth") == 0) {
		enum rc_auth *slot = k[0] == 'a' ? &a->auth : &a->smtp_auth;

		if (strcmp(v, "password") == 0)
			*slot = RC_AUTH_PASSWORD;
		else if (strcmp(v, "oauth2") == 0)
			*slot = RC_AUTH_OAUTH2;
		else {
			*why = k[0] == 'a'
			    ? "auth must be password or oauth2"
			    : "smtp_auth must be password or oauth2";
			return -1;
		}
	} else if (strcmp(k, "oauth_provider") == 0) {
		if (strcmp(v, "google") == 0)
			a->oauth_provider = RC_OAUTH_GOOGLE;
		else if (strcmp(v, "microsoft") == 0)
			a->oauth_provider = RC_OAUTH_MICROSOFT;
		else if (strcmp(v, "custom") == 0)
			a->oauth_provider = RC_OAUTH_CUSTOM;
		else {
			*why = "oauth_provider must be google, microsoft or "
			       "custom";
			return -1;
		}
	} else if (strcmp(k, "oauth_token_cmd") == 0)
		set_str(&a->oauth_token_cmd, v);
	else if (strcmp(k, "oauth_client_id") == 0)
		set_str(&a->oauth_client_id, v);
	else if (strcmp(k, "oauth_client_secret") == 0)
		set_str(&a->oauth_client_secret, v);
	else if (strcmp(k, "oauth_device_url") == 0 ||
	    strcmp(k, "oauth_auth_url") == 0 ||
	    strcmp(k, "oauth_token_url") == 0) {
		/* Plain http only to this machine (RFC 8252 8.3). */
		if (strncmp(v, "https://", 8) != 0 &&
		    strncmp(v, "http://127.", 11) != 0 &&
		    strncmp(v, "http://localhost", 16) != 0 &&
		    strncmp(v, "http://[::1]", 12) != 0) {
			*why = "an oauth URL must be https:// (plain http:// "
			       "only to 127.0.0.1 or localhost)";
			return -1;
		}
		set_str(k[6] == 'd'   ? &a->oauth_device_url
		        : k[6] == 'a' ? &a->oauth_auth_url
		                      : &a->oauth_token_url,
		    v);
	} else if (strcmp(k, "oauth_scope") == 0)
		set_str(&a->oauth_scope, v);
	else if (strcmp(k, "oauth_store_cmd") == 0)
		set_str(&a->oauth_store_cmd, v);
	else if (strcmp(k, "oauth_load_cmd") == 0)
		set_str(&a->oauth_load_cmd, v);
	else if (strcmp(k, "smtp_user") == 0)
		set_str(&a->smtp_user, v);
	else if (strcmp(k, "smtp_passcmd") == 0)
		set_str(&a->smtp_passcmd, v);
	else if (strcmp(k, "from") == 0)
		set_str(&a->from, v);
	else if (strcmp(k, "sent") == 0)
		set_str(&a->sent, v);
	else if (strcmp(k, "drafts") == 0)
		set_str(&a->drafts, v);
	else if (strcmp(k, "trash") == 0)
		set_str(&a->trash, v);
	else if (strcmp(k, "pgp_key") == 0)
		set_str(&a->pgp_key, v);
	else if (strcmp(k, "signature") == 0)
		set_str(&a->signature, v);
	else if (strcmp(k, "pgp_sign") == 0) {
		if (parse_bool(v, &a->pgp_sign) != 0) {
			*why = "pgp_sign must be yes or no";
			return -1;
		}
	} else if (strcmp(k, "pgp_encrypt") == 0) {
		int on;

		if (strcmp(v, "auto") == 0)
			a->pgp_encrypt = RC_ENCRYPT_AUTO;
		else if (parse_bool(v, &on) == 0)
			a->pgp_encrypt = on ? RC_ENCRYPT_YES : RC_ENCRYPT_NO;
		else {
			*why = "pgp_encrypt must be yes, no or auto";
			return -1;
		}
	} else if (strcmp(k, "smime") == 0) {
		if (parse_bool(v, &a->smime) != 0) {
			*why = "smime must be yes or no";
			return -1;
		}
	} else {
		*why = NULL;
		return -1;
	}
	return 0;
}

/* What an account with auth oauth2 lacks, or NULL. */
static const char *
oauth_check(const struct rc_account *a)
{
	if (a->oauth_token_cmd != NULL && a->oauth_provider != RC_OAUTH_NONE)
		return "both oauth_token_cmd and oauth_provider: keep one";
	if (a->oauth_token_cmd != NULL)
		return NULL;
	if (a->oauth_provider == RC_OAUTH_NONE)
		return "auth oauth2 needs a token: add oauth_token_cmd, or "
		       "oauth_provider (google, microsoft or custom) and "
		       "oauth_client_id";
	if (a->oauth_client_id == NULL)
		return "oauth_provider needs oauth_client_id (tern(1) and "
		       "tern-rc(5) say how to register one)";
	if (a->oauth_provider == RC_OAUTH_CUSTOM &&
	    (a->oauth_token_url == NULL ||
	        (a->oauth_device_url == NULL && a->oauth_auth_url == NULL)))
		return "oauth_provider custom needs oauth_token_url and "
		       "oauth_device_url or oauth_auth_url";
	if (a->oauth_store_cmd != NULL && a->oauth_load_cmd == NULL)
		return "oauth_store_cmd needs oauth_load_cmd (and the other "
		       "way round)";
	if (a->oauth_store_cmd == NULL && a->oauth_load_cmd != NULL)
		return "oauth_load_cmd needs oauth_store_cmd (and the other "
		       "way round)";
	return NULL;
}

static int
account_check(struct rc_account *a, const char **why)
{
	if ((int)a->smtp_auth == -1)
		a->smtp_auth = a->auth;
	if ((int)a->protocol == -1)
		*why = "no protocol (add: protocol pop3 or protocol imap)";
	else if (a->host == NULL)
		*why = "no host";
	else if (a->user == NULL)
		*why = "no user";
	else if (a->password != NULL && a->passcmd != NULL)
		*why = "both password and passcmd: keep one";
	else if ((a->auth == RC_AUTH_OAUTH2 ||
	             a->smtp_auth == RC_AUTH_OAUTH2) &&
	    (*why = oauth_check(a)) != NULL)
		return -1;
	else if (a->auth != RC_AUTH_OAUTH2 && a->smtp_auth != RC_AUTH_OAUTH2 &&
	    (a->oauth_token_cmd != NULL || a->oauth_provider != RC_OAUTH_NONE))
		*why = "oauth_token_cmd and oauth_provider need auth oauth2";
	else if (a->protocol != RC_PROTO_POP3 &&
	    (a->keep || a->keep_days || a->delete_remote))
		*why =
		    "keep, keep_days and delete_remote are for pop3 accounts";
	else if (!a->keep && (a->keep_days || a->delete_remote))
		*why = "keep_days and delete_remote need keep yes";
	else if (a->protocol != RC_PROTO_IMAP && a->offline)
		*why = "offline is for imap accounts (a pop3 account keeps "
		       "everything it downloads)";
	else
		return 0;
	return -1;
}

/* Add addr to a list of addresses unless it is there. */
static void
list_add(char ***v, size_t *n, const char *addr)
{
	for (size_t i = 0; i < *n; i++) {
		if (ascii_strcasecmp((*v)[i], addr) == 0)
			return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(addr);
}

int
rc_is_list(const struct rc *rc, const char *addr, int subscribed)
{
	char *const *v = subscribed ? rc->subscribed : rc->lists;
	size_t n = subscribed ? rc->nsubscribed : rc->nlists;

	for (size_t i = 0; addr != NULL && i < n; i++) {
		if (ascii_strcasecmp(v[i], addr) == 0)
			return 1;
	}
	return 0;
}

/* A header field name: printable ASCII but ':' (RFC 5322 2.2). */
static int
valid_field_name(const char *s, size_t len)
{
	if (len == 0 || len > 76)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] >= 127 || s[i] == ':')
			return 0;
	}
	return 1;
}

/*
 * set headers = Date From Subject: the words after '=', each a list of
 * names separated by spaces or commas.
 */
static int
set_headers(struct rc *rc, struct words *ws, const char **why)
{
	char **v = NULL;
	size_t n = 0, i;

	for (i = 3; i < ws->n; i++) {
		const char *p = ws->w[i];

		while (*p != '\0') {
			size_t l = strcspn(p, " ,\t");

			if (l == 0) {
				p++;
				continue;
			}
			if (!valid_field_name(p, l) || n == RC_MAX_HEADERS) {
				*why = n == RC_MAX_HEADERS
				    ? "headers: at most 64 fields"
				    : "headers: a list of header field names "
				      "(such as Date From To Subject)";
				goto fail;
			}
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n++] = xstrndup(p, l);
			p += l;
		}
	}
	if (n == 0) {
		*why = "headers: name at least one header field";
		goto fail;
	}
	for (i = 0; i < rc->nheaders; i++)
		free(rc->headers[i]);
	free(rc->headers);
	rc->headers = v;
	rc->nheaders = n;
	return 0;
fail:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -1;
}

static int
top_set(struct rc *rc, struct words *ws, const char **why)
{
	const char *k, *v;

	if (ws->n >= 4 && strcmp(ws->w[1], "headers") == 0 &&
	    strcmp(ws->w[2], "=") == 0)
		return set_headers(rc, ws, why);
	if (ws->n != 4 || strcmp(ws->w[2], "=") != 0) {
		*why = "expected: set KEY = VALUE";
		return -1;
	}
	k = ws->w[1];
	v = ws->w[3];
	if (strcmp(k, "index_format") == 0) {
		if (indexfmt_check(v, why) != 0)
			return -1;
		set_str(&rc->index_format, v);
		return 0;
	}
	if (strcmp(k, "date_format") == 0) {
		if (*v == '\0') {
			*why = "date_format must not be empty";
			return -1;
		}
		set_str(&rc->date_format, v);
		return 0;
	}
	if (strcmp(k, "new_mail_command") == 0) {
		if (*v == '\0') {
			free(rc->new_mail_command);
			rc->new_mail_command = NULL;
		} else
			set_str(&rc->new_mail_command, v);
		return 0;
	}
	if (strcmp(k, "theme") == 0) {
		if (*v == '\0' || strchr(v, '/') != NULL || *v == '.') {
			*why = "theme must be a theme name, not a path";
			return -1;
		}
		set_str(&rc->theme, v);
	} else if (strcmp(k, "html_filter") == 0 || strcmp(k, "mailcap") == 0)
		set_str(&rc->mailcap, v);
	else if (strcmp(k, "editor") == 0)
		set_str(&rc->editor, v);
	else if (strcmp(k, "lists") == 0 || strcmp(k, "subscribe") == 0) {
		/* set lists = "a@b c@d": the same as a lists line. */
		struct words lw = { .n = 0 };

		if (split_line(v, strlen(v), &lw, why) != 0)
			return -1;
		for (size_t i = 0; i < lw.n; i++) {
			list_add(&rc->lists, &rc->nlists, lw.w[i]);
			if (k[0] == 's')
				list_add(
				    &rc->subscribed, &rc->nsubscribed, lw.w[i]);
		}
		words_free(&lw);
	} else if (strcmp(k, "threads") == 0) {
		if (parse_bool(v, &rc->sort_threads) != 0) {
			*why = "threads must be yes or no";
			return -1;
		}
	} else {
		*why = NULL;
		return -1;
	}
	return 0;
}

struct parse {
	struct rc *rc;
	struct rc_account *cur; /* the account block being read */
	size_t cur_depth; /* the depth of the file that began it */
	/* The real paths of the files being read, outermost first (NULL:
	 * text from memory); a source of one of them is a loop. */
	char *stack[RC_MAX_DEPTH];
	size_t depth;
	int private_file; /* others cannot read the file being read */
	char **cause;
};

static int rc_check_owner(
    const char *path, const struct stat *st, char **cause);
static char *parent_dir(const char *path);
static int parse_text(
    struct parse *ps, const char *name, const char *text, size_t len);

/*
 * source FILE, from line of file from: read it in place, under the rc's
 * own checks. FILE is relative to from's directory; ~/ is the home.
 */
static int
source_file(struct parse *ps, const char *from, int line, const char *arg)
{
	struct buf b;
	struct stat st;
	char *path, *real = NULL, *why = NULL;
	int fd, ret = -1, saved_private = ps->private_file;
	size_t i;

	buf_init(&b, RC_MAX_SIZE);
	if (arg[0] == '/')
		path = xstrdup(arg);
	else if (arg[0] == '~' && arg[1] == '/')
		path = xasprintf("%s/%s",
		    getenv("HOME") != NULL ? getenv("HOME") : "", arg + 2);
	else {
		char *dir = parent_dir(from);

		path = xasprintf("%s/%s", dir, arg);
		free(dir);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_cause(ps->cause, "%s:%d: source: cannot open %s: %s", from,
		    line, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		set_cause(ps->cause, "%s:%d: source: %s is not a file", from,
		    line, path);
		goto out;
	}
	close(fd);
	if (rc_check_owner(path, &st, &why) != 0) {
		set_cause(ps->cause, "%s:%d: source: %s", from, line, why);
		goto out;
	}
	real = realpath(path, NULL);
	for (i = 0; real != NULL && i < ps->depth; i++) {
		if (ps->stack[i] != NULL && strcmp(ps->stack[i], real) == 0) {
			set_cause(ps->cause,
			    "%s:%d: source: %s is already being read (a loop "
			    "of source lines)",
			    from, line, path);
			goto out;
		}
	}
	if (ps->depth == RC_MAX_DEPTH) {
		set_cause(ps->cause,
		    "%s:%d: source: nested more than %d deep (a loop of "
		    "source lines?)",
		    from, line, RC_MAX_DEPTH);
		goto out;
	}
	if (read_file(path, RC_MAX_SIZE, &b, &why) != 0) {
		set_cause(ps->cause, "%s:%d: source: %s", from, line, why);
		goto out;
	}
	ps->stack[ps->depth++] = real;
	real = NULL;
	ps->private_file = (st.st_mode & (S_IRGRP | S_IROTH)) == 0;
	ret = parse_text(ps, path, b.data ? b.data : "", b.len);
	ps->private_file = saved_private;
	free(ps->stack[--ps->depth]);
	ps->stack[ps->depth] = NULL;
out:
	free(why);
	free(real);
	free(path);
	buf_free(&b);
	return ret;
}

/* Parse the lines of one file (name) into ps. */
static int
parse_text(struct parse *ps, const char *name, const char *text, size_t len)
{
	struct rc *rc = ps->rc;
	struct words ws = { .n = 0 };
	const char *why = NULL, *p = text, *end = text + len;
	char **cause = ps->cause;
	int line = 0, rc_ok = -1;
	/* The depth of this file (ps->depth counts those being read). */
	size_t depth = ps->depth;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (memchr(p, '\0', l) != NULL) {
			why = "NUL byte in line";
			goto fail;
		}
		if (split_line(p, l, &ws, &why) != 0)
			goto fail;
		p += l + (nl != NULL);
		if (ws.n == 0)
			continue;
		if (strcmp(ws.w[0], "account") == 0) {
			if (ps->cur != NULL &&
			    account_check(ps->cur, &why) != 0) {
				line = ps->cur->line;
				goto fail;
			}
			if (ws.n != 2) {
				why = "expected: account NAME";
				goto fail;
			}
			if (!valid_account_name(ws.w[1])) {
				why =
				    "account names use letters, digits and - _ . @";
				goto fail;
			}
			if (strcmp(ws.w[1], "local") == 0) {
				why =
				    "'local' is the built-in account of local folders";
				goto fail;
			}
			if (rc_find_account(rc, ws.w[1]) != NULL) {
				why =
				    "an account of that name is already defined";
				goto fail;
			}
			rc->accounts = xreallocarray(rc->accounts,
			    rc->naccounts + 1, sizeof *rc->accounts);
			ps->cur = &rc->accounts[rc->naccounts++];
			ps->cur_depth = depth;
			memset(ps->cur, 0, sizeof *ps->cur);
			ps->cur->name = xstrdup(ws.w[1]);
			ps->cur->protocol = (enum rc_protocol) - 1;
			ps->cur->tls = RC_TLS_ON;
			ps->cur->tls_verify = 1;
			ps->cur->smtp_auth = (enum rc_auth) - 1;
			ps->cur->max_message_size = 256ULL * 1024 * 1024;
			ps->cur->offline_max_size = 10ULL * 1024 * 1024;
			ps->cur->line = line;
		} else if (strcmp(ws.w[0], "set") == 0) {
			if (top_set(rc, &ws, &why) != 0) {
				if (why == NULL)
					why = "unknown setting";
				goto fail;
			}
		} else if (strcmp(ws.w[0], "source") == 0) {
			if (ws.n != 2 || *ws.w[1] == '\0') {
				why = "expected: source FILE";
				goto fail;
			}
			if (source_file(ps, name, line, ws.w[1]) != 0)
				goto out;
		} else if (strcmp(ws.w[0], "bind") == 0) {
			struct rc_bind *b;

			if (ws.n != 4) {
				why = "expected: bind MAP KEY FUNCTION";
				goto fail;
			}
			rc->binds = xreallocarray(
			    rc->binds, rc->nbinds + 1, sizeof *rc->binds);
			b = &rc->binds[rc->nbinds++];
			b->map = xstrdup(ws.w[1]);
			b->key = xstrdup(ws.w[2]);
			b->function = xstrdup(ws.w[3]);
			b->file = xstrdup(name);
			b->line = line;
		} else if (strcmp(ws.w[0], "lists") == 0 ||
		    strcmp(ws.w[0], "subscribe") == 0) {
			/* Global wherever written, as in mutt. */
			if (ws.n < 2) {
				why = "expected: lists ADDRESS... or subscribe"
				      " ADDRESS...";
				goto fail;
			}
			for (size_t k = 1; k < ws.n; k++) {
				list_add(&rc->lists, &rc->nlists, ws.w[k]);
				if (ws.w[0][0] == 's')
					list_add(&rc->subscribed,
					    &rc->nsubscribed, ws.w[k]);
			}
		} else if (ps->cur != NULL) {
			if (strcmp(ws.w[0], "password") == 0 &&
			    !ps->private_file) {
				why = "a password in a file that others can "
				      "read: chmod 600 it, or use passcmd";
				goto fail;
			}
			if (account_key(ps->cur, &ws, &why) != 0) {
				if (why == NULL) {
					set_cause(cause,
					    "%s:%d: unknown key '%s'", name,
					    line, ws.w[0]);
					goto out;
				}
				goto fail;
			}
		} else {
			set_cause(cause, "%s:%d: unknown command '%s'", name,
			    line, ws.w[0]);
			goto out;
		}
		words_free(&ws);
	}
	/* An account block ends with the file that began it. */
	if (ps->cur != NULL && ps->cur_depth == depth) {
		if (account_check(ps->cur, &why) != 0) {
			line = ps->cur->line;
			goto fail;
		}
		ps->cur = NULL;
	}
	rc_ok = 0;
	goto out;
fail:
	set_cause(cause, "%s:%d: %s", name, line, why);
out:
	words_free(&ws);
	return rc_ok;
}

int
rc_parse(const char *name, const char *text, size_t len, struct rc **rcp,
    char **cause)
{
	struct parse ps;
	int ret;

	memset(&ps, 0, sizeof ps);
	ps.rc = xcalloc(1, sizeof *ps.rc);
	ps.rc->path = xstrdup(name);
	ps.rc->theme = xstrdup("default");
	ps.cause = cause;
	ps.private_file = 1; /* rc_load judges the rc itself */
	ps.stack[ps.depth++] = realpath(name, NULL);
	ret = parse_text(&ps, name, text, len);
	free(ps.stack[0]);
	if (ret == 0)
		*rcp = ps.rc;
	else
		rc_free(&ps.rc);
	return ret;
}

/*
 * The parent directory of path ("." when it has none); malloc'd.
 */
static char *
parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Whether a directory lets someone other than us or root replace files. */
static int
dir_unsafe(const char *dir, char **cause)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return 0; /* the file opened: nothing more to say */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return set_cause(cause,
		    "%s is writable by others, who could replace the rc in it "
		    "and run commands as you: chmod go-w %s, or keep the rc "
		    "elsewhere",
		    dir, dir);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return set_cause(cause,
		    "%s belongs to another user, who could replace the rc in "
		    "it and run commands as you: keep the rc in a directory "
		    "of yours",
		    dir);
	return 0;
}

/*
 * As ssh does for its config: an rc that others can write, or that sits in
 * a directory they can write, is refused whatever it holds, since passcmd,
 * editor and html_filter are shell commands run as the user. A device
 * (/dev/stdin, /dev/null) is judged by its directory alone.
 */
static int
rc_check_owner(const char *path, const struct stat *st, char **cause)
{
	char *dir, *real;
	int rc = 0;

	if (!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode)) {
		if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
			return set_cause(cause,
			    "%s is writable by others, who could make tern run "
			    "any command as you (passcmd, editor, html_filter): "
			    "chmod go-w %s",
			    path, path);
		if (st->st_uid != geteuid() && st->st_uid != 0)
			return set_cause(cause,
			    "%s belongs to another user, who could make tern "
			    "run any command as you: use an rc of your own",
			    path);
	}
	dir = parent_dir(path);
	rc = dir_unsafe(dir, cause);
	free(dir);
	/* A link's target lives in a directory of its own. */
	if (rc == 0 && (real = realpath(path, NULL)) != NULL) {
		dir = parent_dir(real);
		rc = dir_unsafe(dir, cause);
		free(dir);
		free(real);
	}
	return rc;
}

int
rc_load(const char *path, int missing_ok, struct rc **rcp, char **cause)
{
	struct buf b;
	struct stat st;
	size_t i;
	int fd;

	buf_init(&b, RC_MAX_SIZE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return rc_parse(path, "", 0, rcp, cause);
		return set_cause(
		    cause, "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return set_cause(cause, "%s: %s", path, strerror(errno));
	}
	close(fd);
	if (rc_check_owner(path, &st, cause) != 0)
		return -1;
	if (read_file(path, RC_MAX_SIZE, &b, cause) != 0) {
		buf_free(&b);
		return -1;
	}
	if (rc_parse(path, b.data ? b.data : "", b.len, rcp, cause) != 0) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	for (i = 0; i < (*rcp)->naccounts; i++) {
		if ((*rcp)->accounts[i].password != NULL &&
		    (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) !=
		        0) {
			set_cause(cause,
			    "%s:%d: account %s has a password but the file is "
			    "readable or writable by others; chmod 600 %s, or use "
			    "passcmd",
			    path, (*rcp)->accounts[i].line,
			    (*rcp)->accounts[i].name, path);
			rc_free(rcp);
			return -1;
		}
	}
	return 0;
}

static char *
xdg_dir(const char *var, const char *fallback)
{
	const char *v = getenv(var), *home;

	if (v != NULL && *v == '/')
		return xasprintf("%s/tern", v);
	home = getenv("HOME");
	if (home == NULL || *home == '\0')
		home = "/";
	return xasprintf("%s/%s/tern", home, fallback);
}

char *
rc_default_path(void)
{
	char *dir = xdg_dir("XDG_CONFIG_HOME", ".config");
	char *p = xasprintf("%s/rc", dir);

	free(dir);
	return p;
}

char *
rc_data_dir(void)
{
	return xdg_dir("XDG_DATA_HOME", ".local/share");
}

/*
 * How long a command run for a secret may take: TERN_CMD_TIMEOUT seconds
 * (a decimal number), 30 s by default.
 */
static uint64_t
cmd_timeout_ms(void)
{
	const char *v = getenv("TERN_CMD_TIMEOUT");
	char *end;
	double secs;

	if (v == NULL || *v == '\0')
		return 30000;
	secs = strtod(v, &end);
	if (*end != '\0' || !(secs > 0) || secs > 86400)
		return 30000;
	return (uint64_t)(secs * 1000);
}

/*
 * Whether this process is in the foreground of its terminal. Then the
 * command shares its process group, so a prompt on the terminal works
 * (in a group of its own it would be stopped by SIGTTIN); else it gets a
 * group of its own, so a timeout stops all it started.
 */
static int
in_foreground(void)
{
	int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	pid_t fg;

	if (fd < 0)
		return 0;
	fg = tcgetpgrp(fd);
	close(fd);
	return fg >= 0 && fg == getpgrp();
}

int
rc_run_cmd(const struct rc_account *a, const char *what, const char *cmd,
    const char *input, size_t inlen, char **outp, size_t *outlen, char **cause)
{
	struct buf out;
	int fds[2], in[2] = { -1, -1 }, status = 0, own_group, timed_out = 0;
	uint64_t limit = cmd_timeout_ms(), deadline;
	pid_t pid;
	char *shown, tmp[4096];

	if (pipe2(fds, O_CLOEXEC) != 0)
		return set_cause(cause, "pipe: %s", strerror(errno));
	/* The input (a token) goes through a pipe, never argv. */
	if (input != NULL && pipe2(in, O_CLOEXEC) != 0) {
		close(fds[0]);
		close(fds[1]);
		return set_cause(cause, "pipe: %s", strerror(errno));
	}
	own_group = !in_foreground();
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		if (in[0] >= 0) {
			close(in[0]);
			close(in[1]);
		}
		return set_cause(cause, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		if (own_group)
			setpgid(0, 0);
		dup2(fds[1], 1);
		if (in[0] >= 0)
			dup2(in[0], 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (own_group)
		setpgid(pid, pid); /* either side may run first */
	close(fds[1]);
	if (in[0] >= 0) {
		const char *p = input;
		size_t left = inlen;
		sigset_t pipeset, oldmask;

		close(in[0]);
		/* A command that exits without reading must not kill us with
		 * SIGPIPE: blocked in this thread for the write (which then
		 * fails with EPIPE), the pending one discarded after. */
		sigemptyset(&pipeset);
		sigaddset(&pipeset, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
		/* Small enough for the pipe's buffer: the write cannot wait
		 * for a command that does not read. */
		while (left > 0 && left <= 16384) {
			ssize_t n = write(in[1], p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
		close(in[1]);
		if (!sigismember(&oldmask, SIGPIPE)) {
			struct timespec zero = { 0, 0 };

			while (sigtimedwait(&pipeset, NULL, &zero) > 0)
				;
		}
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	}
	buf_init(&out, 64 * 1024);
	deadline = now_ms() + limit;
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		uint64_t now = now_ms();
		ssize_t n;
		int r;

		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0)
			continue; /* the deadline, checked above */
		n = read(fds[0], tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		(void)buf_add(&out, tmp, (size_t)n);
	}
	close(fds[0]);
	if (timed_out) {
		/* A pinentry with no terminal to ask on waits for ever. */
		if (own_group)
			kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		/* passcmd has always been named by its text; the oauth
		 * commands carry tokens and are named by their key only. */
		if (strcmp(what, "passcmd") == 0) {
			shown = text_visible_dup(cmd);
			set_cause(cause,
			    "account %s: passcmd \"%s\" gave no password "
			    "within %.3g s and was stopped (is it waiting for a "
			    "terminal?); make it work without one, or set "
			    "TERN_CMD_TIMEOUT to wait longer",
			    a->name, shown, (double)limit / 1000.0);
			free(shown);
		} else
			set_cause(cause,
			    "account %s: %s gave no answer within %.3g s and "
			    "was stopped (is it waiting for a terminal?); make "
			    "it work without one, or set TERN_CMD_TIMEOUT to "
			    "wait longer",
			    a->name, what, (double)limit / 1000.0);
		buf_free(&out);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		set_cause(cause, "account %s: %s failed (exit %d)", a->name,
		    what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		buf_free(&out);
		return -1;
	}
	if (out.data == NULL) {
		*outp = xstrdup("");
		*outlen = 0;
		return 0;
	}
	*outp = buf_steal(&out, outlen);
	return 0;
}

char *
rc_account_password(const struct rc_account *a, char **cause)
{
	char *out, *nl;
	size_t len;

	if (a->password != NULL)
		return xstrdup(a->password);
	if (a->passcmd == NULL) {
		set_cause(
		    cause, "account %s has no password or passcmd", a->name);
		return NULL;
	}
	if (rc_run_cmd(a, "passcmd", a->passcmd, NULL, 0, &out, &len, cause) !=
	    0)
		return NULL;
	if (len == 0) {
		set_cause(
		    cause, "account %s: passcmd printed nothing", a->name);
		free(out);
		return NULL;
	}
	nl = strchr(out, '\n');
	if (nl != NULL)
		*nl = '\0';
	nl = strchr(out, '\r');
	if (nl != NULL)
		*nl = '\0';
	return out;
}
