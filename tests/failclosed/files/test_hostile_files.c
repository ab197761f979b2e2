/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile files (issue 15): at every path the module opens or creates, in
 * turn, a symbolic link to a valid file outside, a hard link to one, a
 * FIFO, a device node (/dev/null's numbers), an oversized file, a
 * truncated file, a file of alice's and a group/other-writable one; for
 * the store's directory the same plus the directory swapped for a
 * symbolic link.  One table row per path x kind.  Each row first signs in
 * with everything in order (the baseline must pass), then plants the
 * hostile file and signs in again: denied (never PAM_SUCCESS or
 * PAM_IGNORE: pam_permit.so is stacked `required` after the module), or,
 * where the row says so, the legitimate result; in process the log names
 * the path and the reason (through riskd the lines are riskd's own); the
 * file outside is unchanged (bytes, mode, owner, mtime); every sign-in
 * ends within 1 s (each row prints its time; a sign-in that hangs is
 * ended by alarm()).
 *
 * riskd's socket and its directory, riskctl's --cursor-file and
 * --textfile (tool_rows, in process only): riskd or riskctl exits non-zero
 * within 1 s naming the path, or (--textfile) renames a new root file
 * over whatever was there; the file outside is unchanged.
 *
 * Then a loop (RR_FC_SWAP_SECONDS, default 2): logins while a child swaps
 * the store's directory and the policy's directory for symbolic links to
 * decoy copies and back (renameat2 RENAME_EXCHANGE): every login is
 * allowed and on record in the real store, or denied; the decoys are never
 * written; nothing crashes.  With RR_TEST_RISKD set (test
 * hostile-files-riskd) every call goes through a riskd of the harness.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rr_iplist.h"
#include "rr_leak.h"
#include "rr_policy.h"

#ifndef RR_RISKD_PATH
#error "RR_RISKD_PATH must be defined"
#endif
#ifndef RR_RISKCTL_PATH
#error "RR_RISKCTL_PATH must be defined"
#endif

#define ALICE_UID 1001
#define LISTED_IP "192.0.2.66"
#define CLEAN_IP "10.9.9.9"
#define PASSWORD "not-a-leaked-password"

/* ---- the paths --------------------------------------------------------- */

typedef enum {
	P_POLICY,
	P_LIST,
	P_INDEX,
	P_HASH,
	P_KEY,
	P_STORE,
	P_WAL,
	P_SHM,
	P_STORE_DIR,
	P_SOCK_DIR, /* riskd --socket's directory */
	P_SOCK,     /* riskd --socket */
	P_CURSOR,   /* riskctl signins --format graph --cursor-file */
	P_TEXTFILE, /* riskctl metrics --textfile */
} path_id;

static const char *const path_names[] = {
	"policy", "iplist", "iplist-index", "hash-file", "mfa-key",
	"store",  "store-wal", "store-shm", "store-dir", "riskd-socket-dir",
	"riskd-socket", "riskctl-cursor-file", "riskctl-textfile",
};

typedef enum {
	K_SYMLINK,  /* a symbolic link to a valid file outside */
	K_HARDLINK, /* a hard link to a valid root file outside */
	K_FIFO,
	K_DEVICE,   /* mknod c 1 3 (/dev/null's numbers) */
	K_BIG,      /* beyond the cap (sparse) */
	K_TRUNC,    /* cut short */
	K_OWNER,    /* alice's */
	K_MODE,     /* group/other-writable (0666; directories 0777) */
	K_DIRLINK,  /* the directory swapped for a symlink to a copy */
} kind;

static const char *const kind_names[] = {
	"symlink", "hardlink", "fifo", "device", "oversized",
	"truncated", "wrong-owner", "wrong-mode", "dir-symlink",
};

typedef enum {
	DENY,  /* the sign-in is denied; in process the log names the path */
	LEGIT, /* what the files in order give (the index: the text decides;
		* a WAL cut short: SQLite's recovery) */
	WARN,  /* that too, and a warning names the path and the reason */
	FAILS, /* riskd or riskctl exits non-zero naming the path */
	REPLACED, /* riskctl renames a new regular file over whatever is at
		   * the path (rr_replace_file), exit 0 */
} expect;

typedef struct {
	path_id p;
	kind k;
	expect e;
	/* in process: a log line names the path (the store's for its -wal
	 * and -shm) and then matches this */
	const char *why;
} row;

/* One line per path x kind.  Adding a path: a path_id, its name, where it
 * is (path_of), how to cut it (plant) and its rows. */
static const row rows[] = {
	{ P_POLICY, K_SYMLINK, DENY, "is a symbolic link" },
	{ P_POLICY, K_HARDLINK, LEGIT, NULL },
	{ P_POLICY, K_FIFO, DENY, "is not a regular file" },
	{ P_POLICY, K_DEVICE, DENY, "is not a regular file" },
	{ P_POLICY, K_BIG, DENY, "larger than the size limit" },
	{ P_POLICY, K_TRUNC, DENY, "[0-9]+:[0-9]+" },
	{ P_POLICY, K_OWNER, DENY, "not owned by root" },
	{ P_POLICY, K_MODE, DENY, "group/other-writable" },
	{ P_LIST, K_SYMLINK, DENY, "is a symbolic link" },
	{ P_LIST, K_HARDLINK, LEGIT, NULL },
	{ P_LIST, K_FIFO, DENY, "is not a regular file" },
	{ P_LIST, K_DEVICE, DENY, "is not a regular file" },
	{ P_LIST, K_BIG, DENY, "larger than the size limit" },
	{ P_LIST, K_TRUNC, DENY, "" },
	{ P_LIST, K_OWNER, DENY, "not owned by root" },
	{ P_LIST, K_MODE, DENY, "group/other-writable" },
	/* the index only speeds lookups up: whatever is at its path, the
	 * text decides (the listed address is blocked) */
	{ P_INDEX, K_SYMLINK, LEGIT, NULL },
	{ P_INDEX, K_HARDLINK, LEGIT, NULL },
	{ P_INDEX, K_FIFO, LEGIT, NULL },
	{ P_INDEX, K_DEVICE, LEGIT, NULL },
	{ P_INDEX, K_BIG, LEGIT, NULL },
	{ P_INDEX, K_TRUNC, LEGIT, NULL },
	{ P_INDEX, K_OWNER, LEGIT, NULL },
	{ P_INDEX, K_MODE, LEGIT, NULL },
	/* the hash file is a detection's source: refused with a warning
	 * naming it, the sign-in goes on (riskremediate.yaml(5)) */
	{ P_HASH, K_SYMLINK, WARN, "is a symbolic link" },
	{ P_HASH, K_HARDLINK, LEGIT, NULL },
	{ P_HASH, K_FIFO, WARN, "is not a regular file" },
	{ P_HASH, K_DEVICE, WARN, "is not a regular file" },
	/* a last line cut short: binary-searched in place, no crash */
	{ P_HASH, K_TRUNC, LEGIT, NULL },
	{ P_HASH, K_OWNER, WARN, "not owned by root" },
	{ P_HASH, K_MODE, WARN, "group/other-writable" },
	{ P_KEY, K_SYMLINK, DENY, "Too many levels of symbolic links" },
	/* a second name of a private root key is still that key */
	{ P_KEY, K_HARDLINK, LEGIT, NULL },
	{ P_KEY, K_FIFO, DENY, "Invalid argument" },
	{ P_KEY, K_DEVICE, DENY, "Invalid argument" },
	{ P_KEY, K_BIG, DENY, "Invalid argument" },
	{ P_KEY, K_TRUNC, DENY, "Invalid argument" },
	{ P_KEY, K_OWNER, DENY, "Operation not permitted" },
	{ P_KEY, K_MODE, DENY, "Operation not permitted" },
	{ P_STORE, K_SYMLINK, DENY, "symbolic link" },
	{ P_STORE, K_HARDLINK, DENY, "Too many links" },
	{ P_STORE, K_FIFO, DENY, "Invalid argument" },
	{ P_STORE, K_DEVICE, DENY, "Invalid argument" },
	/* the WAL holds every page a sign-in reads (no checkpoint yet):
	 * SQLite does not need the main file's bytes */
	{ P_STORE, K_TRUNC, LEGIT, NULL },
	{ P_STORE, K_OWNER, DENY, "Operation not permitted" },
	{ P_STORE, K_MODE, DENY, "Operation not permitted" },
	{ P_WAL, K_SYMLINK, DENY, "Too many levels of symbolic links" },
	{ P_WAL, K_HARDLINK, DENY, "Too many links" },
	{ P_WAL, K_FIFO, DENY, "Invalid argument" },
	{ P_WAL, K_DEVICE, DENY, "Invalid argument" },
	{ P_WAL, K_TRUNC, LEGIT, NULL },
	{ P_WAL, K_OWNER, DENY, "Operation not permitted" },
	{ P_WAL, K_MODE, DENY, "Operation not permitted" },
	{ P_SHM, K_SYMLINK, DENY, "Too many levels of symbolic links" },
	{ P_SHM, K_HARDLINK, DENY, "Too many links" },
	{ P_SHM, K_FIFO, DENY, "Invalid argument" },
	{ P_SHM, K_DEVICE, DENY, "Invalid argument" },
	{ P_SHM, K_OWNER, DENY, "Operation not permitted" },
	{ P_SHM, K_MODE, DENY, "Operation not permitted" },
	{ P_STORE_DIR, K_DIRLINK, DENY, "Too many levels of symbolic links" },
	{ P_STORE_DIR, K_OWNER, DENY, "Operation not permitted" },
	{ P_STORE_DIR, K_MODE, DENY, "Operation not permitted" },
};

/* riskd and riskctl: their paths, one line each. */
static const row tool_rows[] = {
	{ P_SOCK_DIR, K_DIRLINK, FAILS, NULL },
	{ P_SOCK_DIR, K_OWNER, FAILS, NULL },
	{ P_SOCK_DIR, K_MODE, FAILS, NULL },
	{ P_SOCK, K_SYMLINK, FAILS, NULL },
	{ P_SOCK, K_HARDLINK, FAILS, NULL },
	{ P_SOCK, K_FIFO, FAILS, NULL },
	{ P_SOCK, K_DEVICE, FAILS, NULL },
	{ P_CURSOR, K_SYMLINK, FAILS, NULL },
	/* a second name of a root cursor is that cursor; the new one is
	 * renamed over the name, the other name keeps the old */
	{ P_CURSOR, K_HARDLINK, LEGIT, NULL },
	{ P_CURSOR, K_FIFO, FAILS, NULL },
	{ P_CURSOR, K_DEVICE, FAILS, NULL },
	{ P_CURSOR, K_BIG, FAILS, NULL },
	{ P_CURSOR, K_TRUNC, FAILS, NULL },
	{ P_CURSOR, K_OWNER, FAILS, NULL },
	{ P_CURSOR, K_MODE, FAILS, NULL },
	{ P_TEXTFILE, K_SYMLINK, REPLACED, NULL },
	{ P_TEXTFILE, K_HARDLINK, REPLACED, NULL },
	{ P_TEXTFILE, K_FIFO, REPLACED, NULL },
	{ P_TEXTFILE, K_DEVICE, REPLACED, NULL },
	{ P_TEXTFILE, K_OWNER, REPLACED, NULL },
	{ P_TEXTFILE, K_MODE, REPLACED, NULL },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))
#define N_TOOL_ROWS (sizeof(tool_rows) / sizeof(tool_rows[0]))

/* ---- the fixture ------------------------------------------------------- */

static char listp[160], hashp[160], keyp[160], outdir[160], confdir[80];
static bool via_riskd;

static void path_of(path_id p, char *buf, size_t len)
{
	switch (p) {
	case P_POLICY:
		snprintf(buf, len, "%s", F.policy);
		break;
	case P_LIST:
		snprintf(buf, len, "%s", listp);
		break;
	case P_INDEX:
		snprintf(buf, len, "%s" RR_IPLIST_IDX_SUFFIX, listp);
		break;
	case P_HASH:
		snprintf(buf, len, "%s", hashp);
		break;
	case P_KEY:
		snprintf(buf, len, "%s", keyp);
		break;
	case P_STORE:
		snprintf(buf, len, "%s", F.store);
		break;
	case P_WAL:
		snprintf(buf, len, "%s-wal", F.store);
		break;
	case P_SHM:
		snprintf(buf, len, "%s-shm", F.store);
		break;
	case P_STORE_DIR:
		snprintf(buf, len, "%s/store", F.dir);
		break;
	case P_SOCK_DIR:
		snprintf(buf, len, "%s/run", F.dir);
		break;
	case P_SOCK:
		snprintf(buf, len, "%s/run/riskd.sock", F.dir);
		break;
	case P_CURSOR:
		snprintf(buf, len, "%s/signins.cursor", F.dir);
		break;
	case P_TEXTFILE:
		snprintf(buf, len, "%s/rr.prom", F.dir);
		break;
	}
}

/* The policy lives in its own directory (confdir), so that the swap loop
 * can swap that directory. */
static void write_the_policy(void)
{
	write_policy_fmt(
		"version: 1\n"
		"issuer: Test Corp\n"
		"store: { backend: sqlite, path: %s }\n"
		"on_error: deny\n"
		"mfa: { key_file: %s, window: 4 }\n"
		"mfa_registration:\n"
		"  state: enabled\n"
		"  grace_days: 0\n"
		"  users: { include: [alice, carol] }\n"
		"detections:\n"
		"  unfamiliarFeatures: { enabled: false }\n"
		"  maliciousIPAddress: { level: high, lists: [%s] }\n"
		"  leakedCredentials: { hash_file: %s }\n"
		"policies:\n"
		"  - name: High sign-in risk is blocked\n"
		"    conditions: { signin_risk: [high] }\n"
		"    grant: { block: true }\n"
		"  - name: High user risk is blocked\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n",
		F.store, keyp, listp, hashp);
}

static void write_hashes(void)
{
	char hash[RR_LEAK_HASH_LEN + 1], text[512];

	assert_int_equal(rr_leak_sha1_hex("leaked", 6, hash), 0);
	snprintf(text, sizeof(text),
		 "0000000000000000000000000000000000000001:12\n"
		 "%s:4711\n"
		 "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:3\n",
		 hash);
	write_file(hashp, text, 0644);
}

static int setup(void **state)
{
	char text[1024];

	(void)state;
	fixture_setup("rr-fcfiles");
	snprintf(confdir, sizeof(confdir), "%s/conf", F.dir);
	assert_int_equal(mkdir(confdir, 0755), 0);
	snprintf(F.policy, sizeof(F.policy), "%s/policy.yaml", confdir);
	snprintf(outdir, sizeof(outdir), "%s/outside", F.dir);
	assert_int_equal(mkdir(outdir, 0700), 0);
	snprintf(listp, sizeof(listp), "%s/lists/bad.list", F.dir);
	snprintf(hashp, sizeof(hashp), "%s/lists/pwned.txt", F.dir);
	snprintf(keyp, sizeof(keyp), "%s/mfa.key", F.dir);
	snprintf(text, sizeof(text), "%s/lists", F.dir);
	assert_int_equal(mkdir(text, 0755), 0);
	write_file(listp, "# known bad\n192.0.2.0/24\n203.0.113.7\n", 0644);
	write_hashes();
	write_the_policy();
	snprintf(text, sizeof(text),
		 "auth requisite %s\n"
		 "auth required %s policy=%s\n"
		 "auth required pam_permit.so\n"
		 "account required %s policy=%s\n"
		 "account required pam_permit.so\n",
		 RR_AUTHTOK_MODULE_PATH, module_spec(), F.policy,
		 module_spec(), F.policy);
	write_raw_service("rrfiles", text);
	return 0;
}

static int teardown(void **state)
{
	return fixture_teardown(state);
}

/* ---- snapshots of what is outside -------------------------------------- */

typedef struct {
	char name[256];
	struct stat st;
	unsigned long long sum; /* FNV-1a of the bytes */
	bool present;
} snap;

#define SNAP_MAX 8

static unsigned long long fnv(const char *path)
{
	unsigned long long h = 1469598103934665603ULL;
	unsigned char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
	close(fd);
	return h;
}

/* Every entry of `dir` (or the file `dir` itself): name, stat, bytes. */
static size_t snap_take(const char *dir, snap *s)
{
	char p[512];
	struct stat st;
	struct dirent *d;
	size_t n = 0;
	DIR *dp;

	memset(s, 0, SNAP_MAX * sizeof(*s));
	assert_int_equal(lstat(dir, &st), 0);
	if (!S_ISDIR(st.st_mode)) {
		s[0].st = st;
		s[0].sum = S_ISREG(st.st_mode) ? fnv(dir) : 0;
		s[0].present = true;
		return 1;
	}
	assert_non_null(dp = opendir(dir));
	while ((d = readdir(dp)) != NULL) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		assert_true(n < SNAP_MAX);
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		snprintf(s[n].name, sizeof(s[n].name), "%s", d->d_name);
		assert_int_equal(lstat(p, &s[n].st), 0);
		s[n].sum = S_ISREG(s[n].st.st_mode) ? fnv(p) : 0;
		s[n].present = true;
		n++;
	}
	closedir(dp);
	return n;
}

