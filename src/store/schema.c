/*
 * The schema and its forward migrations. Each entry upgrades from version
 * i to i+1 and runs in the same transaction as the user_version bump, so a
 * crash mid-migration leaves the old version intact.
 */
#include <stdlib.h>
#include <unistd.h>

#include "store-private.h"

static const char *const migrations[] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE account ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  protocol TEXT NOT NULL,"
	"  quota_used INTEGER,"
	"  quota_limit INTEGER);"
	"CREATE TABLE folder ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  special TEXT,"
	"  uidvalidity INTEGER NOT NULL DEFAULT 0,"
	"  uidnext INTEGER NOT NULL DEFAULT 0,"
	"  highestmodseq INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (account_id, name));"
	"CREATE TABLE message ("
	"  id INTEGER PRIMARY KEY,"
	"  folder_id INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,"
	"  uid INTEGER NOT NULL DEFAULT 0,"
	"  uidvalidity INTEGER NOT NULL DEFAULT 0,"
	"  modseq INTEGER NOT NULL DEFAULT 0,"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  keywords TEXT,"
	"  date INTEGER NOT NULL DEFAULT 0,"
	"  internaldate INTEGER NOT NULL DEFAULT 0,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  from_ TEXT, to_ TEXT, cc TEXT, subject TEXT,"
	"  message_id TEXT, in_reply_to TEXT, refs TEXT, content_type TEXT,"
	"  has_attach INTEGER NOT NULL DEFAULT 0,"
	"  has_body INTEGER NOT NULL DEFAULT 0,"
	"  pop3_uidl TEXT,"
	"  fetched_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX message_by_date ON message(folder_id, date, id);"
	"CREATE UNIQUE INDEX message_by_uid ON message(folder_id, uid);"
	"CREATE INDEX message_by_msgid ON message(message_id);"
	"CREATE TABLE body ("
	"  message_id INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,"
	"  raw BLOB NOT NULL);"
	"CREATE TABLE part ("
	"  message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,"
	"  section TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (message_id, section));"
	/* POP3: one row per UIDL ever downloaded, kept after a local delete so
	 * a message left on the server is never fetched twice. */
	"CREATE TABLE pop3_uidl ("
	"  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	"  uidl TEXT NOT NULL,"
	"  message_id INTEGER REFERENCES message(id) ON DELETE SET NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (account_id, uidl));"
	/* Offline changes, replayed in id order. */
	"CREATE TABLE pending ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	"  op TEXT NOT NULL,"
	"  folder TEXT,"
	"  uidvalidity INTEGER NOT NULL DEFAULT 0,"
	"  uid INTEGER NOT NULL DEFAULT 0,"
	"  arg TEXT,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	"  raw BLOB NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  created INTEGER NOT NULL,"
	"  sent_at INTEGER);",
	/* 1 -> 2: the full-screen client's index. Unread counts read
	 * (folder_id, flags) alone; each sort order of a folder is an index
	 * walk instead of a sort of every row. */
	"CREATE INDEX message_by_flags ON message(folder_id, flags);"
	"CREATE INDEX message_by_from ON message(folder_id, from_ COLLATE NOCASE);"
	"CREATE INDEX message_by_subject ON message(folder_id,"
	"  subject COLLATE NOCASE);"
	"CREATE INDEX message_by_size ON message(folder_id, size);",
	/* 2 -> 3: the bytes of an APPEND queued by an import (the op's arg
	 * is NULL), deleted with the op once the server has them. */
	"CREATE TABLE pending_raw ("
	"  pending_id INTEGER PRIMARY KEY"
	"    REFERENCES pending(id) ON DELETE CASCADE,"
	"  raw BLOB NOT NULL,"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  internaldate INTEGER NOT NULL DEFAULT 0,"
	"  message_id TEXT);"
	"CREATE INDEX pending_raw_by_msgid ON pending_raw(message_id);",
	/* 3 -> 4: an IMAP folder's name as the server spells it on the
	 * wire (its LIST), which need not round-trip through UTF-8. */
	"ALTER TABLE folder ADD COLUMN imap_name TEXT;",
	/* 4 -> 5: every index on message is paid for by each message a sync
	 * stores, and the sort indexes of migration 2 (sender and subject
	 * text, size) doubled the time of a 100,000-message IMAP header sync.
	 * Those sorts run in the client's background loader instead; the
	 * flags index stays for unread counts. */
	"DROP INDEX message_by_from;"
	"DROP INDEX message_by_subject;"
	"DROP INDEX message_by_size;",
	/* 5 -> 6: an IMAP index is fetched newest first, so the UIDs and
	 * dates a sync stores go down. Kept in descending order, they are
	 * appended to their b-trees instead of inserted in front of the
	 * rows before them, which split and rebalanced pages all the way:
	 * 7% of a 100,000-message header sync, and indexes a third smaller.
	 * Lookups and both scan directions are unchanged. */
	"DROP INDEX message_by_uid;"
	"CREATE UNIQUE INDEX message_by_uid ON message(folder_id, uid DESC);"
	"DROP INDEX message_by_date;"
	"CREATE INDEX message_by_date ON message(folder_id, date DESC, id DESC);",
	/* 6 -> 7: a sent message leaves the outbox, and without
	 * AUTOINCREMENT its id went to the next one queued: a `tern send
	 * --drop ID` read off an older --list could drop that one. Ids now
	 * only go up. */
	"CREATE TABLE outbox_new ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	"  raw BLOB NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  created INTEGER NOT NULL,"
	"  sent_at INTEGER);"
	"INSERT INTO outbox_new (id, account_id, raw, state, attempts,"
	"  last_error, created, sent_at) SELECT id, account_id, raw, state,"
	"  attempts, last_error, created, sent_at FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_new RENAME TO outbox;",
	/* 7 -> 8: bodies a POP3 sync downloads go to pack files (pack.c),
	 * written once instead of into the WAL and again into the database.
	 * A body row names its bytes there; the trigger records those of a
	 * deleted row, whose space store_pack_reclaim gives back. */
	"CREATE TABLE pack ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  account_id INTEGER NOT NULL,"
	"  size INTEGER NOT NULL DEFAULT 0);"
	"ALTER TABLE body ADD COLUMN pack_id INTEGER;"
	"ALTER TABLE body ADD COLUMN pack_off INTEGER;"
	"ALTER TABLE body ADD COLUMN pack_len INTEGER;"
	"CREATE INDEX body_by_pack ON body(pack_id) WHERE pack_id IS NOT NULL;"
	"CREATE TABLE pack_free ("
	"  pack_id INTEGER NOT NULL,"
	"  off INTEGER NOT NULL,"
	"  len INTEGER NOT NULL);"
	"CREATE TRIGGER body_unpack AFTER DELETE ON body"
	"  WHEN old.pack_id IS NOT NULL BEGIN"
	"  INSERT INTO pack_free (pack_id, off, len)"
	"    VALUES (old.pack_id, old.pack_off, old.pack_len);"
	"  END;",
	/* 8 -> 9: a queued APPEND or COPY is recorded as being sent, with
	 * the target's UIDNEXT, before it goes out, so a replay after a lost
	 * answer looks for it instead of sending it twice; and an op keeps
	 * its message's Message-ID, to find it again after a UIDVALIDITY
	 * change. */
	"ALTER TABLE pending ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE pending ADD COLUMN mark INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE pending ADD COLUMN msgid TEXT;"
	"ALTER TABLE pending ADD COLUMN placeholder INTEGER NOT NULL DEFAULT 0;",
	/* 9 -> 10: the keywords of a message an import queued for APPEND. */
	"ALTER TABLE pending_raw ADD COLUMN keywords TEXT;",
	/* 10 -> 11: the full-text index (fts.c). */
	store_fts_schema,
	/* 11 -> 12: messages of the same date are listed in the order they
	 * came into the folder, by UID; an IMAP sync stores the newest
	 * first, so its row ids run the other way. Down with the UIDs, as
	 * migration 5 -> 6 explains. */
	"DROP INDEX message_by_date;"
	"CREATE INDEX message_by_date ON message(folder_id, date DESC, uid DESC);",
};

