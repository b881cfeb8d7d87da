/*
 * rc: the configuration file.
 *
 *	set KEY = VALUE
 *	account NAME
 *	    KEY VALUE
 *	bind MAP KEY FUNCTION
 *	source FILE
 *
 * A sourced file (relative to the directory of the file that names it) is
 * read as if its lines stood in place of the source line, and is held to
 * the rc's own checks: one that others can write is refused.
 * Values may be "double quoted" (with \" and \\ escapes) or 'single quoted';
 * '#' starts a comment outside quotes. Errors name FILE:LINE.
 * All memory belongs to the struct rc and is released by rc_free().
 */
#ifndef TERN_RC_H
#define TERN_RC_H

#include <stddef.h>
#include <stdint.h>

enum rc_protocol { RC_PROTO_POP3, RC_PROTO_IMAP, RC_PROTO_LOCAL };
enum rc_tls { RC_TLS_ON, RC_TLS_STARTTLS, RC_TLS_OFF };
enum rc_auth { RC_AUTH_PASSWORD, RC_AUTH_OAUTH2 };
enum rc_oauth_provider {
	RC_OAUTH_NONE, /* no built-in sign-in (oauth_token_cmd) */
	RC_OAUTH_GOOGLE,
	RC_OAUTH_MICROSOFT,
	RC_OAUTH_CUSTOM,
};

struct rc_account {
	char *name;
	enum rc_protocol protocol;
	char *host;
	unsigned port; /* 0: the protocol's default for tls */
	enum rc_tls tls;
	int tls_verify; /* 1 unless "tls_verify no" */
	char *cafile;
	char *user;
	char *password;
	char *passcmd;
	int keep; /* pop3: leave messages on the server */
	unsigned keep_days; /* pop3 with keep: 0 = forever */
	int delete_remote; /* pop3 with keep: local delete -> DELE */
	uint64_t max_message_size;
	/*
	 * imap: the bodies a sync keeps offline. offline_days 0 with
	 * offline set: every message; else those of the last that many
	 * days. A message bigger than offline_max_size keeps its text parts
	 * only (the view), its attachments come when opened.
	 */
	int offline;
	unsigned offline_days;
	uint64_t offline_max_size;
	/*
	 * auth oauth2: an access token instead of the password, from
	 * oauth_token_cmd (first line printed), or from tern's own sign-in
	 * with the provider's endpoints (a preset, overridden by the
	 * oauth_*_url keys). The tokens it keeps go to oauth_store_cmd and
	 * come from oauth_load_cmd when set, else a file in the store.
	 */
	enum rc_auth auth;
	char *oauth_token_cmd;
	enum rc_oauth_provider oauth_provider;
	char *oauth_client_id;
	char *oauth_client_secret;
	char *oauth_device_url;
	char *oauth_auth_url;
	char *oauth_token_url;
	char *oauth_scope;
	char *oauth_store_cmd;
	char *oauth_load_cmd;
	char *smtp; /* smtp[s]://host[:port] */
	char *smtp_user;
	char *smtp_passcmd;
	enum rc_auth smtp_auth; /* the account's auth unless smtp_auth says */
	char *from;
	char *sent; /* folder names; NULL: SPECIAL-USE or default */
	char *drafts;
	char *trash;
	/*
	 * Signing and encrypting what is sent (OpenPGP, or S/MIME with
	 * smime): the key to sign with (fingerprint or address; NULL: the
	 * From address), sign by default, encrypt never, always, or when
	 * every recipient has a usable key. Draft lines Sign: and Encrypt:
	 * override them per message.
	 */
	char *pgp_key;
	int pgp_sign;
	enum rc_encrypt {
		RC_ENCRYPT_NO,
		RC_ENCRYPT_YES,
		RC_ENCRYPT_AUTO
	} pgp_encrypt;
	int smime;
	/* A file whose text ends new messages, replies and forwards, under
	 * a "-- " line. */
	char *signature;
	char **folders; /* imap: only these folders (NULL: all) */
	size_t nfolders;
	int line; /* where the block starts, for messages */
};

struct rc_bind {
	char *map; /* index, pager, ... */
	char *key;
	char *function;
	char *file; /* where the line is, for messages */
	int line;
};

struct rc {
	char *path;
	char *theme;
	char *
	    mailcap; /* html converter command, e.g. "w3m -dump -T text/html" */
	char *editor; /* overrides $VISUAL/$EDITOR */
	int sort_threads; /* index view threaded by default */
	char
	    *index_format; /* the index line (mutt's % codes); NULL: built in */
	char *date_format; /* strftime for %d and %D; NULL: the short date */
	/* The header fields the pager shows, in order; NULL: Date, From,
	 * To, Cc, Subject. */
	char **headers;
	size_t nheaders;
	/* Run through /bin/sh when new mail arrives, with the account, the
	 * folder and the count as $1 $2 $3 (and TERN_ACCOUNT, TERN_FOLDER,
	 * TERN_COUNT). */
	char *new_mail_command;
	struct rc_account *accounts;
	size_t naccounts;
	struct rc_bind *binds;
	size_t nbinds;
	/*
	 * Mailing lists by address, as mutt's lists and subscribe: a known
	 * list is where reply-to-list writes when a message names no
	 * List-Post; mail to a subscribed one (subscribed lists are known
	 * too) shows "To <list>" in the index.
	 */
	char **lists;
	size_t nlists;
	char **subscribed;
	size_t nsubscribed;
};

/*
 * Parse the rc file at path. A missing file is not an error when
 * missing_ok is set (an empty rc results). Returns 0, or -1 with
 * cause "PATH:LINE: what is wrong".
 */
int rc_load(const char *path, int missing_ok, struct rc **rcp, char **cause);
/* Parse from memory (tests, fuzzing); name is used in messages. */
int rc_parse(const char *name, const char *text, size_t len, struct rc **rcp,
    char **cause);
void rc_free(struct rc **rcp);

/* Default path: $XDG_CONFIG_HOME/tern/rc or ~/.config/tern/rc (malloc'd). */
char *rc_default_path(void);
/* Data directory: $XDG_DATA_HOME/tern or ~/.local/share/tern (malloc'd). */
char *rc_data_dir(void);

struct rc_account *rc_find_account(struct rc *rc, const char *name);
/*
 * Is addr (an addr-spec) a known mailing list (subscribed: one subscribed
 * to)? ASCII case-insensitive.
 */
int rc_is_list(const struct rc *rc, const char *addr, int subscribed);
const char *rc_protocol_name(enum rc_protocol p);
/* The effective port for an account (explicit, or the default). */
unsigned rc_account_port(const struct rc_account *a);

/*
 * The account's password: "password" as written, or the first line that
 * "passcmd" prints (run through /bin/sh because the user wrote it).
 * Returns a malloc'd string, or NULL with cause.
 */
char *rc_account_password(const struct rc_account *a, char **cause);

/*
 * Run cmd (a command the user wrote in the rc, through /bin/sh) with
 * input (may be NULL) on its standard input, within the timeout of
 * passcmd (TERN_CMD_TIMEOUT, 30 s). what names it in messages
 * ("oauth_token_cmd"); the command's text never appears in them. Returns
 * 0 with *out (malloc'd, NUL-terminated, at most 64 KiB) and *outlen, or
 * -1 with cause.
 */
int rc_run_cmd(const struct rc_account *a, const char *what, const char *cmd,
    const char *input, size_t inlen, char **out, size_t *outlen, char **cause);

#endif
