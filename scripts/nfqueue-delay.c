/*
 * nfqueue-delay: delays the packets an iptables NFQUEUE rule hands it, for kernels without sch_netem.
 * Used by scripts/netns-multihost-test.sh; compiled there with `cc -O2`. Needs only the kernel's UAPI headers
 * (linux-libc-dev): it speaks nfnetlink_queue directly, without libnetfilter_queue.
 *
 *   nfqueue-delay --delay-ms 20 --jitter-ms 5 [--queue 0] [--seed N] NETNS_PATH...
 *
 * For each network namespace given (a path such as /run/netns/NAME, or "-" for the current one) it binds NFQUEUE
 * queue --queue in that namespace (the netlink socket stays tied to the namespace it was opened in), then holds every
 * queued packet for a delay drawn uniformly from [delay - jitter, delay + jitter] (netem's default distribution) and
 * accepts it. A packet is never released before the one queued ahead of it in the same namespace, so the jitter
 * does not reorder packets (netem with jitter can); under load the delays therefore lean towards the upper bound.
 * Verdicts go out as NFQNL_MSG_VERDICT_BATCH (accept every id up to N), one message per wake-up and namespace.
 *
 * Prints "nfqueue-delay: ready" once every queue is bound, and a summary line on SIGTERM/SIGINT, after accepting
 * whatever it still holds. If it dies, the rules' --queue-bypass lets traffic through undelayed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUES 16
#define RING_CAPACITY (1u << 17) /* held packets per namespace; beyond that a packet is accepted at once */
#define KERNEL_QUEUE_MAXLEN (1u << 17)

struct held_packet {
    uint32_t id;
    int64_t release_ns;
};

struct queue {
    const char *name;
    int fd;
    struct held_packet *ring;
    uint32_t head, count;
    int64_t last_release_ns;
    uint64_t packets, overflowed, released;
    double delay_sum_ms, lateness_sum_ms, lateness_max_ms;
};

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng_state = 88172645463325252ull;
static double uniform01(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Appends one netlink attribute to the message in buf (whose nlmsg_len is updated). */
static void put_attr(char *buf, uint16_t type, const void *data, uint16_t len) {
    struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
    struct nlattr *attr = (struct nlattr *)(buf + NLMSG_ALIGN(nlh->nlmsg_len));
    attr->nla_type = type;
    attr->nla_len = (uint16_t)(NLA_HDRLEN + len);
    memcpy((char *)attr + NLA_HDRLEN, data, len);
    nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(attr->nla_len);
}

static void start_message(char *buf, uint16_t type, uint16_t flags, uint16_t queue_num) {
    static uint32_t seq = 1;
    struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
    memset(buf, 0, NLMSG_HDRLEN + sizeof(struct nfgenmsg));
    nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nfgenmsg);
    nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq++;
    struct nfgenmsg *gen = (struct nfgenmsg *)NLMSG_DATA(nlh);
    gen->nfgen_family = AF_UNSPEC;
    gen->version = NFNETLINK_V0;
    gen->res_id = htons(queue_num);
}

/* Sends a request and waits for its acknowledgement; returns 0 or a negative errno. */
static int request(int fd, char *buf) {
    struct nlmsghdr *sent = (struct nlmsghdr *)buf;
    if (send(fd, buf, sent->nlmsg_len, 0) < 0) return -errno;
    char reply[8192];
    for (;;) {
        ssize_t n = recv(fd, reply, sizeof reply, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (struct nlmsghdr *nlh = (struct nlmsghdr *)reply; NLMSG_OK(nlh, (size_t)n); nlh = NLMSG_NEXT(nlh, n)) {
            if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == sent->nlmsg_seq) {
                return ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
            }
        }
    }
}

static int open_queue(struct queue *q, uint16_t queue_num) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) return -errno;
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) return -errno;
    int size = 8 << 20, one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

    char buf[256];
    start_message(buf, NFQNL_MSG_CONFIG, NLM_F_ACK, queue_num);
    struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET)};
    put_attr(buf, NFQA_CFG_CMD, &cmd, sizeof cmd);
    int err = request(fd, buf);
    if (err < 0) return err;

    start_message(buf, NFQNL_MSG_CONFIG, NLM_F_ACK, queue_num);
    struct nfqnl_msg_config_params params = {.copy_range = htonl(0), .copy_mode = NFQNL_COPY_META};
    put_attr(buf, NFQA_CFG_PARAMS, &params, sizeof params);
    uint32_t maxlen = htonl(KERNEL_QUEUE_MAXLEN);
    put_attr(buf, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
    err = request(fd, buf);
    if (err < 0) return err;

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    q->fd = fd;
    return 0;
}

