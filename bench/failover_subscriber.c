/* A Pub/Sub subscriber through the C API for the failover benchmark.
 * Usage: failover_subscriber SENTINEL_ADDR NAME CHANNEL SECONDS
 * Messages carry increasing numbers. Prints RECEIVED, DISTINCT, OUT_OF_ORDER, MARKERS and GAP_MS
 * (longest time between two received messages, or from the last one to the end of the run
 * when that is longer). */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_sentinel.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s SENTINEL_ADDR NAME CHANNEL SECONDS\n", argv[0]);
    return 2;
  }
  const char *names[] = {argv[2]};
  sentinel_error *err = NULL;
  sentinel_options *opts = sentinel_options_new();
  sentinel_options_add_sentinel(opts, "tcp", argv[1], NULL);
  sentinel_options_set_read_timeout_ms(opts, 500, NULL);
  sentinel_client *client = sentinel_client_new_with_options(opts, 2, names, 1, &err);
  sentinel_options_free(opts);
  sentinel_pubsub *ps = client ? sentinel_pubsub_new(client, argv[2], &err) : NULL;
  const char *channels[] = {argv[3]};
  if (!ps || !sentinel_pubsub_subscribe(ps, channels, NULL, 1, &err)) {
    fprintf(stderr, "%s\n", sentinel_error_message(err));
    return 1;
  }
  printf("READY=1\n");
  fflush(stdout);
  long received = 0, distinct = 0, out_of_order = 0, markers = 0, last_n = -1;
  double end = now_s() + atof(argv[4]), last = 0, gap = 0;
  while (now_s() < end) {
    sentinel_message *m = sentinel_pubsub_next(ps, 100, &err);
    if (!m) {
      sentinel_error_free(err);
      err = NULL;
      continue;
    }
    if (m->type == SENTINEL_MESSAGE_RESUBSCRIBED) {
      markers++;
    } else if (m->type == SENTINEL_MESSAGE) {
      long n = strtol(m->data, NULL, 10);
      double t = now_s();
      if (last > 0 && t - last > gap) gap = t - last;
      last = t;
      received++;
      if (n > last_n) {
        distinct++;
        last_n = n;
      } else {
        out_of_order++;
      }
    }
    sentinel_message_free(m);
  }
  if (last > 0 && end - last > gap) gap = end - last;
  printf("RECEIVED=%ld\nDISTINCT=%ld\nOUT_OF_ORDER=%ld\nMARKERS=%ld\nGAP_MS=%.1f\n", received,
         distinct, out_of_order, markers, gap * 1000);
  sentinel_pubsub_free(ps);
  sentinel_client_close(client);
  return 0;
}
