/*
 * notifysink — the service manager's end of sd_notify(3), for tests.
 *
 *   notifysink SOCKET_PATH
 *
 * Binds an AF_UNIX datagram socket at SOCKET_PATH (point the daemon's
 * NOTIFY_SOCKET at it) and prints every datagram received as one line on
 * stdout, flushed at once:
 *
 *   <CLOCK_MONOTONIC in µs> <payload, its newlines turned into spaces>
 *
 * e.g. "81234567 RELOADING=1 MONOTONIC_USEC=81234501 STATUS=reloading".  The
 * clock is the one MONOTONIC_USEC= uses, so a test can compare them.  Bash
 * cannot read datagram sockets, hence this tool.  Runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static unsigned long long monotonic_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

static int bind_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notifysink: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "notifysink: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	ssize_t n, i;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: notifysink SOCKET_PATH\n");
		return 2;
	}
	fd = bind_socket(argv[1]);
	if (fd < 0)
		return 1;
	for (;;) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "notifysink: recv: %s\n", strerror(errno));
			return 1;
		}
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n' || buf[i] == '\0')
				buf[i] = ' ';
		}
		buf[n] = '\0';
		printf("%llu %s\n", monotonic_usec(), buf);
		fflush(stdout);
	}
}