static void verdict_batch(struct queue *q, uint16_t queue_num, uint32_t up_to_id) {
    char buf[128];
    start_message(buf, NFQNL_MSG_VERDICT_BATCH, 0, queue_num);
    struct nfqnl_msg_verdict_hdr verdict = {.verdict = htonl(NF_ACCEPT), .id = htonl(up_to_id)};
    put_attr(buf, NFQA_VERDICT_HDR, &verdict, sizeof verdict);
    while (send(q->fd, buf, ((struct nlmsghdr *)buf)->nlmsg_len, 0) < 0 && errno == EINTR) {}
}

static void verdict_one(struct queue *q, uint16_t queue_num, uint32_t id) {
    char buf[128];
    start_message(buf, NFQNL_MSG_VERDICT, 0, queue_num);
    struct nfqnl_msg_verdict_hdr verdict = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};
    put_attr(buf, NFQA_VERDICT_HDR, &verdict, sizeof verdict);
    while (send(q->fd, buf, ((struct nlmsghdr *)buf)->nlmsg_len, 0) < 0 && errno == EINTR) {}
}

/* Reads every queued-packet message waiting on the socket and schedules each packet's release. */
static void receive_packets(struct queue *q, uint16_t queue_num, int64_t delay_ns, int64_t jitter_ns) {
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = recv(q->fd, buf, sizeof buf, 0);
        if (n < 0) return; /* EAGAIN (drained), EINTR or ENOBUFS: the main loop polls again */
        for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (size_t)n); nlh = NLMSG_NEXT(nlh, n)) {
            if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) continue;
            char *attrs = (char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
            int remaining = (int)nlh->nlmsg_len - (int)(attrs - (char *)nlh);
            for (struct nlattr *attr = (struct nlattr *)attrs; remaining >= NLA_HDRLEN && attr->nla_len >= NLA_HDRLEN &&
                                                               attr->nla_len <= remaining;
                 remaining -= NLA_ALIGN(attr->nla_len), attr = (struct nlattr *)((char *)attr + NLA_ALIGN(attr->nla_len))) {
                if ((attr->nla_type & NLA_TYPE_MASK) != NFQA_PACKET_HDR) continue;
                struct nfqnl_msg_packet_hdr hdr;
                memcpy(&hdr, (char *)attr + NLA_HDRLEN, sizeof hdr);
                uint32_t id = ntohl(hdr.packet_id);
                q->packets++;
                if (q->count == RING_CAPACITY) {
                    q->overflowed++;
                    verdict_one(q, queue_num, id);
                    break;
                }
                int64_t now = now_ns();
                int64_t release = now + delay_ns - jitter_ns + (int64_t)(uniform01() * (double)(2 * jitter_ns));
                if (release < q->last_release_ns) release = q->last_release_ns; /* keep the namespace's order */
                q->last_release_ns = release;
                q->delay_sum_ms += (double)(release - now) / 1e6;
                q->ring[(q->head + q->count) % RING_CAPACITY] = (struct held_packet){.id = id, .release_ns = release};
                q->count++;
                break;
            }
        }
    }
}

/* Accepts every held packet whose time has come (or all of them); returns the next release time, or -1. */
static int64_t release_due(struct queue *q, uint16_t queue_num, int64_t now, int everything) {
    uint32_t last_id = 0;
    int any = 0;
    while (q->count > 0 && (everything || q->ring[q->head].release_ns <= now)) {
        last_id = q->ring[q->head].id;
        any = 1;
        double late_ms = (double)(now - q->ring[q->head].release_ns) / 1e6;
        if (late_ms > 0 && !everything) {
            q->lateness_sum_ms += late_ms;
            if (late_ms > q->lateness_max_ms) q->lateness_max_ms = late_ms;
        }
        q->released++;
        q->head = (q->head + 1) % RING_CAPACITY;
        q->count--;
    }
    if (any) verdict_batch(q, queue_num, last_id);
    return q->count > 0 ? q->ring[q->head].release_ns : -1;
}

static void usage(void) {
    fprintf(stderr, "usage: nfqueue-delay --delay-ms MS --jitter-ms MS [--queue N] [--seed N] NETNS_PATH|- ...\n");
    exit(2);
}