int store_migrate(struct store *s, char **cause);

/* The schema version, read inside the caller's transaction; -1 on error. */
static int
schema_version(struct store *s)
{
	sqlite3_stmt *st;
	int version = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

int
store_migrate(struct store *s, char **cause)
{
	char *sql, *err = NULL;
	int version, rc, tries;

	/*
	 * Up to date: no lock needed, so a reader never waits on a writer.
	 * While another tern turns a new store to WAL, even a read can be
	 * answered BUSY without the busy handler: retry for a while.
	 */
	for (tries = 0; (version = schema_version(s)) < 0 && tries < 100;
	     tries++) {
		if (sqlite3_errcode(s->db) != SQLITE_BUSY &&
		    sqlite3_errcode(s->db) != SQLITE_LOCKED)
			break;
		usleep(50000);
	}
	if (version < 0)
		return store_error(s, "reading the schema version", cause);
	if ((size_t)version >= TERN_NELEM(migrations))
		goto out;
	/*
	 * The version is read again under the write lock: two terns opening
	 * a new store at once must not both run the same step. Every step
	 * due goes in one transaction: a new store is made whole or not at
	 * all, with one sync instead of one a step.
	 */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_error(s, "upgrading the schema", cause);
	if ((version = schema_version(s)) < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return store_error(s, "reading the schema version", cause);
	}
	for (rc = SQLITE_OK; (size_t)version < TERN_NELEM(migrations);
	     version++) {
		sql = xasprintf("%s; PRAGMA user_version = %d;",
		    migrations[version], version + 1);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
		free(sql);
		if (rc != SQLITE_OK)
			break;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		set_cause(cause, "%s: upgrading the schema to version %d: %s",
		    s->path, version + 1, err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
out:
	if ((size_t)version > TERN_NELEM(migrations))
		return set_cause(cause,
		    "%s has schema version %d, newer than this tern knows (%zu);"
		    " upgrade tern",
		    s->path, version, TERN_NELEM(migrations));
	return 0;
}
