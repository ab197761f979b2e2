/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd_sandbox RW SYSCALLS PROGRAM [ARG...]: runs PROGRAM (riskd) inside
 * what of riskd.service's sandbox runs without systemd as PID 1, for
 * test_riskd's test_sandboxed:
 *
 *   ProtectSystem=strict    the file system read-only (a mount namespace)
 *   ReadWritePaths=RW       but RW (the store's directory)
 *   ProtectProc=invisible,  a /proc of its own processes
 *   ProcSubset=pid
 *   PrivateDevices=         a /dev of the pseudo devices
 *   CapabilityBoundingSet=  no capability
 *   NoNewPrivileges=
 *   SystemCallFilter=       the system calls listed in SYSCALLS (one a
 *                           line: riskd_syscalls.sh) allowed, any other
 *                           failing with EPERM (SystemCallErrorNumber=)
 *   RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
 *   MemoryDenyWriteExecute=
 *
 * A private /tmp (it would hide the test's directory) and IPC are not
 * reproduced.  A program of its own, exec'd by the test, so that the
 * test's valgrind runs do not trace the setup.  Exits 124 with a message
 * when a step fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "riskd_sandbox: %s: %s\n", what, strerror(errno));
	exit(124);
}

/* One comparison of a rule (libseccomp's SCMP_A0.. macros leave fields to
 * the compound literal's defaults, which clang's
 * -Wmissing-field-initializers refuses). */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op,
				   scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = {
	    .arg = arg, .op = op, .datum_a = a, .datum_b = b};

	return c;
}

/* The filter as systemd builds it from riskd.service. */
static scmp_filter_ctx filter_of(const char *list)
{
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
	static const char *const guarded[] = {"socket", "mmap", "mprotect",
					      "pkey_mprotect"};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	FILE *f = fopen(list, "re");
	char name[64];
	int nr, r = 0, n = 0;
	size_t i;
	bool skip;

	if (!ctx || !f)
		die(list);
	while (r == 0 && fscanf(f, "%63s", name) == 1) {
		nr = seccomp_syscall_resolve_name(name);
		skip = nr == __NR_SCMP_ERROR; /* not on this architecture */
		for (i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++)
			skip = skip || !strcmp(name, guarded[i]);
		if (!skip) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
			n++;
		}
	}
	fclose(f);
	if (n < 100) {
		errno = EINVAL;
		die("too few system calls listed");
	}
	for (i = 0; r == 0 && i < sizeof(families) / sizeof(families[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     arg_cmp(0, SCMP_CMP_EQ,
					     (scmp_datum_t)families[i], 0));
	/* never both writable and executable, nothing made executable */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_WRITE, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				     SCMP_SYS(pkey_mprotect), 1,
				     arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r < 0) {
		errno = -r;
		die("seccomp_rule_add");
	}
	return ctx;
}

static void mounts(const char *rw)
{
	static const struct {
		const char *path;
		unsigned major, minor;
	} devs[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},
		    {"/dev/full", 1, 7},    {"/dev/random", 1, 8},
		    {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	struct mount_attr w = {.attr_clr = MOUNT_ATTR_RDONLY};
	size_t i;

	if (unshare(CLONE_NEWNS) < 0)
		die("unshare");
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount --make-rprivate /");
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		die("read-only /");
	if (mount(rw, rw, "none", MS_BIND, NULL) < 0 ||
	    mount_setattr(AT_FDCWD, rw, 0, &w, sizeof(w)) < 0)
		die(rw);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "hidepid=invisible,subset=pid") < 0)
		die("/proc");
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
		  "mode=0755") < 0)
		die("/dev");
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (mknod(devs[i].path, S_IFCHR | 0666,
			  makedev(devs[i].major, devs[i].minor)) < 0 ||
		    chmod(devs[i].path, 0666) < 0)
			die(devs[i].path);
	if (mount_setattr(AT_FDCWD, "/dev", 0, &ro, sizeof(ro)) < 0)
		die("read-only /dev");
}

int main(int argc, char **argv)
{
	scmp_filter_ctx filter;
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];
	int cap;

	if (argc < 4) {
		fprintf(stderr, "usage: riskd_sandbox RW SYSCALLS PROGRAM "
			"[ARG...]\n");
		return 2;
	}
	filter = filter_of(argv[2]);
	mounts(argv[1]);
	for (cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die("PR_CAPBSET_DROP");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("PR_SET_NO_NEW_PRIVS");
	/* LeakSanitizer (sanitizer builds) stops riskd's threads at exit
	 * with ptrace, which the filter denies as the unit does */
	if (asan) {
		snprintf(opts, sizeof(opts), "%s:detect_leaks=0", asan);
		if (setenv("ASAN_OPTIONS", opts, 1) < 0)
			die("setenv");
	}
	/* last: from here on, what riskd.service allows */
	if (seccomp_load(filter) < 0) {
		errno = EPERM;
		die("seccomp_load");
	}
	execv(argv[3], argv + 3);
	die(argv[3]);
}
