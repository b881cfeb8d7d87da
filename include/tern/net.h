/*
 * net: an authenticated connection to a POP3 or IMAP server.
 *
 * libcurl does the greeting, capabilities, TLS (implicit or STARTTLS,
 * certificates verified), and SASL login (a password, or an OAuth 2.0
 * token by OAUTHBEARER or XOAUTH2) with CURLOPT_CONNECT_ONLY; then the
 * project's own protocol engines speak over net_send()/net_read(). The easy
 * handle stays in its multi handle for the life of the connection (libcurl
 * refuses curl_easy_send otherwise).
 *
 * Every wait is bounded: connect by connect_timeout_ms, each read or write by
 * io_timeout_ms. A timeout, a reset or an EOF is an error with a message,
 * never a hang.
 */
#ifndef TERN_NET_H
#define TERN_NET_H

#include <stddef.h>
#include <sys/types.h>

#include "tern/rc.h"

struct net_conn;

struct net_params {
	const char *scheme; /* "imap" or "pop3" */
	const char *host;
	unsigned port;
	enum rc_tls tls;
	int verify; /* verify the peer certificate and host name */
	const char *cafile;
	const char *user;
	const char *password;
	/*
	 * An OAuth 2.0 access token: log in with SASL OAUTHBEARER, else
	 * XOAUTH2, never with the password. NULL: the password.
	 */
	const char *bearer;
	const char *account; /* the account's name, for messages */
	long connect_timeout_ms; /* 0: 30 s */
	long io_timeout_ms; /* 0: 120 s */
	int quiet; /* no plaintext warning on stderr */
	/*
	 * A warning about the connection (tls off, tls_verify off), text
	 * without the "tern: " prefix. NULL: printed on stderr.
	 */
	void (*note)(void *arg, const char *text);
	void *note_arg;
};

/* TCP keepalive on every connection: idle seconds, interval, probes. */
#define NET_KEEPIDLE 60
#define NET_KEEPINTVL 15
#define NET_KEEPCNT 4
/* Set them on a libcurl easy handle (a CURL *), for any transfer. */
void net_keepalive(void *easy);

/* Initialise libcurl once per process (main calls it). */
void net_global_init(void);
void net_global_cleanup(void);

/*
 * The cause for CURLE_SSL_CACERT_BADFILE on easy: the rc's cafile could not
 * be read, or, with no cafile, the system has no trust store. Returns -1.
 */
int net_ca_cause(
    void *easy, const char *cafile, const char *detail, char **cause);

/* What net_connect returns when the server refused the login. */
#define NET_ERR_AUTH (-3)

/*
 * Connect and log in; 0, or -1 (NET_ERR_AUTH: the login was refused)
 * with a cause that says what to do.
 */
int net_connect(const struct net_params *p, struct net_conn **cp, char **cause);
void net_close(struct net_conn **cp);

/* Send all of buf; -1 with cause on error or timeout. */
int net_send(struct net_conn *c, const void *buf, size_t len, char **cause);
/*
 * Read what is available (at most len), waiting up to the io timeout.
 * Returns the count (> 0) or -1 with cause ("connection closed by the
 * server", "timed out", ...).
 */
ssize_t net_read(struct net_conn *c, void *buf, size_t len, char **cause);
/*
 * Like net_read, but waits at most timeout_ms (-1: for ever) and returns 0
 * on timeout or when wakefd (if >= 0) becomes readable. For IDLE.
 */
ssize_t net_read_wait(struct net_conn *c, void *buf, size_t len, int timeout_ms,
    int wakefd, char **cause);
/* The socket, for poll() by an event loop. */
int net_fd(struct net_conn *c);
/* "host:port", for messages. */
const char *net_peer(struct net_conn *c);

#endif
