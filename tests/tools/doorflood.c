/*
 * doorflood — a hostile client for tests of the HTTP endpoint's front door:
 * holds many connections from chosen 127.0.0.x addresses, idle, half-sent,
 * trickling or kept alive, and opens them again when the server closes them.
 *
 *   doorflood --target IP:PORT --conns N --mode MODE [--from IP[-IP]]
 *             [--duration SECONDS] [--rate CONNECTS_PER_SECOND] [--tls]
 *             [--request FILE]
 *
 * MODE:
 *   idle       connect, send nothing (with --tls: a handshake never begun)
 *   half       send half a request line (with --tls: a ClientHello's record
 *              header and nothing more: a handshake never completed)
 *   mix        a third half, the rest idle
 *   trickle    a request line, then one header byte every second, forever
 *   keepalive  one whole GET /healthz, read its answer, then stay idle
 *   request    send FILE (a whole request), read until the server closes,
 *              count the status; no reconnect
 *
 * --from takes one address or a range of the last octet
 * (127.0.0.10-127.0.0.49): the connections are spread over them.  Bounded
 * on purpose: only 127.0.0.0/8 targets and sources, at most 20,000
 * connections, 120 s.  At the end one line of counts on stdout:
 *
 *   connects=N refused=N closed_by_server=N max_open=N open=N [status_NNN=N ...]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 20000
#define MAX_SECONDS 120
#define TICK_MS 10

enum mode { M_IDLE, M_HALF, M_MIX, M_TRICKLE, M_KEEPALIVE, M_REQUEST };

struct conn {
	int fd; /* -1: to (re)open */
	bool connected;
	bool done;   /* request mode: answered */
	size_t sent; /* trickle: header bytes sent */
	char status[4];
	size_t got; /* bytes of the status line seen */
};

struct opts {
	struct sockaddr_in target;
	uint32_t from_lo, from_hi; /* host order */
	int conns, duration, rate;
	enum mode mode;
	bool tls;
	char *request;
	size_t request_len;
};

static struct conn *conns;
static long long n_connects, n_refused, n_closed, max_open, n_open;
static long long statuses[600];

static long long now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(void)
{
	fprintf(stderr, "usage: doorflood --target IP:PORT --conns N --mode "
	                "idle|half|mix|trickle|keepalive|request [--from IP[-IP]] "
	                "[--duration S] [--rate N] [--tls] [--request FILE]\n");
	return 2;
}

static bool loopback(uint32_t a)
{
	return (a >> 24) == 127;
}

static int parse_target(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 || !loopback(ntohl(sa->sin_addr.s_addr)))
		return -1;
	return 0;
}

static int parse_from(const char *s, struct opts *o)
{
	char lo[64];
	const char *dash = strchr(s, '-');
	struct in_addr a;
	size_t n = dash != NULL ? (size_t)(dash - s) : strlen(s);

	if (n >= sizeof(lo))
		return -1;
	memcpy(lo, s, n);
	lo[n] = '\0';
	if (inet_pton(AF_INET, lo, &a) != 1)
		return -1;
	o->from_lo = o->from_hi = ntohl(a.s_addr);
	if (dash != NULL) {
		if (inet_pton(AF_INET, dash + 1, &a) != 1)
			return -1;
		o->from_hi = ntohl(a.s_addr);
	}
	return loopback(o->from_lo) && loopback(o->from_hi) && o->from_lo <= o->from_hi ? 0 : -1;
}

static int read_file(const char *path, struct opts *o)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > 1 << 20 ||
	    fseek(f, 0, SEEK_SET) < 0 || (o->request = malloc((size_t)n + 1)) == NULL ||
	    fread(o->request, 1, (size_t)n, f) != (size_t)n) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	o->request_len = (size_t)n;
	return 0;
}

static int parse_mode(const char *s, enum mode *ret)
{
	static const char *const names[] = {"idle",    "half",      "mix",
	                                    "trickle", "keepalive", "request"};

	for (int i = 0; i < 6; i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum mode)i;
			return 0;
		}
	return -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;

		if (strcmp(a, "--tls") == 0) {
			o->tls = true;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--target") == 0)
			r = parse_target(v, &o->target);
		else if (strcmp(a, "--from") == 0)
			r = parse_from(v, o);
		else if (strcmp(a, "--conns") == 0)
			o->conns = atoi(v);
		else if (strcmp(a, "--duration") == 0)
			o->duration = atoi(v);
		else if (strcmp(a, "--rate") == 0)
			o->rate = atoi(v);
		else if (strcmp(a, "--mode") == 0)
			r = parse_mode(v, &o->mode);
		else if (strcmp(a, "--request") == 0)
			r = read_file(v, o);
		else
			return -1;
		if (r < 0)
			return -1;
	}
	if (o->conns < 1 || o->conns > MAX_CONNS || o->duration < 1 || o->duration > MAX_SECONDS ||
	    o->rate < 1 || o->target.sin_port == 0 || (o->mode == M_REQUEST && o->request == NULL))
		return -1;
	return 0;
}

/* ---- connections ---- */

static void conn_close(int ep, struct conn *c, bool by_server)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	(void)close(c->fd);
	c->fd = -1;
	if (c->connected) {
		n_open--;
		n_closed += by_server;
	}
	c->connected = false;
}