static void snap_same(const char *what, const snap *a, size_t na,
		      const snap *b, size_t nb)
{
	if (na != nb)
		fail_msg("%s: %zu entries before, %zu after", what, na, nb);
	for (size_t i = 0; i < na; i++) {
		size_t j;

		for (j = 0; j < nb && strcmp(a[i].name, b[j].name); j++)
			;
		if (j == nb)
			fail_msg("%s: %s is gone", what, a[i].name);
		if (a[i].sum != b[j].sum || a[i].st.st_size != b[j].st.st_size)
			fail_msg("%s%s%s: content changed", what,
				 a[i].name[0] ? "/" : "", a[i].name);
		if (a[i].st.st_mode != b[j].st.st_mode ||
		    a[i].st.st_uid != b[j].st.st_uid ||
		    a[i].st.st_gid != b[j].st.st_gid)
			fail_msg("%s%s%s: mode or owner changed", what,
				 a[i].name[0] ? "/" : "", a[i].name);
		if (a[i].st.st_mtim.tv_sec != b[j].st.st_mtim.tv_sec ||
		    a[i].st.st_mtim.tv_nsec != b[j].st.st_mtim.tv_nsec)
			fail_msg("%s%s%s: mtime changed", what,
				 a[i].name[0] ? "/" : "", a[i].name);
	}
}

