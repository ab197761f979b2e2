/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The floor of the riskd design, for bench_riskd.sh: a stand-in that
 * speaks riskd's protocol (pam_riskremediate/module/riskd_proto.h) and
 * does none of its work.  For each call it reads the module's HELLO, takes
 * the call as riskd does (ACCEPT, the module's COMMIT) and answers what
 * the real riskd answers on the allow path, with nothing
 * looked up, evaluated or recorded: the decision's log line (of the real
 * one's length), the "auth allowed" mark that settles the account call,
 * and END PAM_SUCCESS, in one write as riskd sends them.
 *
 * What bench_login measures against it is therefore what any design with
 * the logic in another process pays before doing anything: mapping the
 * module, connecting, four wake-ups across processes, and the module
 * writing the log line and the PAM data.  Never install or run this
 * outside a benchmark: it allows every sign-in.
 *
 * usage: bench_riskd_floor SOCKET   (runs until killed)
 */
#include "host.h"
#include "riskd_proto.h"
#include "rr_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_modules.h>

/* as long as the real decision line of bench_login's allow path */
#define LINE                                                                 \
	"decision=allow outcome=success user=\"root\" service=\"ours\" "     \
	"rhost=\"-\" user_risk=none signin_risk=none detections=\"-\" "      \
	"applied=\"\" report_only=\"\" mfa=- ref=0000-0000"

static void answer(int fd)
{
	char prio[8], rc[8];
	const char *log[2] = {prio, LINE};
	const char *data[2] = {DATA_AUTH_OK, "1"};
	const char *end[1] = {rc};
	rr_wire_queue q = {0};
	rr_wire_msg m = {0};

	if (rr_wire_recv(fd, &m, RR_RISKD_HELLO_MS) < 0 ||
	    rr_wire_send(fd, RR_W_ACCEPT, NULL, 0, RR_RISKD_HELLO_MS) < 0 ||
	    rr_wire_recv(fd, &m, RR_RISKD_HELLO_MS) < 0 ||
	    m.type != RR_W_COMMIT) {
		rr_wire_msg_clear(&m);
		return;
	}
	rr_wire_msg_clear(&m);
	snprintf(prio, sizeof(prio), "%d", LOG_NOTICE);
	snprintf(rc, sizeof(rc), "%d", PAM_SUCCESS);
	if (rr_wire_queue_add(&q, RR_W_LOG, log, 2) == 0 &&
	    rr_wire_queue_add(&q, RR_W_SETDATA, data, 2) == 0 &&
	    rr_wire_queue_add(&q, RR_W_END, end, 1) == 0)
		rr_wire_queue_flush(fd, &q, RR_RISKD_HELLO_MS);
	rr_wire_queue_clear(&q);
}

int main(int argc, char **argv)
{
	int lfd, fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	lfd = rr_wire_listen(argv[1], 0600, 64);
	if (lfd < 0) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", argv[0],
			argv[1], strerror(-lfd));
		return 1;
	}
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("accept4");
			return 1;
		}
		answer(fd);
		close(fd);
	}
}
