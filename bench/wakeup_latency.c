/* How late a sleeping thread wakes up on this machine: sleeps to absolute CLOCK_MONOTONIC deadlines every
 * PERIOD microseconds for SECONDS seconds (like cyclictest) and prints the lateness percentiles in microseconds:
 *   wakeups=N p50=.. p99=.. p99.9=.. max=..
 * An open-model load generator sleeps and wakes this way between arrivals, so this is the floor of its schedule
 * lag on the machine (a virtual machine's halted vCPU can take tens of microseconds, or milliseconds, to wake).
 * Build: cc -O2 -o wakeup_latency wakeup_latency.c    Run: ./wakeup_latency SECONDS PERIOD_US */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SECONDS PERIOD_US\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    uint64_t period = (uint64_t)atoll(argv[2]) * 1000ull;
    if (seconds <= 0 || seconds > 600 || period < 10000) {
        fprintf(stderr, "SECONDS must be in (0, 600] and PERIOD_US at least 10\n");
        return 2;
    }
    size_t capacity = (size_t)(seconds * 1e9 / (double)period) + 1;
    uint64_t *lateness = malloc(capacity * sizeof *lateness);
    if (!lateness) return 1;
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), next = start + period;
    size_t count = 0;
    while (next < end && count < capacity) {
        struct timespec deadline = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        uint64_t woke = now_ns();
        lateness[count++] = woke > next ? woke - next : 0;
        next += period;
        if (next < woke) next = woke + period; /* overslept a whole period: start again from now */
    }
    if (count == 0) return 1;
    qsort(lateness, count, sizeof *lateness, compare);
    printf("wakeups=%zu p50=%.1f p99=%.1f p99.9=%.1f max=%.1f\n", count, lateness[count / 2] / 1e3,
           lateness[(size_t)(count * 0.99)] / 1e3, lateness[(size_t)(count * 0.999)] / 1e3, lateness[count - 1] / 1e3);
    free(lateness);
    return 0;
}