/* ---- planting ---------------------------------------------------------- */

static void copy_keep(const char *from, const char *to)
{
	struct stat st;

	assert_int_equal(lstat(from, &st), 0);
	copy_file(from, to);
	assert_int_equal(chmod(to, st.st_mode & 07777), 0);
}

static void copy_tree(const char *from, const char *to)
{
	char a[512], b[512];
	struct dirent *d;
	DIR *dp;

	assert_int_equal(mkdir(to, 0700), 0);
	assert_non_null(dp = opendir(from));
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, d->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, d->d_name);
		copy_keep(a, b);
	}
	closedir(dp);
}

/* The cap of the file at `p`, for K_BIG: one byte more is refused (0:
 * no row of that path is oversized). */
static off_t cap_of(path_id p)
{
	if (p == P_POLICY)
		return RR_POLICY_MAX_BYTES;
	if (p == P_LIST)
		return (off_t)RR_IPLIST_MAX_BYTES;
	if (p == P_INDEX)
		return 64 << 20;
	if (p == P_KEY)
		return 32;
	if (p == P_CURSOR)
		return 64;
	fail_msg("no cap for %s", path_names[p]);
	return 0;
}

/*
 * Plant kind `k` at `path`; *target gets the file or directory outside
 * that must stay untouched ("" when the kind has none).
 */
