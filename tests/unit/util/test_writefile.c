/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rr_write_all and rr_replace_file: the whole content or an error, the
 * mode asked for, no temporary file left behind, the old file untouched
 * when the replacement fails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rr_writefile.h"

static char g_dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/rr-writefile-XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	DIR *d = opendir(g_dir);
	struct dirent *e;
	char p[PATH_MAX];

	(void)state;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", g_dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	return rmdir(g_dir);
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", g_dir, name);
}

/* The entries of the scratch directory, sorted, joined by spaces. */
static void entries(char *out, size_t len)
{
	struct dirent **names = NULL;
	int n = scandir(g_dir, &names, NULL, alphasort), i;

	assert_true(n >= 2);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..")) {
			if (out[0])
				strncat(out, " ", len - strlen(out) - 1);
			strncat(out, names[i]->d_name, len - strlen(out) - 1);
		}
		free(names[i]);
	}
	free(names);
}

static void read_back(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void test_write_all_large(void **state)
{
	size_t len = 3u << 20, i;
	char *big = malloc(len), *back = malloc(len);
	char path[PATH_MAX];
	int fd;

	(void)state;
	assert_non_null(big);
	assert_non_null(back);
	for (i = 0; i < len; i++)
		big[i] = (char)(i * 7 + 3);
	path_of(path, sizeof(path), "big");
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(rr_write_all(fd, big, len), 0);
	assert_int_equal(pread(fd, back, len, 0), (ssize_t)len);
	assert_memory_equal(big, back, len);
	close(fd);
	assert_int_equal(rr_write_all(-1, big, 1), -EBADF);
	free(big);
	free(back);
}

static void test_replace_new_and_existing(void **state)
{
	const struct iovec two[] = {
	    {.iov_base = (void *)"head\n", .iov_len = 5},
	    {.iov_base = (void *)"body\n", .iov_len = 5},
	};
	const struct iovec one = {.iov_base = (void *)"new\n", .iov_len = 4};
	char path[PATH_MAX], buf[64], names[256];
	struct stat st1, st2;

	(void)state;
	path_of(path, sizeof(path), "list");
	assert_int_equal(rr_replace_file(path, two, 2, 0640,
					 RR_REPLACE_DURABLE),
			 0);
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "head\nbody\n");
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0640);

	/* replaced: a new inode (a reader holding the old one keeps it) */
	assert_int_equal(rr_replace_file(path, &one, 1, 0600, 0), 0);
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "new\n");
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0600);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	/* nothing else in the directory: no temporary file left */
	entries(names, sizeof(names));
	assert_string_equal(names, "list");

	/* no parts: an empty file */
	assert_int_equal(rr_replace_file(path, NULL, 0, 0644, 0), 0);
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_replace_failures(void **state)
{
	const struct iovec one = {.iov_base = (void *)"x", .iov_len = 1};
	char path[PATH_MAX], names[256], buf[64];
	char *longp;
	int r;

	(void)state;
	/* no such directory: nothing created */
	path_of(path, sizeof(path), "missing/list");
	assert_int_equal(rr_replace_file(path, &one, 1, 0644, 0), -ENOENT);
	/* no file name */
	path_of(path, sizeof(path), "");
	assert_int_equal(rr_replace_file(path, &one, 1, 0644, 0), -EINVAL);
	/* the temporary name does not fit */
	longp = malloc(PATH_MAX + 16);
	assert_non_null(longp);
	memset(longp, 'a', PATH_MAX + 15);
	longp[0] = '/';
	longp[PATH_MAX + 15] = '\0';
	assert_int_equal(rr_replace_file(longp, &one, 1, 0644, 0),
			 -ENAMETOOLONG);
	free(longp);
	/* the target is a directory: rename fails, the temporary file goes */
	path_of(path, sizeof(path), "dir");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(rr_replace_file(path, &one, 1, 0644, 0), -EISDIR);
	entries(names, sizeof(names));
	assert_string_equal(names, "dir");
	assert_int_equal(rmdir(path), 0);
	/* an existing file stays as it was when its replacement fails */
	path_of(path, sizeof(path), "keep");
	assert_int_equal(rr_replace_file(path, &one, 1, 0644, 0), 0);
	{
		/* the second part overruns a 2-byte file size limit: EFBIG */
		const struct iovec parts[] = {
		    {.iov_base = (void *)"y", .iov_len = 1},
		    {.iov_base = (void *)"zzzzz", .iov_len = 5},
		};
		struct rlimit old, small;

		assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
		small = old;
		small.rlim_cur = 2;
		assert_true(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
		r = rr_replace_file(path, parts, 2, 0644, 0);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
		assert_int_equal(r, -EFBIG);
	}
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "x");
	entries(names, sizeof(names));
	assert_string_equal(names, "keep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_all_large, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_replace_new_and_existing,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replace_failures, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
