/*
 * The lab's many-task workload (`cargo xtask lab`, the big guest): one process with SLEEPERS
 * threads blocked in pause() (comm "sleeper") and SPINNERS threads in a busy loop (comm
 * "spinner"), each on a small stack, so that a 1 GiB guest holds thousands of tasks.
 *
 *   threads SLEEPERS SPINNERS
 *
 * returns once every thread has run (a sleeper is then asleep, a spinner spinning): the
 * threads live on in a child process, whose id it prints with the counts. Exit status 1, with
 * the reason, when a thread cannot be started; 2 for bad arguments.
 *
 * Built statically by the lab on the host (gcc -static -pthread): the guest has no libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Enough for these threads' few frames; the kernel maps only the pages they touch. */
#define STACK_BYTES (32 * 1024)

/* Threads that have run. */
static atomic_uint started;

static void *sleeper(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "sleeper");
	atomic_fetch_add(&started, 1);
	for (;;)
		pause();
	return NULL;
}

static void *spinner(void *arg)
{
	volatile unsigned long turns = 0;

	(void)arg;
	prctl(PR_SET_NAME, "spinner");
	atomic_fetch_add(&started, 1);
	for (;;)
		turns++;
	return NULL;
}

static int count(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > 1000000)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/*
 * In the child: starts the threads, says `ok` or why not on `report`, then waits forever.
 * It starts them as SCHED_FIFO, above the spinners it has started and the sched_ext
 * scheduler's tasks (under TCG a normal thread took four minutes to start 6100), and the
 * threads themselves as normal tasks; it is a normal task again once they all have run.
 */
static void run(unsigned sleepers, unsigned spinners, FILE *report)
{
	struct sched_param rt = { .sched_priority = 1 }, normal = { .sched_priority = 0 };
	pthread_attr_t attr;
	pthread_t t;
	unsigned i, total = sleepers + spinners;
	int err;

	if (sched_setscheduler(0, SCHED_FIFO, &rt))
		perror("threads: SCHED_FIFO (starting them at normal priority)");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_BYTES);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	pthread_attr_setschedparam(&attr, &normal);
	for (i = 0; i < total; i++) {
		err = pthread_create(&t, &attr, i < sleepers ? sleeper : spinner, NULL);
		if (err) {
			fprintf(report, "thread %u of %u: pthread_create: %s\n", i + 1, total,
				strerror(err));
			fclose(report);
			_exit(1);
		}
	}
	while (atomic_load(&started) < total)
		usleep(10000);
	sched_setscheduler(0, SCHED_OTHER, &normal);
	fprintf(report, "ok\n");
	fclose(report);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	unsigned sleepers, spinners;
	char line[256] = "";
	int fd[2];
	pid_t pid;
	FILE *in;

	if (argc != 3 || count(argv[1], &sleepers) || count(argv[2], &spinners)) {
		fprintf(stderr, "usage: threads SLEEPERS SPINNERS\n");
		return 2;
	}
	if (pipe(fd)) {
		perror("threads: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("threads: fork");
		return 1;
	}
	if (pid == 0) {
		close(fd[0]);
		run(sleepers, spinners, fdopen(fd[1], "w"));
	}
	close(fd[1]);
	in = fdopen(fd[0], "r");
	if (!in || !fgets(line, sizeof(line), in) || strcmp(line, "ok\n") != 0) {
		fprintf(stderr, "threads: process %d: %s", (int)pid,
			line[0] ? line : "exited before its threads ran\n");
		return 1;
	}
	printf("threads: process %d: %u sleepers and %u spinners running\n", (int)pid, sleepers,
	       spinners);
	return 0;
}
