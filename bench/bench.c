/* make bench, C side: our API against raw hiredis on the same master, interleaved.
 * Environment: SENTINEL_ADDR, NAME (a master name), MASTER_PORT (its port), NAMES (for
 * "resources": a comma-separated list of master names).
 * Usage: bench latency|getput|pipeline|threads|resources|durable ("durable" wants a master with
 * one replica)
 * Prints KEY=VALUE lines. */
#define _DEFAULT_SOURCE
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis_sentinel.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (!v) {
    fprintf(stderr, "missing %s\n", name);
    exit(2);
  }
  return v;
}

static void die_unless_opt(bool ok, sentinel_error *err) {
  if (!ok) {
    fprintf(stderr, "options: %s\n", sentinel_error_message(err));
    exit(1);
  }
}

static sentinel_client *our_client(const char *const *names, size_t n, size_t pool) {
  sentinel_error *err = NULL;
  sentinel_client *c = sentinel_client_new("tcp", env("SENTINEL_ADDR"), pool, names, n, &err);
  if (!c) {
    fprintf(stderr, "client: %s\n", sentinel_error_message(err));
    exit(1);
  }
  return c;
}

/* Spins up to BUSY_POLL_US for each reply before sleeping (sentinel_options_set_busy_poll_us). */
enum { BUSY_POLL_US = 100 };

static sentinel_client *our_spinning_client(const char *name) {
  sentinel_error *err = NULL;
  sentinel_options *opts = sentinel_options_new();
  die_unless_opt(sentinel_options_add_sentinel(opts, "tcp", env("SENTINEL_ADDR"), &err), err);
  die_unless_opt(sentinel_options_set_busy_poll_us(opts, BUSY_POLL_US, &err), err);
  sentinel_client *c = sentinel_client_new_with_options(opts, 4, &name, 1, &err);
  die_unless_opt(c != NULL, err);
  sentinel_options_free(opts);
  return c;
}

static redisContext *hiredis(void) {
  redisContext *ctx = redisConnect("127.0.0.1", atoi(env("MASTER_PORT")));
  if (!ctx || ctx->err) {
    fprintf(stderr, "hiredis connect failed\n");
    exit(1);
  }
  return ctx;
}

static const char *GET_ARGV[] = {"GET", "bench:key"};
static const size_t GET_LEN[] = {3, 9};

static void die_unless(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "%s failed\n", what);
    exit(1);
  }
}

static void our_gets(sentinel_client *c, const char *name, int count) {
  for (int i = 0; i < count; i++) {
    sentinel_conn *conn = sentinel_get_master(c, name, NULL);
    sentinel_reply *reply = sentinel_command_argv(conn, 2, GET_ARGV, GET_LEN, NULL);
    die_unless(reply != NULL, "GET");
    sentinel_reply_free(reply);
    sentinel_put_master(c, name, conn);
  }
}