int main(int argc, char **argv) {
    double delay_ms = -1, jitter_ms = 0;
    long queue_arg = 0;
    struct queue queues[MAX_QUEUES];
    int nqueues = 0;
    rng_state ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--delay-ms") && i + 1 < argc) delay_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--jitter-ms") && i + 1 < argc) jitter_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--queue") && i + 1 < argc) queue_arg = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) rng_state = strtoull(argv[++i], NULL, 10) | 1;
        else if (argv[i][0] == '-' && argv[i][1] == '-') usage();
        else if (nqueues < MAX_QUEUES) queues[nqueues++] = (struct queue){.name = argv[i], .fd = -1};
        else { fprintf(stderr, "nfqueue-delay: at most %d namespaces\n", MAX_QUEUES); return 2; }
    }
    if (delay_ms < 0 || jitter_ms < 0 || jitter_ms > delay_ms || nqueues == 0 || queue_arg < 0 || queue_arg > 65535) usage();
    uint16_t queue_num = (uint16_t)queue_arg;
    int64_t delay_ns = (int64_t)(delay_ms * 1e6), jitter_ns = (int64_t)(jitter_ms * 1e6);

    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) { perror("nfqueue-delay: /proc/self/ns/net"); return 1; }
    for (int i = 0; i < nqueues; i++) {
        struct queue *q = &queues[i];
        q->ring = malloc(sizeof(struct held_packet) * RING_CAPACITY);
        if (!q->ring) { fprintf(stderr, "nfqueue-delay: out of memory\n"); return 1; }
        if (strcmp(q->name, "-") != 0) {
            int ns = open(q->name, O_RDONLY | O_CLOEXEC);
            if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
                fprintf(stderr, "nfqueue-delay: cannot enter network namespace %s: %s\n", q->name, strerror(errno));
                return 1;
            }
            close(ns);
        }
        int err = open_queue(q, queue_num);
        if (setns(home, CLONE_NEWNET) < 0) { perror("nfqueue-delay: setns back"); return 1; }
        if (err < 0) {
            fprintf(stderr, "nfqueue-delay: cannot bind NFQUEUE %u in %s: %s\n", queue_num, q->name, strerror(-err));
            return 1;
        }
    }
    /* Real-time priority keeps the releases on time on a busy machine; it only ever sleeps in ppoll, so it cannot
     * starve anything. Without the privilege it runs at normal priority. */
    struct sched_param priority = {.sched_priority = 10};
    int realtime = sched_setscheduler(0, SCHED_FIFO, &priority) == 0;
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    /* The signals are blocked except inside ppoll, so one arriving between the loop's check and ppoll is not missed. */
    sigset_t blocked, waiting;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, &waiting);
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);
    printf("nfqueue-delay: ready (%d namespace(s), queue %u, %.1f ms +- %.1f ms, %s priority)\n", nqueues, queue_num, delay_ms,
           jitter_ms, realtime ? "real-time" : "normal");
    fflush(stdout);

    struct pollfd fds[MAX_QUEUES];
    for (int i = 0; i < nqueues; i++) fds[i] = (struct pollfd){.fd = queues[i].fd, .events = POLLIN};
    while (!stopping) {
        int64_t now = now_ns(), next = -1;
        for (int i = 0; i < nqueues; i++) {
            int64_t due = release_due(&queues[i], queue_num, now, 0);
            if (due >= 0 && (next < 0 || due < next)) next = due;
        }
        struct timespec timeout, *timeout_ptr = NULL;
        if (next >= 0) {
            int64_t wait = next - now_ns();
            if (wait < 0) wait = 0;
            timeout = (struct timespec){.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
            timeout_ptr = &timeout;
        }
        if (ppoll(fds, (nfds_t)nqueues, timeout_ptr, &waiting) < 0 && errno != EINTR) { perror("nfqueue-delay: ppoll"); break; }
        for (int i = 0; i < nqueues; i++) {
            if (fds[i].revents & (POLLIN | POLLERR)) receive_packets(&queues[i], queue_num, delay_ns, jitter_ns);
        }
    }
    uint64_t packets = 0, overflowed = 0, released = 0;
    double delay_sum = 0, late_sum = 0, late_max = 0;
    for (int i = 0; i < nqueues; i++) {
        release_due(&queues[i], queue_num, now_ns(), 1);
        packets += queues[i].packets;
        overflowed += queues[i].overflowed;
        released += queues[i].released;
        delay_sum += queues[i].delay_sum_ms;
        late_sum += queues[i].lateness_sum_ms;
        if (queues[i].lateness_max_ms > late_max) late_max = queues[i].lateness_max_ms;
    }
    /* The scheduled delay, and how late the releases were (CPU contention adds to the delay the packets saw). */
    printf("nfqueue-delay: %llu packets delayed, mean scheduled delay %.2f ms, released late by %.2f ms on average "
           "(max %.1f ms), %llu passed undelayed (ring full)\n",
           (unsigned long long)packets, packets > overflowed ? delay_sum / (double)(packets - overflowed) : 0.0,
           released > 0 ? late_sum / (double)released : 0.0, late_max, (unsigned long long)overflowed);
    return 0;
}
