/* Writes INCRs through redis-sentinel for a few seconds and reports which master it is on.
 * Usage: demo SENTINEL_ADDR MASTER_NAME SECONDS */
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

static int master_port(sentinel_conn *conn) {
  const char *argv[] = {"CONFIG", "GET", "port"};
  sentinel_reply *reply = sentinel_command_argv(conn, 3, argv, NULL, NULL);
  int port = reply && reply->elements == 2 ? atoi(reply->element[1]->str) : -1;
  sentinel_reply_free(reply);
  return port;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s SENTINEL_ADDR MASTER_NAME SECONDS\n", argv[0]);
    return 2;
  }
  const char *name = argv[2];
  const char *names[] = {name};
  sentinel_error *err = NULL;
  sentinel_client *client = sentinel_client_new("tcp", argv[1], 4, names, 1, &err);
  if (!client) {
    fprintf(stderr, "[c] cannot start: %s\n", sentinel_error_message(err));
    sentinel_error_free(err);
    return 1;
  }
  const char *incr[] = {"INCR", "demo:c"};
  long acked = 0, failed = 0;
  int port = -1;
  double start = now_s(), last_check = 0;
  while (now_s() - start < atof(argv[3])) {
    sentinel_conn *conn = sentinel_get_master(client, name, &err);
    if (!conn) {
      failed++;
      sentinel_error_free(err);
      continue;
    }
    sentinel_reply *reply = sentinel_command_argv(conn, 2, incr, NULL, &err);
    if (reply) acked++;
    else failed++;
    if (now_s() - last_check > 0.1) {
      last_check = now_s();
      int now_port = master_port(conn);
      if (now_port != port && now_port > 0) {
        printf("[c]      t=%5.2fs  writing to master on port %d (%ld INCRs acknowledged so far)\n",
               now_s() - start, now_port, acked);
        fflush(stdout);
        port = now_port;
      }
    }
    sentinel_reply_free(reply);
    sentinel_carefully_put_master(client, name, conn, err);
    sentinel_error_free(err);
    err = NULL;
  }
  printf("[c]      done: %ld INCRs acknowledged, %ld failed\n", acked, failed);
  sentinel_client_close(client);
  return 0;
}