/* Fisher-Yates with a fixed seed: every run measures in the same orders. */
static void shuffle(int *order, int n, unsigned *seed) {
  for (int i = n - 1; i > 0; i--) {
    int j = rand_r(seed) % (i + 1);
    int t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

/* GET round trip: checkout + GET + put back, against redisCommandArgv on one context; and the
 * same through a client that busy-polls for replies. */
static void latency(void) {
  const char *name = env("NAME");
  sentinel_client *c = our_client(&name, 1, 4);
  sentinel_client *spinning = our_spinning_client(name);
  redisContext *ctx = hiredis();
  const int rounds = 80, per_round = 500;
  double ours = 0, theirs = 0, ours_spinning = 0;
  int order[] = {0, 1, 2};
  unsigned seed = 1;
  /* A fresh order every round. Rotating a fixed order would give each side the same
   * predecessor every time, and what ran just before moves a round trip by microseconds. */
  for (int r = 0; r < rounds; r++) {
    shuffle(order, 3, &seed);
    for (int turn = 0; turn < 3; turn++) {
      int side = order[turn];
      double t0 = now_s();
      if (side == 0) {
        our_gets(c, name, per_round);
      } else if (side == 1) {
        for (int i = 0; i < per_round; i++) {
          redisReply *reply = redisCommandArgv(ctx, 2, GET_ARGV, GET_LEN);
          die_unless(reply != NULL, "hiredis GET");
          freeReplyObject(reply);
        }
      } else {
        our_gets(spinning, name, per_round);
      }
      double spent = now_s() - t0;
      *(side == 0 ? &ours : side == 1 ? &theirs : &ours_spinning) += spent;
    }
  }
  int n = rounds * per_round;
  printf("GET_US_OURS=%.2f\nGET_US_HIREDIS=%.2f\nGET_US_OURS_BUSYPOLL=%.2f\nBUSY_POLL_US=%d\n",
         ours / n * 1e6, theirs / n * 1e6, ours_spinning / n * 1e6, BUSY_POLL_US);
  redisFree(ctx);
  sentinel_client_close(spinning);
  sentinel_client_close(c);
}

/* Durable writes: every write waits for this many replicas (sentinel_options_set_wait_replicas). */
enum { WAIT_REPLICAS = 1, WAIT_TIMEOUT_MS = 1000 };

static sentinel_client *our_durable_client(const char *name) {
  sentinel_error *err = NULL;
  sentinel_options *opts = sentinel_options_new();
  die_unless_opt(sentinel_options_add_sentinel(opts, "tcp", env("SENTINEL_ADDR"), &err), err);
  die_unless_opt(sentinel_options_set_wait_replicas(opts, WAIT_REPLICAS, WAIT_TIMEOUT_MS, &err), err);
  sentinel_client *c = sentinel_client_new_with_options(opts, 4, &name, 1, &err);
  die_unless_opt(c != NULL, err);
  sentinel_options_free(opts);
  return c;
}

static const char *INCR_ARGV[] = {"INCR", "bench:incr"};
static const size_t INCR_LEN[] = {4, 10};

static void our_incrs(sentinel_client *c, const char *name, int count) {
  for (int i = 0; i < count; i++) {
    sentinel_conn *conn = sentinel_get_master(c, name, NULL);
    sentinel_error *err = NULL;
    sentinel_reply *reply = sentinel_command_argv(conn, 2, INCR_ARGV, INCR_LEN, &err);
    if (!reply) {
      fprintf(stderr, "INCR: %s\n", sentinel_error_message(err));
      exit(1);
    }
    sentinel_reply_free(reply);
    sentinel_put_master(c, name, conn);
  }
}

/* INCR round trip (checkout + INCR + put back) on a master with one replica: plain, and with
 * durable writes (INCR and WAIT 1 in one write); hiredis sending the same INCR and WAIT in one
 * write (redisAppendCommandArgv twice, then two replies) is the floor of the durable one. */
static void durable(void) {
  const char *name = env("NAME");
  sentinel_client *plain = our_client(&name, 1, 4);
  sentinel_client *durable = our_durable_client(name);
  redisContext *ctx = hiredis();
  char replicas[16], timeout[16];
  snprintf(replicas, sizeof replicas, "%d", WAIT_REPLICAS);
  snprintf(timeout, sizeof timeout, "%d", WAIT_TIMEOUT_MS);
  const char *wait_argv[] = {"WAIT", replicas, timeout};
  const int rounds = 40, per_round = 250;
  double spent[3] = {0, 0, 0};
  int order[] = {0, 1, 2};
  unsigned seed = 1;
  for (int r = 0; r < rounds; r++) {
    shuffle(order, 3, &seed);
    for (int turn = 0; turn < 3; turn++) {
      int side = order[turn];
      double t0 = now_s();
      if (side == 0) {
        our_incrs(plain, name, per_round);
      } else if (side == 1) {
        our_incrs(durable, name, per_round);
      } else {
        for (int i = 0; i < per_round; i++) {
          redisAppendCommandArgv(ctx, 2, INCR_ARGV, INCR_LEN);
          redisAppendCommandArgv(ctx, 3, wait_argv, NULL);
          void *incr = NULL, *wait = NULL;
          die_unless(redisGetReply(ctx, &incr) == REDIS_OK, "hiredis INCR");
          die_unless(redisGetReply(ctx, &wait) == REDIS_OK, "hiredis WAIT");
          die_unless(((redisReply *)wait)->type == REDIS_REPLY_INTEGER &&
                         ((redisReply *)wait)->integer >= WAIT_REPLICAS,
                     "hiredis WAIT confirmed");
          freeReplyObject(incr);
          freeReplyObject(wait);
        }
      }
      spent[side] += now_s() - t0;
    }
  }
  int n = rounds * per_round;
  printf("INCR_US_PLAIN=%.2f\nINCR_US_DURABLE=%.2f\nINCR_US_HIREDIS_WAIT=%.2f\nWAIT_REPLICAS=%d\n",
         spent[0] / n * 1e6, spent[1] / n * 1e6, spent[2] / n * 1e6, WAIT_REPLICAS);
  redisFree(ctx);
  sentinel_client_close(durable);
  sentinel_client_close(plain);
}

/* get_master + put_master with no command. */
static void getput(void) {
  const char *name = env("NAME");
  sentinel_client *c = our_client(&name, 1, 4);
  sentinel_put_master(c, name, sentinel_get_master(c, name, NULL)); /* open the connection */
  const int n = 2000000;
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    sentinel_conn *conn = sentinel_get_master(c, name, NULL);
    sentinel_put_master(c, name, conn);
  }
  double t1 = now_s();
  printf("GETPUT_NS=%.1f\n", (t1 - t0) / n * 1e9);
  sentinel_client_close(c);
}

/* Depth-100 pipelines of SET: append + get_reply on both sides. */
static void pipeline(void) {
  const char *name = env("NAME");
  sentinel_client *c = our_client(&name, 1, 4);
  redisContext *ctx = hiredis();
  const char *set[] = {"SET", "bench:pipe", "some-value-16b.."};
  const int depth = 100, rounds = 20, batches = 50;
  double ours = 0, theirs = 0;
  sentinel_conn *conn = sentinel_get_master(c, name, NULL);
  for (int r = 0; r < rounds; r++) {
    double t0 = now_s();
    for (int b = 0; b < batches; b++) {
      for (int i = 0; i < depth; i++) sentinel_append_command_argv(conn, 3, set, NULL, NULL);
      for (int i = 0; i < depth; i++) {
        sentinel_reply *reply = sentinel_get_reply(conn, NULL);
        die_unless(reply != NULL, "pipelined SET");
        sentinel_reply_free(reply);
      }
    }
    double t1 = now_s();
    for (int b = 0; b < batches; b++) {
      for (int i = 0; i < depth; i++) redisAppendCommandArgv(ctx, 3, set, NULL);
      for (int i = 0; i < depth; i++) {
        void *reply = NULL;
        die_unless(redisGetReply(ctx, &reply) == REDIS_OK, "hiredis pipelined SET");
        freeReplyObject(reply);
      }
    }
    double t2 = now_s();
    ours += t1 - t0;
    theirs += t2 - t1;
  }
  double n = (double)depth * rounds * batches;
  printf("PIPE_OPS_OURS=%.0f\nPIPE_OPS_HIREDIS=%.0f\n", n / ours, n / theirs);
  sentinel_put_master(c, name, conn);
  redisFree(ctx);
  sentinel_client_close(c);
}

struct job {
  sentinel_client *client;
  int hiredis;
  double seconds;
  long ops;
};

static void *thread_main(void *arg) {
  struct job *job = arg;
  const char *name = env("NAME");
  double end = now_s() + job->seconds;
  if (job->hiredis) {
    redisContext *ctx = hiredis();
    while (now_s() < end) {
      for (int i = 0; i < 100; i++) freeReplyObject(redisCommandArgv(ctx, 2, GET_ARGV, GET_LEN));
      job->ops += 100;
    }
    redisFree(ctx);
  } else {
    sentinel_conn *conn = sentinel_get_master(job->client, name, NULL);
    while (now_s() < end) {
      for (int i = 0; i < 100; i++) sentinel_reply_free(sentinel_command_argv(conn, 2, GET_ARGV, GET_LEN, NULL));
      job->ops += 100;
    }
    sentinel_put_master(job->client, name, conn);
  }
  return NULL;
}

static double run_threads(sentinel_client *c, int hiredis_side, int count, double seconds) {
  pthread_t threads[8];
  struct job jobs[8];
  for (int i = 0; i < count; i++) {
    jobs[i] = (struct job){c, hiredis_side, seconds, 0};
    pthread_create(&threads[i], NULL, thread_main, &jobs[i]);
  }
  long total = 0;
  for (int i = 0; i < count; i++) {
    pthread_join(threads[i], NULL);
    total += jobs[i].ops;
  }
  return total / seconds;
}

/* GET throughput with 1, 2 and 4 threads, each with its own conn (or context). */
static void threads(void) {
  const char *name = env("NAME");
  sentinel_client *c = our_client(&name, 1, 8);
  const int counts[] = {1, 2, 4};
  for (int k = 0; k < 3; k++) {
    double ours = 0, theirs = 0;
    for (int r = 0; r < 6; r++) { /* interleaved, to spread the noise of a 2-core machine */
      ours += run_threads(c, 0, counts[k], 0.5);
      theirs += run_threads(c, 1, counts[k], 0.5);
    }
    printf("THREADS%d_OPS_OURS=%.0f\nTHREADS%d_OPS_HIREDIS=%.0f\n", counts[k], ours / 6, counts[k], theirs / 6);
  }
  sentinel_client_close(c);
}

static long status_value(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long value = -1;
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, key, strlen(key)) == 0) value = atol(line + strlen(key));
  }
  if (f) fclose(f);
  return value;
}