static void plant(const row *r, const char *path, char *target, size_t tlen)
{
	struct stat st;
	char tmp[512];
	int fd;

	target[0] = '\0';
	if (r->k == K_DIRLINK) {
		snprintf(target, tlen, "%s/%s", outdir, path_names[r->p]);
		assert_int_equal(rename(path, target), 0);
		assert_int_equal(symlink(target, path), 0);
		return;
	}
	if (r->k == K_OWNER || r->k == K_MODE) {
		if (r->k == K_OWNER)
			assert_int_equal(chown(path, ALICE_UID, ALICE_UID), 0);
		else
			assert_int_equal(
				chmod(path, r->p == P_STORE_DIR ||
							    r->p == P_SOCK_DIR
						    ? 0777
						    : 0666),
				0);
		return;
	}
	/* the valid file, kept outside */
	snprintf(target, tlen, "%s/%s", outdir, path_names[r->p]);
	assert_int_equal(lstat(path, &st), 0);
	copy_keep(path, target);
	if (r->p == P_POLICY)
		policy_settled(target);
	assert_int_equal(unlink(path), 0);
	if (r->k == K_SYMLINK) {
		assert_int_equal(symlink(target, path), 0);
	} else if (r->k == K_HARDLINK) {
		assert_int_equal(link(target, path), 0);
	} else if (r->k == K_FIFO) {
		assert_int_equal(mkfifo(path, 0600), 0);
		target[0] = '\0';
	} else if (r->k == K_DEVICE) {
		assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(1, 3)), 0);
		target[0] = '\0';
	} else if (r->k == K_BIG || r->k == K_TRUNC) {
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		copy_keep(target, tmp);
		fd = open(tmp, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		/* the last 3 bytes cut (mid-line, mid-page, mid-key); or
		 * one byte beyond the cap */
		assert_int_equal(ftruncate(fd, r->k == K_BIG
						       ? cap_of(r->p) + 1
						       : st.st_size - 3),
				 0);
		close(fd);
		if (r->p == P_POLICY)
			policy_settled(tmp);
		assert_int_equal(rename(tmp, path), 0);
		target[0] = '\0';
	} else {
		fail_msg("kind %s", kind_names[r->k]);
	}
}