static int conn_open(int ep, const struct opts *o, struct conn *c, size_t i)
{
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u64 = i};
	uint32_t span = o->from_hi - o->from_lo + 1;
	int one = 1;

	src.sin_addr.s_addr = htonl(o->from_lo + (uint32_t)(i % span));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (connect(c->fd, (const struct sockaddr *)&o->target, sizeof(o->target)) < 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		(void)close(c->fd);
		c->fd = -1;
		n_refused++;
		return -1;
	}
	c->sent = c->got = 0;
	return 0;
}

static void send_str(int fd, const char *s, size_t n)
{
	(void)!send(fd, s, n, MSG_NOSIGNAL);
}

/* What a connection sends once connected. */
static void on_connected(const struct opts *o, struct conn *c, size_t i)
{
	static const char half[] = "GET /v1/databases HTTP/1.1\r\nHo";
	static const char hello[] = "\x16\x03\x01\x02\x00"; /* a 512-byte ClientHello follows... */
	static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char line[] = "GET /healthz HTTP/1.1\r\nX-Slow: ";
	bool is_half = o->mode == M_HALF || (o->mode == M_MIX && i % 3 == 0);

	c->connected = true;
	n_connects++;
	if (++n_open > max_open)
		max_open = n_open;
	if (is_half && o->tls)
		send_str(c->fd, hello, 5);
	else if (is_half)
		send_str(c->fd, half, sizeof(half) - 1);
	else if (o->mode == M_KEEPALIVE)
		send_str(c->fd, get, sizeof(get) - 1);
	else if (o->mode == M_TRICKLE)
		send_str(c->fd, line, sizeof(line) - 1);
	else if (o->mode == M_REQUEST)
		send_str(c->fd, o->request, o->request_len);
}

/* Reads what arrived: the status of a request's answer, or EOF. */
static void on_readable(int ep, const struct opts *o, struct conn *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t k = 0; k < n && c->got < 12; k++, c->got++)
			if (c->got >= 9)
				c->status[c->got - 9] = buf[k];
	}
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		if (o->mode == M_REQUEST && !c->done) {
			int st = c->got >= 12 ? atoi(c->status) : 0;

			statuses[st > 0 && st < 600 ? st : 0]++;
			c->done = true;
		}
		conn_close(ep, c, true);
	}
}

static void on_event(int ep, const struct opts *o, const struct epoll_event *ev)
{
	size_t i = (size_t)ev->data.u64;
	struct conn *c = &conns[i];
	struct epoll_event in = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = i};
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->fd < 0)
		return;
	if (!c->connected && (ev->events & EPOLLOUT)) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			n_refused++;
			conn_close(ep, c, false);
			return;
		}
		(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &in);
		on_connected(o, c, i);
	}
	if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		on_readable(ep, o, c);
}

/* Opens what is closed, at most budget of them. */
static void refill(int ep, const struct opts *o, long long *budget)
{
	for (int i = 0; i<o->conns && * budget> 0; i++) {
		if (conns[i].fd >= 0 || conns[i].done)
			continue;
		(*budget)--;
		(void)conn_open(ep, o, &conns[i], (size_t)i);
	}
}

/* One header byte a second on every trickling connection. */
static void trickle(const struct opts *o)
{
	for (int i = 0; i < o->conns; i++)
		if (conns[i].fd >= 0 && conns[i].connected)
			send_str(conns[i].fd, "a", 1);
}

static bool all_done(const struct opts *o)
{
	for (int i = 0; i < o->conns; i++)
		if (!conns[i].done)
			return false;
	return true;
}

static void report(void)
{
	printf("connects=%lld refused=%lld closed_by_server=%lld max_open=%lld open=%lld",
	       n_connects, n_refused, n_closed, max_open, n_open);
	for (int s = 0; s < 600; s++)
		if (statuses[s] > 0)
			printf(" status_%03d=%lld", s, statuses[s]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct opts o = {
	    .duration = 10, .rate = 5000, .from_lo = 0x7f000001, .from_hi = 0x7f000001};
	struct epoll_event evs[256];
	long long start, last_trickle, last_refill, budget = 0;
	int ep;

	if (parse_args(argc, argv, &o) < 0)
		return usage();
	conns = calloc((size_t)o.conns, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || ep < 0)
		return 1;
	for (int i = 0; i < o.conns; i++)
		conns[i].fd = -1;
	start = last_trickle = last_refill = now_ms();
	while (now_ms() - start < o.duration * 1000LL && !(o.mode == M_REQUEST && all_done(&o))) {
		int n;

		/* the first second's worth at once, then rate a second */
		budget += o.rate * (now_ms() - last_refill) / 1000;
		last_refill = now_ms();
		if (budget > o.rate || start == last_refill)
			budget = o.rate;
		refill(ep, &o, &budget);
		n = epoll_wait(ep, evs, 256, TICK_MS);
		for (int k = 0; k < n; k++)
			on_event(ep, &o, &evs[k]);
		if (o.mode == M_TRICKLE && now_ms() - last_trickle >= 1000) {
			trickle(&o);
			last_trickle = now_ms();
		}
	}
	report();
	free(o.request); /* a clean exit under LeakSanitizer (make SANITIZE=1) */
	free(conns);
	close(ep);
	return 0;
}