/* Threads and RSS of an idle client following every master in NAMES, pools of 10. RSS counts
 * the pages of the library's code that the client touched (shared with every other process
 * using the library); RssAnon only the memory the client itself allocated: heap and stacks. */
static void resources(void) {
  char *list = strdup(env("NAMES"));
  const char *names[64];
  size_t n = 0;
  for (char *tok = strtok(list, ","); tok && n < 64; tok = strtok(NULL, ",")) names[n++] = tok;
  long threads_before = status_value("Threads:"), rss_before = status_value("VmRSS:");
  long anon_before = status_value("RssAnon:");
  sentinel_client *c = our_client(names, n, 10);
  usleep(1500 * 1000);
  long threads_after = status_value("Threads:"), rss_after = status_value("VmRSS:");
  long anon_after = status_value("RssAnon:");
  printf("MASTERS=%zu\nTHREADS_ADDED=%ld\nRSS_ADDED_KB=%ld\nANON_ADDED_KB=%ld\n", n,
         threads_after - threads_before, rss_after - rss_before, anon_after - anon_before);
  sentinel_client_close(c);
  usleep(100 * 1000);
  printf("THREADS_AFTER_CLOSE=%ld\n", status_value("Threads:") - threads_before);
  free(list);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s latency|getput|pipeline|threads|resources|durable\n", argv[0]);
    return 2;
  }
  if (!strcmp(argv[1], "latency")) latency();
  else if (!strcmp(argv[1], "getput")) getput();
  else if (!strcmp(argv[1], "pipeline")) pipeline();
  else if (!strcmp(argv[1], "threads")) threads();
  else if (!strcmp(argv[1], "resources")) resources();
  else if (!strcmp(argv[1], "durable")) durable();
  else return 2;
  return 0;
}