/* ---- signing in -------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The sign-in a row makes: alice's forced registration for the key (it
 * needs the key), a sign-in from a listed address for the index (the
 * list decides: blocked), bob from a clean address otherwise. */
static pam_result signin(path_id p, double *took)
{
	pam_result r;
	double t0 = now_s();

	if (p == P_KEY) {
		answers(0, 2, PASSWORD, "@code");
		r = login("rrfiles", "alice", CLEAN_IP, true);
	} else if (p == P_INDEX) {
		answers(0, 1, PASSWORD);
		r = login("rrfiles", "bob", LISTED_IP, true);
	} else {
		answers(0, 1, PASSWORD);
		r = login("rrfiles", "bob", CLEAN_IP, true);
	}
	*took = now_s() - t0;
	return r;
}

/* What the sign-in gives with every file in order. */
static bool baseline_allowed(path_id p)
{
	return p != P_INDEX;
}

static void run_row(void **state)
{
	const row *r = *state;
	char path[256], target[256];
	snap before[SNAP_MAX], after[SNAP_MAX];
	size_t nb = 0, na;
	double took;
	pam_result res;
	bool allowed;

	path_of(r->p, path, sizeof(path));
	/* a key for alice's registration: carol registers first (the module
	 * creates the key); the index: compiled from the list */
	if (r->p == P_KEY) {
		answers(0, 2, PASSWORD, "@code");
		res = login("rrfiles", "carol", CLEAN_IP, true);
		assert_int_equal(res.auth, PAM_SUCCESS);
	}
	if (r->p == P_INDEX) {
		size_t n;
		unsigned bad;

		assert_int_equal(rr_iplist_compile(listp, &n, &bad), 0);
		assert_int_equal(n, 2);
	}
	/* the baseline: every file in order */
	if (r->p != P_KEY) {
		res = signin(r->p, &took);
		allowed = res.auth == PAM_SUCCESS && res.account == PAM_SUCCESS;
		if (allowed != baseline_allowed(r->p))
			fail_msg("baseline: auth %d account %d\n%s\n%s",
				 res.auth, res.account, g_log, F.msgs);
	}
	/* -wal and -shm exist now (no checkpoint on close) */
	plant(r, path, target, sizeof(target));
	if (target[0])
		nb = snap_take(target, before);
	log_reset();
	/* a sign-in that hangs (an open(2) of a FIFO without O_NONBLOCK)
	 * ends the test program here, not at meson's timeout */
	alarm(10);
	res = signin(r->p, &took);
	alarm(0);
	allowed = res.auth == PAM_SUCCESS && res.account == PAM_SUCCESS;
	printf("# %s/%s: auth %d account %d in %.3f s\n", path_names[r->p],
	       kind_names[r->k], res.auth, res.account, took);
	if (took >= 1.0)
		fail_msg("the sign-in took %.3f s (limit 1 s)", took);
	if (r->e == DENY) {
		if (res.auth == PAM_SUCCESS || res.auth == PAM_IGNORE)
			fail_msg("%s as %s: auth returned %d (allowed)\n%s",
				 path_names[r->p], kind_names[r->k], res.auth,
				 g_log);
	} else if (allowed != baseline_allowed(r->p)) {
		fail_msg("%s as %s: auth %d account %d, not the baseline's\n%s",
			 path_names[r->p], kind_names[r->k], res.auth,
			 res.account, g_log);
	}
	if (!via_riskd && r->why) {
		char re[512];

		snprintf(re, sizeof(re), "%s.*(%s)",
			 r->p == P_WAL || r->p == P_SHM ? F.store : path,
			 r->why);
		assert_matches_line(g_log, re);
	}
	if (target[0]) {
		na = snap_take(target, after);
		snap_same(target, before, nb, after, na);
	}
}

