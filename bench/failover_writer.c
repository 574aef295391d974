/* INCR loop through the C API for the failover benchmark.
 * Usage: failover_writer SENTINEL_ADDR NAME KEY SECONDS [READ_TIMEOUT_MS]
 * Prints ACKED, FAILED, GAP_MS (longest time between two acknowledged writes, or from the last
 * one to the end of the run when that is longer: a writer stuck at the end counts), GAP_AT. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "redis_sentinel.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: %s SENTINEL_ADDR NAME KEY SECONDS [READ_TIMEOUT_MS]\n", argv[0]);
    return 2;
  }
  const char *name = argv[2];
  const char *names[] = {name};
  sentinel_error *err = NULL;
  sentinel_options *opts = sentinel_options_new();
  sentinel_options_add_sentinel(opts, "tcp", argv[1], NULL);
  sentinel_options_set_read_timeout_ms(opts, argc == 6 ? strtoull(argv[5], NULL, 10) : 1000, NULL);
  sentinel_client *client = sentinel_client_new_with_options(opts, 2, names, 1, &err);
  sentinel_options_free(opts);
  if (!client) {
    fprintf(stderr, "%s\n", sentinel_error_message(err));
    return 1;
  }
  const char *incr[] = {"INCR", argv[3]};
  long acked = 0, failed = 0;
  double start = now_s(), end = start + atof(argv[4]), last_ack = 0, gap = 0, gap_at = 0;
  while (now_s() < end) {
    sentinel_conn *conn = sentinel_get_master(client, name, &err);
    if (!conn) {
      failed++;
      sentinel_error_free(err);
      err = NULL;
      continue;
    }
    sentinel_reply *reply = sentinel_command_argv(conn, 2, incr, NULL, &err);
    if (reply) {
      double t = now_s();
      if (last_ack > 0 && t - last_ack > gap) {
        gap = t - last_ack;
        gap_at = last_ack;
      }
      last_ack = t;
      acked++;
    } else {
      failed++;
    }
    sentinel_reply_free(reply);
    sentinel_carefully_put_master(client, name, conn, err);
    sentinel_error_free(err);
    err = NULL;
  }
  double t = now_s();
  if (last_ack > 0 && t - last_ack > gap) {
    gap = t - last_ack;
    gap_at = last_ack;
  }
  sentinel_client_close(client);
  printf("ACKED=%ld\nFAILED=%ld\nGAP_MS=%.1f\nGAP_AT=%.6f\n", acked, failed, gap * 1000, gap_at);
  return 0;
}
