/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Schema versions (PRAGMA user_version) and migrations, each in one
 * transaction taken with BEGIN IMMEDIATE so that concurrent openers agree.
 */
#include "rr_store_int.h"
#include "rr_store_schema.h"

#include <errno.h>

_Static_assert(RR_STORE_SCHEMA_VERSION == 10,
	       "add the migration to the new schema version");

static int pragma_int(rr_store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rrs_error(s, rc);
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	return err;
}

static int schema_create(rr_store *s)
{
	int64_t n = 0;
	int err;

	err = pragma_int(s, "SELECT count(*) FROM sqlite_master", &n);
	if (err)
		return err;
	if (n)
		return rrs_fail(s, -EPROTO, "database is not a risk store");
	/* version 7, then its steps (the whole text would be longer than
	 * a C string should be) */
	err = rrs_exec(s, RRS_SCHEMA_V7);
	if (!err)
		err = rrs_exec(s, RRS_MIGRATE_7_8);
	if (!err)
		err = rrs_exec(s, RRS_MIGRATE_8_9);
	return err ? err : rrs_exec(s, RRS_MIGRATE_9_10);
}

/* Familiar networks of version-1 successful sign-ins, from their rhost. */
static int backfill_one(rr_store *s, sqlite3_stmt *scan)
{
	const char *user = (const char *)sqlite3_column_text(scan, 0);
	const char *rhost = (const char *)sqlite3_column_text(scan, 1);
	char netkey[RR_NETKEY_MAX];
	sqlite3_stmt *st = NULL;
	rr_addr addr;
	int err;

	if (!user || !rhost || rr_addr_parse(rhost, &addr))
		return 0;
	rr_addr_netkey(&addr, netkey, sizeof(netkey));
	if (!netkey[0])
		return 0;
	err = rrs_stmt(s, RRS_Q_MIGRATE_NET, &st);
	if (!err)
		err = rrs_bind(s, st, "ssi", user, netkey,
			       (int64_t)sqlite3_column_int64(scan, 2));
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

static int backfill_networks(rr_store *s)
{
	sqlite3_stmt *scan = NULL;
	int r, err;

	err = rrs_stmt(s, RRS_Q_MIGRATE_SUCCESSES, &scan);
	while (!err && (r = rrs_step_row(s, scan)) != 0)
		err = r < 0 ? r : backfill_one(s, scan);
	rrs_release(scan);
	return err;
}

static int migrate_1_2(rr_store *s)
{
	int err;

	err = rrs_exec(s, RRS_MIGRATE_1_2);
	if (!err)
		err = backfill_networks(s);
	if (!err)
		err = rrs_exec(s, RRS_MIGRATE_1_2_DONE);
	return err;
}

static int migrate_2_3(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_2_3);
}

static int migrate_3_4(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_3_4);
}

static int migrate_4_5(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_4_5);
}

static int migrate_5_6(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_5_6);
}

static int migrate_6_7(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_6_7);
}

static int migrate_7_8(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_7_8);
}

static int migrate_8_9(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_8_9);
}

static int migrate_9_10(rr_store *s)
{
	return rrs_exec(s, RRS_MIGRATE_9_10);
}

typedef int (*migrate_fn)(rr_store *s);

/* migrations[v - 1] upgrades version v to v + 1 */
static const migrate_fn migrations[] = {
	migrate_1_2, migrate_2_3, migrate_3_4, migrate_4_5,
	migrate_5_6, migrate_6_7, migrate_7_8, migrate_8_9,
	migrate_9_10,
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
		       RR_STORE_SCHEMA_VERSION - 1,
	       "one migration per version");

/* Step by step to the current version, all in the caller's transaction. */
static int schema_upgrade(rr_store *s, int64_t version)
{
	int64_t v;
	int err = 0;

	if (version == 0)
		return schema_create(s);
	if (version < 0 || version > RR_STORE_SCHEMA_VERSION)
		return rrs_fail(s, -EPROTO, "unknown store schema version");
	for (v = version; !err && v < RR_STORE_SCHEMA_VERSION; v++)
		err = migrations[v - 1](s);
	return err;
}

int rrs_schema_init(rr_store *s)
{
	int64_t version = 0;
	int err;

	err = pragma_int(s, "PRAGMA user_version", &version);
	if (err || version == RR_STORE_SCHEMA_VERSION)
		return err;
	if (version < 0 || version > RR_STORE_SCHEMA_VERSION)
		return rrs_fail(s, -EPROTO,
				"store schema is newer than this program");
	err = rrs_begin(s, true);
	if (err)
		return err;
	/* Another process may have upgraded it meanwhile. */
	err = pragma_int(s, "PRAGMA user_version", &version);
	if (!err)
		err = schema_upgrade(s, version);
	return rrs_end(s, err);
}