/* ---- riskd and riskctl ------------------------------------------------- */

/* Run argv (stderr into err), at most 5 s (then killed); the wait status
 * and the time it took. */
static int run_tool(char *const argv[], char *err, size_t errlen,
		    double *took)
{
	int pfd[2], st = 0;
	size_t n = 0;
	ssize_t got;
	double t0 = now_s();
	pid_t pid;

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 2);
		dup2(pfd[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	assert_int_equal(fcntl(pfd[0], F_SETFL, O_NONBLOCK), 0);
	for (;;) {
		got = read(pfd[0], err + n, errlen - 1 - n);
		if (got > 0)
			n += (size_t)got;
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (now_s() - t0 > 5) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(2000);
	}
	while (n < errlen - 1 && (got = read(pfd[0], err + n,
					     errlen - 1 - n)) > 0)
		n += (size_t)got;
	err[n] = '\0';
	close(pfd[0]);
	*took = now_s() - t0;
	return st;
}

static void run_tool_row(void **state)
{
	const row *r = *state;
	char path[256], target[256], arg[300], out[8192], other[256];
	char *argv[12];
	snap before[SNAP_MAX], after[SNAP_MAX];
	size_t nb = 0, na;
	struct stat st;
	double took;
	int ws;

	path_of(r->p, path, sizeof(path));
	path_of(P_SOCK_DIR, other, sizeof(other));
	assert_int_equal(mkdir(other, 0700), 0);
	/* what is at the path before it is made hostile */
	if (r->p == P_SOCK)
		write_file(path, "", 0600); /* not a socket */
	else if (r->p == P_CURSOR)
		write_file(path, "signins:0\n", 0600);
	else if (r->p == P_TEXTFILE)
		write_file(path, "# old metrics\n", 0644);
	if (r->p == P_CURSOR || r->p == P_TEXTFILE) {
		/* a store with a sign-in to read */
		answers(0, 1, PASSWORD);
		assert_int_equal(login("rrfiles", "bob", CLEAN_IP, true).auth,
				 PAM_SUCCESS);
	}
	plant(r, path, target, sizeof(target));
	if (target[0])
		nb = snap_take(target, before);
	if (r->p == P_SOCK_DIR || r->p == P_SOCK) {
		snprintf(arg, sizeof(arg), "%s/run/riskd.sock", F.dir);
		argv[0] = (char *)RR_RISKD_PATH;
		argv[1] = (char *)"--socket";
		argv[2] = arg;
		argv[3] = NULL;
	} else if (r->p == P_CURSOR) {
		argv[0] = (char *)RR_RISKCTL_PATH;
		argv[1] = (char *)"signins";
		argv[2] = (char *)"--format";
		argv[3] = (char *)"graph";
		argv[4] = (char *)"--cursor-file";
		argv[5] = path;
		argv[6] = (char *)"--policy";
		argv[7] = F.policy;
		argv[8] = NULL;
	} else {
		snprintf(arg, sizeof(arg), "%s/none.sock", F.dir);
		argv[0] = (char *)RR_RISKCTL_PATH;
		argv[1] = (char *)"metrics";
		argv[2] = (char *)"--textfile";
		argv[3] = path;
		argv[4] = (char *)"--socket";
		argv[5] = arg;
		argv[6] = (char *)"--policy";
		argv[7] = F.policy;
		argv[8] = NULL;
	}
	ws = run_tool(argv, out, sizeof(out), &took);
	printf("# %s/%s: %s status %d in %.3f s\n", path_names[r->p],
	       kind_names[r->k], argv[0], WIFEXITED(ws) ? WEXITSTATUS(ws) : -1,
	       took);
	if (took >= 1.0)
		fail_msg("%s took %.3f s (limit 1 s)\n%s", argv[0], took, out);
	if (!WIFEXITED(ws))
		fail_msg("%s did not exit (signal %d)\n%s", argv[0],
			 WIFSIGNALED(ws) ? WTERMSIG(ws) : 0, out);
	if (r->e == FAILS) {
		if (WEXITSTATUS(ws) == 0)
			fail_msg("%s exited 0 with %s as %s\n%s", argv[0],
				 path_names[r->p], kind_names[r->k], out);
		/* riskd names the socket's directory when that is refused */
		if (!strstr(out, path) &&
		    !(r->p == P_SOCK_DIR && strstr(out, other)))
			fail_msg("stderr does not name %s:\n%s", path, out);
	} else {
		if (WEXITSTATUS(ws) != 0)
			fail_msg("%s exited %d\n%s", argv[0], WEXITSTATUS(ws),
				 out);
	}
	if (r->e == REPLACED) {
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_mode & 07777, 0644);
		assert_int_equal(st.st_nlink, 1);
	}
	if (target[0]) {
		na = snap_take(target, after);
		snap_same(target, before, nb, after, na);
	}
}

