/*
 * The lab guest's task listing for its truth (`cargo xtask lab`, a case with thousands of
 * tasks): `tasks TIDS_FILE` prints one line per task of /proc, itself left out,
 *
 *   task <tid> <tgid> <state> <cpu> <comm>
 *
 * as the init script's shell loop prints them (state and CPU are fields 3 and 39 of
 * /proc/<tgid>/task/<tid>/stat, comm is its comm file).
 * The shell reads /proc a byte at a time and competes with the workload for the CPU: minutes
 * for 6000 tasks under TCG. This runs SCHED_FIFO, above any sched_ext scheduler's tasks, and
 * takes a second. A task that ends while it is listed is left out, as the shell leaves it out.
 * Each listed tid also goes to TIDS_FILE, one a line: after the dump the guest looks for them
 * again with `tasks --gone TIDS_FILE`, which prints `gone <tid>` for each that no longer
 * exists (the tasks that may have ended before the dump), also at SCHED_FIFO: the shell would
 * wait behind the big guest's spinners for minutes.
 *
 * Built statically by the lab on the host (gcc -static): the guest has no libc.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads the file at `path` into `buf` (NUL-terminated); its length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((size_t)got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	if (n < 0)
		return -1;
	buf[got] = '\0';
	return got;
}

static int numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Prints the task line of /proc/<tgid>/task/<tid>, and its tid to `tids`, unless it is gone. */
static void list_task(const char *tgid, const char *tid, FILE *tids)
{
	char path[600], stat[1024], comm[64], *f, *save;
	const char *state = "?", *cpu = "-1";
	int field;

	snprintf(path, sizeof(path), "/proc/%s/task/%s/comm", tgid, tid);
	if (slurp(path, comm, sizeof(comm)) < 0)
		return;
	comm[strcspn(comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", tgid, tid);
	if (slurp(path, stat, sizeof(stat)) >= 0 && (f = strrchr(stat, ')')) != NULL) {
		/* After the comm: field 3 is the state, field 39 the CPU. */
		f = strtok_r(f + 1, " \n", &save);
		for (field = 3; f; field++, f = strtok_r(NULL, " \n", &save)) {
			if (field == 3)
				state = f;
			if (field == 39) {
				cpu = f;
				break;
			}
		}
	}
	printf("task %s %s %s %s %s\n", tid, tgid, state, cpu, comm);
	fprintf(tids, "%s\n", tid);
}

/* Prints `gone <tid>` for each tid of the file `listed` that /proc no longer has. */
static int gone(const char *listed)
{
	char line[64], path[100];
	FILE *in = fopen(listed, "r");

	if (!in) {
		perror(listed);
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		if (!numeric(line))
			continue;
		snprintf(path, sizeof(path), "/proc/%s", line);
		if (access(path, F_OK) != 0)
			printf("gone %s\n", line);
	}
	fclose(in);
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sched_param rt = { .sched_priority = 1 };
	struct dirent *p, *t;
	char self[32], path[300];
	DIR *procs, *tasks;
	FILE *tids;

	if (sched_setscheduler(0, SCHED_FIFO, &rt))
		perror("tasks: SCHED_FIFO (at normal priority)");
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (argc == 3 && strcmp(argv[1], "--gone") == 0)
		return gone(argv[2]);
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: tasks TIDS_FILE | tasks --gone TIDS_FILE\n");
		return 2;
	}
	tids = fopen(argv[1], "w");
	if (!tids) {
		perror(argv[1]);
		return 1;
	}
	snprintf(self, sizeof(self), "%d", (int)getpid());
	procs = opendir("/proc");
	if (!procs) {
		perror("tasks: /proc");
		return 1;
	}
	while ((p = readdir(procs)) != NULL) {
		if (!numeric(p->d_name) || strcmp(p->d_name, self) == 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tasks = opendir(path);
		if (!tasks)
			continue;
		while ((t = readdir(tasks)) != NULL)
			if (numeric(t->d_name))
				list_task(p->d_name, t->d_name, tids);
		closedir(tasks);
	}
	closedir(procs);
	return (fflush(stdout) | fclose(tids)) ? 1 : 0;
}