/* ---- the swap loop ----------------------------------------------------- */

static int swap_budget_ms(void)
{
	const char *e = getenv("RR_FC_SWAP_SECONDS");
	double s = e && *e ? atof(e) : 2.0;

	if (s < 0.2)
		s = 0.2;
	if (s > 60)
		s = 60;
	return (int)(s * 1000);
}

/* The child: exchange `a` and `b` (a directory and a symlink to a decoy)
 * as fast as it can until killed. */
static void swapper(const char *a1, const char *b1, const char *a2,
		    const char *b2)
{
	for (;;) {
		if (renameat2(AT_FDCWD, a1, AT_FDCWD, b1, RENAME_EXCHANGE) < 0 ||
		    renameat2(AT_FDCWD, a2, AT_FDCWD, b2, RENAME_EXCHANGE) < 0)
			_exit(3);
		usleep(200);
	}
}

static void test_swap_loop(void **state)
{
	char store_dir[256], decoy_store[256], link_store[256];
	char decoy_conf[256], link_conf[256], real_conf[256];
	char decoy_policy[300];
	snap sb[SNAP_MAX], sa[SNAP_MAX], cb[SNAP_MAX], ca[SNAP_MAX];
	size_t nsb, nsa, ncb, nca, ok = 0, denied = 0, n = 0, rows_after;
	double t0, took, worst = 0;
	pam_result res;
	int budget = swap_budget_ms(), st;
	pid_t child;

	(void)state;
	path_of(P_STORE_DIR, store_dir, sizeof(store_dir));
	answers(0, 1, PASSWORD);
	res = login("rrfiles", "bob", CLEAN_IP, true);
	assert_int_equal(res.auth, PAM_SUCCESS);
	/* decoys: a copy of the store, a copy of the policy; and symlinks to
	 * them, exchanged with the real directories by the child */
	snprintf(decoy_store, sizeof(decoy_store), "%s/decoy-store", outdir);
	snprintf(link_store, sizeof(link_store), "%s/store.lnk", F.dir);
	copy_tree(store_dir, decoy_store);
	assert_int_equal(symlink(decoy_store, link_store), 0);
	snprintf(real_conf, sizeof(real_conf), "%s", confdir);
	snprintf(decoy_conf, sizeof(decoy_conf), "%s/decoy-conf", outdir);
	snprintf(link_conf, sizeof(link_conf), "%s/conf.lnk", F.dir);
	copy_tree(real_conf, decoy_conf);
	snprintf(decoy_policy, sizeof(decoy_policy), "%s/policy.yaml",
		 decoy_conf);
	policy_settled(decoy_policy);
	assert_int_equal(symlink(decoy_conf, link_conf), 0);
	nsb = snap_take(decoy_store, sb);
	ncb = snap_take(decoy_conf, cb);
	rows_after = count_signins("bob");

	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		swapper(store_dir, link_store, real_conf, link_conf);
	t0 = now_s();
	while ((now_s() - t0) * 1000 < budget) {
		double t1 = now_s();

		answers(0, 1, PASSWORD);
		res = login("rrfiles", "bob", CLEAN_IP, true);
		took = now_s() - t1;
		if (took > worst)
			worst = took;
		n++;
		if (res.auth == PAM_SUCCESS && res.account == PAM_SUCCESS)
			ok++;
		else if (res.auth == PAM_SUCCESS || res.auth == PAM_IGNORE)
			fail_msg("login %zu: auth %d, account %d", n, res.auth,
				 res.account);
		else
			denied++;
	}
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* put the real directories back where they belong */
	{
		struct stat l;

		assert_int_equal(lstat(store_dir, &l), 0);
		if (S_ISLNK(l.st_mode))
			assert_int_equal(renameat2(AT_FDCWD, store_dir,
						   AT_FDCWD, link_store,
						   RENAME_EXCHANGE),
					 0);
		assert_int_equal(lstat(real_conf, &l), 0);
		if (S_ISLNK(l.st_mode))
			assert_int_equal(renameat2(AT_FDCWD, real_conf,
						   AT_FDCWD, link_conf,
						   RENAME_EXCHANGE),
					 0);
	}
	printf("# swap loop: %zu logins in %.1f s: %zu allowed, %zu denied; "
	       "slowest %.3f s\n",
	       n, (double)budget / 1000, ok, denied, worst);
	assert_true(n > 0);
	assert_true(worst < 1.0);
	nsa = snap_take(decoy_store, sa);
	nca = snap_take(decoy_conf, ca);
	snap_same(decoy_store, sb, nsb, sa, nsa);
	snap_same(decoy_conf, cb, ncb, ca, nca);
	/* every allowed login is on record in the real store */
	printf("# real store: %zu sign-ins of bob, %zu before the loop\n",
	       count_signins("bob"), rows_after);
	assert_true(count_signins("bob") >= rows_after + ok);
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
	static struct CMUnitTest tests[N_ROWS + N_TOOL_ROWS + 1];
	static char names[N_ROWS + N_TOOL_ROWS][64];
	const char *filter = getenv("RR_FC_ROW");
	size_t i, n = 0;

	via_riskd = getenv("RR_TEST_RISKD") && *getenv("RR_TEST_RISKD");
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < N_ROWS; i++) {
		snprintf(names[i], sizeof(names[i]), "%s/%s",
			 path_names[rows[i].p], kind_names[rows[i].k]);
		if (filter && *filter && !strstr(names[i], filter))
			continue;
		tests[n].name = names[i];
		tests[n].test_func = run_row;
		tests[n].setup_func = setup;
		tests[n].teardown_func = teardown;
		tests[n].initial_state = (void *)&rows[i];
		n++;
	}
	/* riskd and riskctl once (not again in the riskd twin) */
	for (i = 0; i < N_TOOL_ROWS && !via_riskd; i++) {
		char *nm = names[N_ROWS + i];

		snprintf(nm, 64, "%s/%s", path_names[tool_rows[i].p],
			 kind_names[tool_rows[i].k]);
		if (filter && *filter && !strstr(nm, filter))
			continue;
		tests[n].name = nm;
		tests[n].test_func = run_tool_row;
		tests[n].setup_func = setup;
		tests[n].teardown_func = teardown;
		tests[n].initial_state = (void *)&tool_rows[i];
		n++;
	}
	tests[n].name = "swap-loop";
	tests[n].test_func = test_swap_loop;
	tests[n].setup_func = setup;
	tests[n].teardown_func = teardown;
	n++;
	return _cmocka_run_group_tests("hostile-files", tests, n, nss_setup,
				       nss_teardown);
}
