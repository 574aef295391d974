/* C harness: the C API against a real topology started by tests/c/run.sh.
 * Reads SENTINEL_ADDR, SENTINEL_SOCKET, NAMES, TOPOLOGY_DIR and TOPOLOGY_SCRIPT from the
 * environment. Prints one line per check and ends with "N passed, N failed". */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis_sentinel.h"

static int passed, failed;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (cond) {                                                   \
      passed++;                                                   \
    } else {                                                      \
      failed++;                                                   \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                               \
      fprintf(stderr, "\n");                                      \
    }                                                             \
  } while (0)

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (!v) {
    fprintf(stderr, "missing environment variable %s\n", name);
    exit(2);
  }
  return v;
}

static const char *NAME = "mymaster";
static const char *names_one[] = {"mymaster"};

static sentinel_client *new_client(size_t pool_size) {
  sentinel_error *err = NULL;
  sentinel_client *c = sentinel_client_new("tcp", env("SENTINEL_ADDR"), pool_size, names_one, 1, &err);
  if (!c) {
    fprintf(stderr, "client_new failed: %s\n", sentinel_error_message(err));
    exit(2);
  }
  return c;
}

/* Runs a command of NUL-terminated words; returns the reply or NULL with *err set. */
static sentinel_reply *cmd(sentinel_conn *conn, sentinel_error **err, int argc, const char **argv) {
  return sentinel_command_argv(conn, (size_t)argc, argv, NULL, err);
}

static long long integer_cmd(sentinel_conn *conn, int argc, const char **argv) {
  sentinel_error *err = NULL;
  sentinel_reply *r = cmd(conn, &err, argc, argv);
  long long v = -1;
  if (r && r->type == SENTINEL_REPLY_INTEGER) v = r->integer;
  if (err) fprintf(stderr, "  %s: %s\n", argv[0], sentinel_error_message(err));
  sentinel_reply_free(r);
  sentinel_error_free(err);
  return v;
}

static long long client_id(sentinel_conn *conn) {
  const char *argv[] = {"CLIENT", "ID"};
  return integer_cmd(conn, 2, argv);
}

static int conn_port(sentinel_conn *conn) {
  const char *argv[] = {"CONFIG", "GET", "port"};
  sentinel_error *err = NULL;
  sentinel_reply *r = cmd(conn, &err, 3, argv);
  int port = -1;
  if (r && r->type == SENTINEL_REPLY_ARRAY && r->elements == 2) port = atoi(r->element[1]->str);
  sentinel_reply_free(r);
  sentinel_error_free(err);
  return port;
}

static int is_master(sentinel_conn *conn) {
  const char *argv[] = {"ROLE"};
  sentinel_error *err = NULL;
  sentinel_reply *r = cmd(conn, &err, 1, argv);
  int yes = r && r->type == SENTINEL_REPLY_ARRAY && strcmp(r->element[0]->str, "master") == 0;
  sentinel_reply_free(r);
  sentinel_error_free(err);
  return yes;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int topology(const char *verb, const char *extra, char *out, size_t out_len) {
  char command[1024];
  snprintf(command, sizeof command, "python3 %s %s --dir %s %s", env("TOPOLOGY_SCRIPT"), verb,
           env("TOPOLOGY_DIR"), extra ? extra : "");
  FILE *p = popen(command, "r");
  if (!p) return -1;
  size_t n = out ? fread(out, 1, out_len - 1, p) : 0;
  if (out) out[n] = 0;
  else {
    char sink[256];
    while (fread(sink, 1, sizeof sink, p) > 0) {}
  }
  return pclose(p);
}

static void test_bad_inputs(void) {
  sentinel_error *err = NULL;
  const char *addr = env("SENTINEL_ADDR");
  const char *bad_utf8[] = {"\xff\xfe"};
  const char *null_name[] = {NULL};
  struct {
    const char *what, *network, *address;
    size_t pool;
    const char *const *names;
    size_t len;
  } cases[] = {
      {"NULL network", NULL, addr, 1, names_one, 1},
      {"NULL address", "tcp", NULL, 1, names_one, 1},
      {"bad network", "udp", addr, 1, names_one, 1},
      {"bad address", "tcp", "no-port", 1, names_one, 1},
      {"port 0", "tcp", "127.0.0.1:0", 1, names_one, 1},
      {"pool size 0", "tcp", addr, 0, names_one, 1},
      {"NULL names", "tcp", addr, 1, NULL, 1},
      {"no names", "tcp", addr, 1, names_one, 0},
      {"NULL name", "tcp", addr, 1, null_name, 1},
      {"non-UTF-8 name", "tcp", addr, 1, bad_utf8, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    err = NULL;
    sentinel_client *c = sentinel_client_new(cases[i].network, cases[i].address, cases[i].pool,
                                             cases[i].names, cases[i].len, &err);
    CHECK(c == NULL, "%s: got a client", cases[i].what);
    CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "%s: kind %d (%s)",
          cases[i].what, sentinel_error_get_kind(err), sentinel_error_message(err));
    CHECK(strlen(sentinel_error_message(err)) > 0, "%s: empty message", cases[i].what);
    CHECK(!sentinel_error_is_sentinel(err), "%s", cases[i].what);
    sentinel_error_free(err);
  }
  /* err may be NULL */
  CHECK(sentinel_client_new(NULL, NULL, 0, NULL, 0, NULL) == NULL, "NULL everything");

  /* unknown to the sentinel, and no sentinel at all */
  const char *unknown[] = {"no-such-master"};
  err = NULL;
  CHECK(sentinel_client_new("tcp", addr, 1, unknown, 1, &err) == NULL, "unknown master");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_UNKNOWN_MASTER, "kind %d",
        sentinel_error_get_kind(err));
  CHECK(strstr(sentinel_error_message(err), "no-such-master") != NULL, "%s", sentinel_error_message(err));
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_client_new("tcp", "127.0.0.1:1", 1, names_one, 1, &err) == NULL, "no sentinel");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_SENTINEL, "kind %d", sentinel_error_get_kind(err));
  CHECK(sentinel_error_is_sentinel(err), "is_sentinel");
  CHECK(!sentinel_error_is_readonly(err), "is_readonly");
  sentinel_error_free(err);

  /* error accessors, frees, puts and close take NULL */
  CHECK(sentinel_error_get_kind(NULL) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind of NULL");
  CHECK(sentinel_error_message(NULL) != NULL && sentinel_error_message(NULL)[0] == 0, "message of NULL");
  CHECK(!sentinel_error_is_sentinel(NULL) && !sentinel_error_is_readonly(NULL), "flags of NULL");
  sentinel_error_free(NULL);
  sentinel_reply_free(NULL);
  sentinel_client_close(NULL);
  sentinel_conn_mark_broken(NULL);

  sentinel_client *c = new_client(2);
  sentinel_put_master(NULL, NAME, NULL);
  sentinel_put_master(c, NAME, NULL);
  sentinel_carefully_put_master(c, NAME, NULL, NULL);
  sentinel_carefully_put_master(NULL, NULL, NULL, NULL);

  err = NULL;
  CHECK(sentinel_get_master(NULL, NAME, &err) == NULL, "NULL client");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_get_master(c, NULL, &err) == NULL, "NULL name");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_get_master(c, "\xff", &err) == NULL, "non-UTF-8 name");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_get_master(c, "other", &err) == NULL, "name not given");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_UNKNOWN_MASTER, "kind %d", sentinel_error_get_kind(err));
  sentinel_error_free(err);
  CHECK(sentinel_get_master(c, "other", NULL) == NULL, "err NULL");

  sentinel_conn *conn = sentinel_get_master(c, NAME, NULL);
  CHECK(conn != NULL, "get_master");
  const char *ping[] = {"PING"};
  const char *null_arg[] = {"GET", NULL};
  err = NULL;
  CHECK(sentinel_command_argv(NULL, 1, ping, NULL, &err) == NULL, "NULL conn");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_command_argv(conn, 0, ping, NULL, &err) == NULL, "argc 0");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_command_argv(conn, 1, NULL, NULL, &err) == NULL, "argv NULL");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_command_argv(conn, 2, null_arg, NULL, &err) == NULL, "argv[1] NULL");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  CHECK(strstr(sentinel_error_message(err), "argv[1]") != NULL, "%s", sentinel_error_message(err));
  sentinel_error_free(err);
  /* the conn is still good after bad arguments */
  sentinel_reply *r = sentinel_command_argv(conn, 1, ping, NULL, NULL);
  CHECK(r && r->type == SENTINEL_REPLY_STATUS && strcmp(r->str, "PONG") == 0, "PING after bad args");
  sentinel_reply_free(r);
  sentinel_put_master(c, NAME, conn);
  sentinel_client_close(c);
}

static void test_reply_types(void) {
  sentinel_client *c = new_client(2);
  sentinel_error *err = NULL;
  sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
  CHECK(conn && !err, "get_master");

  const char *set_argv[] = {"SET", "bin\0key", "a\0b\r\nc"};
  size_t set_len[] = {3, 7, 6};
  sentinel_reply *r = sentinel_command_argv(conn, 3, set_argv, set_len, &err);
  CHECK(r && r->type == SENTINEL_REPLY_STATUS && r->len == 2 && strcmp(r->str, "OK") == 0, "status OK");
  sentinel_reply_free(r);

  const char *get_argv[] = {"GET", "bin\0key"};
  size_t get_len[] = {3, 7};
  r = sentinel_command_argv(conn, 2, get_argv, get_len, &err);
  CHECK(r && r->type == SENTINEL_REPLY_STRING && r->len == 6 && memcmp(r->str, "a\0b\r\nc", 7) == 0,
        "binary string with NUL (terminated)");
  sentinel_reply_free(r);

  const char *missing[] = {"GET", "no-such-key"};
  r = cmd(conn, &err, 2, missing);
  CHECK(r && r->type == SENTINEL_REPLY_NIL && !err, "nil");
  sentinel_reply_free(r);

  const char *incr[] = {"INCRBY", "n", "-5"};
  r = cmd(conn, &err, 3, incr);
  CHECK(r && r->type == SENTINEL_REPLY_INTEGER && r->integer == -5, "integer");
  sentinel_reply_free(r);

  const char *rpush[] = {"RPUSH", "list", "x", "", "z"};
  sentinel_reply_free(cmd(conn, &err, 5, rpush));
  const char *lrange[] = {"LRANGE", "list", "0", "-1"};
  r = cmd(conn, &err, 4, lrange);
  CHECK(r && r->type == SENTINEL_REPLY_ARRAY && r->elements == 3 && r->element[1]->len == 0 &&
            r->element[1]->str[0] == 0 && strcmp(r->element[2]->str, "z") == 0,
        "array");
  sentinel_reply_free(r);

  const char *empty[] = {"LRANGE", "nothing", "0", "-1"};
  r = cmd(conn, &err, 4, empty);
  CHECK(r && r->type == SENTINEL_REPLY_ARRAY && r->elements == 0, "empty array");
  sentinel_reply_free(r);

  const char *set_str[] = {"SET", "str", "x"};
  sentinel_reply_free(cmd(conn, &err, 3, set_str));
  const char *multi[] = {"MULTI"}, *bad_incr[] = {"INCR", "str"}, *ok_set[] = {"SET", "o", "1"}, *exec[] = {"EXEC"};
  sentinel_reply_free(cmd(conn, &err, 1, multi));
  sentinel_reply_free(cmd(conn, &err, 2, bad_incr));
  sentinel_reply_free(cmd(conn, &err, 3, ok_set));
  r = cmd(conn, &err, 1, exec);
  CHECK(r && r->type == SENTINEL_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == SENTINEL_REPLY_ERROR &&
            strncmp(r->element[0]->str, "ERR", 3) == 0 && r->element[1]->type == SENTINEL_REPLY_STATUS,
        "nested error inside EXEC");
  CHECK(err == NULL, "no top-level error for EXEC");
  sentinel_reply_free(r);

  /* a top-level error reply: NULL + SERVER, and the conn is kept */
  long long id = client_id(conn);
  const char *wrongtype[] = {"LPUSH", "str", "x"};
  r = cmd(conn, &err, 3, wrongtype);
  CHECK(r == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_SERVER, "SERVER kind %d",
        sentinel_error_get_kind(err));
  CHECK(strncmp(sentinel_error_message(err), "WRONGTYPE", 9) == 0, "%s", sentinel_error_message(err));
  CHECK(!sentinel_error_is_readonly(err), "not readonly");
  sentinel_carefully_put_master(c, NAME, conn, err);
  sentinel_error_free(err);
  err = NULL;
  conn = sentinel_get_master(c, NAME, &err);
  CHECK(client_id(conn) == id, "SERVER error keeps the connection");

  /* READONLY closes it */
  const char *readonly[] = {"EVAL", "return redis.error_reply('READONLY You can\\'t write against a read only replica.')", "0"};
  r = cmd(conn, &err, 3, readonly);
  CHECK(r == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_READONLY, "READONLY kind %d",
        sentinel_error_get_kind(err));
  CHECK(sentinel_error_is_readonly(err), "is_readonly");
  sentinel_carefully_put_master(c, NAME, conn, err);
  sentinel_error_free(err);
  err = NULL;
  conn = sentinel_get_master(c, NAME, &err);
  long long id2 = client_id(conn);
  CHECK(id2 != id && id2 > 0, "READONLY closes the connection (%lld vs %lld)", id2, id);

  /* CLIENT KILL: IO error, and carefully_put closes it */
  sentinel_conn *killer = sentinel_get_master(c, NAME, &err);
  char idtext[32];
  snprintf(idtext, sizeof idtext, "%lld", id2);
  const char *kill[] = {"CLIENT", "KILL", "ID", idtext};
  CHECK(integer_cmd(killer, 4, kill) == 1, "CLIENT KILL");
  sentinel_put_master(c, NAME, killer);
  const char *ping[] = {"PING"};
  r = cmd(conn, &err, 1, ping);
  CHECK(r == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_IO, "IO kind %d: %s",
        sentinel_error_get_kind(err), sentinel_error_message(err));
  sentinel_carefully_put_master(c, NAME, conn, err);
  sentinel_error_free(err);
  err = NULL;
  sentinel_conn *a = sentinel_get_master(c, NAME, &err);
  sentinel_conn *b = sentinel_get_master(c, NAME, &err);
  long long ida = client_id(a), idb = client_id(b);
  CHECK(ida != id2 && idb != id2, "killed connection not reused");
  sentinel_put_master(c, NAME, a);
  sentinel_put_master(c, NAME, b);
  sentinel_client_close(c);
}

struct incr_job {
  sentinel_client *client;
  int failures;
};

static void *incr_worker(void *arg) {
  struct incr_job *job = arg;
  const char *incr[] = {"INCR", "c-counter"};
  for (int i = 0; i < 2000; i++) {
    sentinel_error *err = NULL;
    sentinel_conn *conn = sentinel_get_master(job->client, NAME, &err);
    if (!conn) {
      job->failures++;
      sentinel_error_free(err);
      continue;
    }
    sentinel_reply *r = sentinel_command_argv(conn, 2, incr, NULL, &err);
    if (!r) job->failures++;
    sentinel_reply_free(r);
    sentinel_carefully_put_master(job->client, NAME, conn, err);
    sentinel_error_free(err);
  }
  return NULL;
}

static void test_threads(void) {
  sentinel_client *c = new_client(4);
  pthread_t threads[8];
  struct incr_job jobs[8];
  for (int i = 0; i < 8; i++) {
    jobs[i].client = c;
    jobs[i].failures = 0;
    pthread_create(&threads[i], NULL, incr_worker, &jobs[i]);
  }
  int failures = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(threads[i], NULL);
    failures += jobs[i].failures;
  }
  CHECK(failures == 0, "%d failures", failures);
  sentinel_conn *conn = sentinel_get_master(c, NAME, NULL);
  const char *get[] = {"GET", "c-counter"};
  sentinel_reply *r = cmd(conn, NULL, 2, get);
  CHECK(r && r->type == SENTINEL_REPLY_STRING && strcmp(r->str, "16000") == 0, "8 x 2000 INCR = %s",
        r ? r->str : "(null)");
  sentinel_reply_free(r);
  /* close with a conn still checked out frees it too */
  sentinel_client_close(c);
}

static void test_failover(void) {
  sentinel_client *c = new_client(4);
  sentinel_error *err = NULL;
  sentinel_conn *before = sentinel_get_master(c, NAME, &err);
  long long before_id = client_id(before);
  int old_port = conn_port(before);
  char out[256] = {0};
  int rc = topology("failover", "--name mymaster", out, sizeof out);
  CHECK(rc == 0, "failover command");
  char *p = strstr(out, "NEW_PORT=");
  int new_port = p ? atoi(p + 9) : -1;
  CHECK(new_port > 0 && new_port != old_port, "new port %d (old %d)", new_port, old_port);
  /* the client follows by itself, within a bounded time */
  double start = now_s();
  int followed = 0;
  while (now_s() - start < 10 && !followed) {
    sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
    if (conn && conn_port(conn) == new_port) followed = 1;
    sentinel_put_master(c, NAME, conn);
    if (!followed) usleep(10000);
  }
  CHECK(followed, "client followed the failover");
  /* taken before the switch: refuses to write to the old master, and is closed when put back */
  const char *set[] = {"SET", "k", "lost?"};
  CHECK(cmd(before, &err, 3, set) == NULL && sentinel_error_is_readonly(err), "old conn: READONLY");
  sentinel_carefully_put_master(c, NAME, before, err);
  sentinel_error_free(err);
  err = NULL;
  for (int i = 0; i < 8; i++) {
    sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
    CHECK(conn_port(conn) == new_port, "conn %d on the new master", i);
    CHECK(is_master(conn), "conn %d answers ROLE master", i);
    CHECK(client_id(conn) != before_id || conn_port(conn) != old_port, "old conn not reused");
    sentinel_put_master(c, NAME, conn);
  }
  sentinel_client_close(c);
}

static void test_sentinel_restart(void) {
  sentinel_client *c = new_client(2);
  sentinel_error *err = NULL;
  CHECK(topology("kill-sentinel", "--index 0", NULL, 0) == 0, "kill sentinel");
  int ok = 0;
  const char *incr[] = {"INCR", "during-outage"};
  for (int i = 0; i < 100; i++) {
    sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
    sentinel_reply *r = conn ? cmd(conn, &err, 2, incr) : NULL;
    if (r) ok++;
    sentinel_reply_free(r);
    sentinel_carefully_put_master(c, NAME, conn, err);
    sentinel_error_free(err);
    err = NULL;
    usleep(5000);
  }
  CHECK(ok == 100, "commands kept working while the sentinel was down (%d/100)", ok);
  CHECK(topology("restart-sentinel", "--index 0", NULL, 0) == 0, "restart sentinel");
  sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
  CHECK(conn != NULL, "get_master after restart");
  sentinel_put_master(c, NAME, conn);
  sentinel_client_close(c);
}

static void test_unix_socket(void) {
  sentinel_error *err = NULL;
  sentinel_client *c = sentinel_client_new("unix", env("SENTINEL_SOCKET"), 1, names_one, 1, &err);
  CHECK(c != NULL, "unix socket client: %s", sentinel_error_message(err));
  sentinel_error_free(err);
  sentinel_conn *conn = sentinel_get_master(c, NAME, NULL);
  CHECK(is_master(conn), "unix: conn to master");
  sentinel_put_master(c, NAME, conn);
  sentinel_client_close(c);
}

static void test_pipelining(void) {
  sentinel_client *c = new_client(2);
  sentinel_error *err = NULL;
  sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
  CHECK(sentinel_get_reply(conn, &err) == NULL, "get_reply with nothing queued");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  const char *set[] = {"SET", "pl", "1"}, *incr[] = {"INCR", "pl"}, *bad[] = {"LPUSH", "pl", "x"};
  CHECK(!sentinel_append_command_argv(NULL, 3, set, NULL, NULL), "append NULL conn");
  CHECK(!sentinel_append_command_argv(conn, 0, set, NULL, NULL), "append argc 0");
  CHECK(sentinel_append_command_argv(conn, 3, set, NULL, &err), "append SET");
  CHECK(sentinel_append_command_argv(conn, 2, incr, NULL, &err), "append INCR");
  CHECK(sentinel_append_command_argv(conn, 3, bad, NULL, &err), "append LPUSH");
  sentinel_reply *r1 = sentinel_get_reply(conn, &err);
  sentinel_reply *r2 = sentinel_get_reply(conn, &err);
  sentinel_reply *r3 = sentinel_get_reply(conn, &err);
  CHECK(r1 && r1->type == SENTINEL_REPLY_STATUS, "reply 1 status");
  CHECK(r2 && r2->type == SENTINEL_REPLY_INTEGER && r2->integer == 2, "reply 2 integer");
  CHECK(r3 && r3->type == SENTINEL_REPLY_ERROR && strncmp(r3->str, "WRONGTYPE", 9) == 0, "reply 3 error");
  CHECK(err == NULL, "no err for an error reply");
  sentinel_reply_free(r1);
  sentinel_reply_free(r2);
  sentinel_reply_free(r3);

  /* one call: two commands, replies in one array */
  const char *argv[] = {"INCR", "pl", "GET", "pl"};
  size_t argcs[] = {2, 2};
  sentinel_reply *r = sentinel_pipeline_argv(conn, 2, argcs, argv, NULL, &err);
  CHECK(r && r->type == SENTINEL_REPLY_ARRAY && r->elements == 2 && r->element[0]->integer == 3 &&
            strcmp(r->element[1]->str, "3") == 0,
        "pipeline_argv");
  sentinel_reply_free(r);
  size_t zero[] = {2, 0};
  CHECK(sentinel_pipeline_argv(conn, 2, zero, argv, NULL, &err) == NULL, "argcs with 0");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_pipeline_argv(conn, 0, argcs, argv, NULL, &err) == NULL, "ncommands 0");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_pipeline_argv(conn, 2, NULL, argv, NULL, &err) == NULL, "argcs NULL");
  sentinel_error_free(err);
  err = NULL;

  /* a broken pipeline marks the conn broken */
  long long id = client_id(conn);
  sentinel_conn *killer = sentinel_get_master(c, NAME, NULL);
  char idtext[32];
  snprintf(idtext, sizeof idtext, "%lld", id);
  const char *kill[] = {"CLIENT", "KILL", "ID", idtext};
  CHECK(integer_cmd(killer, 4, kill) == 1, "kill");
  sentinel_put_master(c, NAME, killer);
  r = sentinel_pipeline_argv(conn, 2, argcs, argv, NULL, &err);
  CHECK(r == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_IO, "broken pipeline: IO");
  sentinel_error_free(err);
  sentinel_put_master(c, NAME, conn); /* plain put: still closed, the conn knows it broke */
  sentinel_conn *a = sentinel_get_master(c, NAME, NULL), *b = sentinel_get_master(c, NAME, NULL);
  CHECK(client_id(a) != id && client_id(b) != id, "broken conn not reused");
  sentinel_put_master(c, NAME, a);
  sentinel_put_master(c, NAME, b);
  sentinel_client_close(c);
}

static void test_one_call_and_flatten(void) {
  sentinel_client *c = new_client(2);
  sentinel_error *err = NULL;
  const char *rpush[] = {"RPUSH", "flat", "a", "bb", "ccc"}, *lrange[] = {"LRANGE", "flat", "0", "-1"};
  sentinel_reply *r = sentinel_master_command_argv(c, NAME, 5, rpush, NULL, &err);
  CHECK(r && r->type == SENTINEL_REPLY_INTEGER && r->integer == 3, "master_command_argv RPUSH");
  sentinel_reply_free(r);
  CHECK(sentinel_master_command_argv(NULL, NAME, 5, rpush, NULL, &err) == NULL, "NULL client");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_master_command_argv(c, "other", 5, rpush, NULL, &err) == NULL, "unknown name");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_UNKNOWN_MASTER, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_master_command_argv(c, NAME, 0, rpush, NULL, &err) == NULL, "argc 0");
  sentinel_error_free(err);
  err = NULL;
  const char *wrong[] = {"INCR", "flat"};
  CHECK(sentinel_master_command_argv(c, NAME, 2, wrong, NULL, &err) == NULL, "error reply");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_SERVER, "kind");
  sentinel_error_free(err);
  err = NULL;

  r = sentinel_master_command_argv(c, NAME, 4, lrange, NULL, &err);
  size_t needed[2] = {0, 0};
  CHECK(!sentinel_reply_flatten(NULL, NULL, 0, NULL, 0, needed), "flatten NULL");
  CHECK(!sentinel_reply_flatten(r, NULL, 0, NULL, 0, needed), "sizing call fills nothing");
  CHECK(needed[0] == 4 && needed[1] == 6, "needs 4 nodes, 6 bytes (%zu, %zu)", needed[0], needed[1]);
  sentinel_flat_node nodes[4];
  char strings[6];
  CHECK(sentinel_reply_flatten(r, nodes, 4, strings, 6, needed), "flatten");
  CHECK(nodes[0].type == SENTINEL_REPLY_ARRAY && nodes[0].integer == 3, "root");
  CHECK(nodes[3].type == SENTINEL_REPLY_STRING && nodes[3].len == 3 &&
            memcmp(strings + nodes[3].offset, "ccc", 3) == 0,
        "third element");
  CHECK(!sentinel_reply_flatten(r, nodes, 3, strings, 6, NULL), "too small");
  sentinel_reply_free(r);
  sentinel_client_close(c);
}

static void test_into_slot(void) {
  sentinel_client *c = new_client(2);
  char buf[8];
  sentinel_reply_slot slot = {buf, sizeof buf, 0, 0, NULL, NULL};
  sentinel_error *err = NULL;
  int kind = sentinel_master_command_into(c, NAME, &slot, "SET", 3, "into", 4, "a\0b", 3);
  CHECK(kind == SENTINEL_INTO_STATUS && slot.len == 2 && memcmp(buf, "OK", 2) == 0, "SET: status %d", kind);
  kind = sentinel_master_command_into(c, NAME, &slot, "GET", 3, "into", 4, NULL, 0);
  CHECK(kind == 3 && memcmp(buf, "a\0b", 3) == 0, "GET: binary string copied, %d", kind);
  CHECK(slot.reply == NULL && slot.error == NULL, "nothing to free after a copy");
  kind = sentinel_master_command_into(c, NAME, &slot, "GET", 3, "into:none", 9, NULL, 0);
  CHECK(kind == SENTINEL_INTO_NIL, "missing key: nil, %d", kind);
  kind = sentinel_master_command_into(c, NAME, &slot, "PING", 4, NULL, 0, NULL, 0);
  CHECK(kind == SENTINEL_INTO_STATUS && slot.len == 4 && memcmp(buf, "PONG", 4) == 0, "PING, one argument");
  kind = sentinel_master_command_into(c, NAME, &slot, "STRLEN", 6, "into", 4, NULL, 0);
  CHECK(kind == SENTINEL_INTO_INTEGER && slot.integer == 3, "integer %d", kind);
  sentinel_reply_free(sentinel_master_command_argv(c, NAME, 3, (const char *[]){"SET", "into:long", "123456789"},
                                                   NULL, NULL));
  kind = sentinel_master_command_into(c, NAME, &slot, "GET", 3, "into:long", 9, NULL, 0);
  CHECK(kind == SENTINEL_INTO_REPLY && slot.reply && slot.reply->type == SENTINEL_REPLY_STRING &&
            slot.reply->len == 9 && strcmp(slot.reply->str, "123456789") == 0,
        "longer than the buffer: a reply, %d", kind);
  sentinel_reply_free(slot.reply);
  kind = sentinel_master_command_into(c, NAME, &slot, "INCR", 4, "into", 4, NULL, 0);
  CHECK(kind == SENTINEL_INTO_ERROR && slot.reply == NULL &&
            sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_SERVER,
        "error reply, %d", kind);
  sentinel_error_free(slot.error);
  kind = sentinel_master_command_into(c, NAME, &slot, NULL, 0, "x", 1, NULL, 0);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "a0 NULL");
  sentinel_error_free(slot.error);
  kind = sentinel_master_command_into(c, NAME, &slot, "GET", -1, NULL, 0, NULL, 0);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "negative length");
  sentinel_error_free(slot.error);
  kind = sentinel_master_command_into(c, "other", &slot, "PING", 4, NULL, 0, NULL, 0);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_UNKNOWN_MASTER,
        "unknown master");
  sentinel_error_free(slot.error);
  CHECK(sentinel_master_command_into(c, NAME, NULL, "PING", 4, NULL, 0, NULL, 0) == SENTINEL_INTO_ERROR,
        "NULL slot");
  sentinel_reply_slot no_buf = {NULL, 0, 0, 0, NULL, NULL};
  kind = sentinel_master_command_into(c, NAME, &no_buf, "ECHO", 4, "", 0, NULL, 0);
  CHECK(kind == 0, "empty string without a buffer, %d", kind);
  kind = sentinel_master_command_into(c, NAME, &no_buf, "ECHO", 4, "x", 1, NULL, 0);
  CHECK(kind == SENTINEL_INTO_REPLY && no_buf.reply->len == 1, "no buffer: a reply, %d", kind);
  sentinel_reply_free(no_buf.reply);

  sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
  kind = sentinel_command_into(conn, &slot, "RPUSH", 5, "into:list", 9, "x", 1);
  CHECK(kind == SENTINEL_INTO_INTEGER && slot.integer == 1, "conn: RPUSH");
  kind = sentinel_command_into(conn, &slot, "LRANGE", 6, "into:list", 9, "0", 1);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_SERVER,
        "conn: wrong number of arguments");
  sentinel_error_free(slot.error);
  kind = sentinel_command_into(conn, &slot, "LPOP", 4, "into:list", 9, NULL, 0);
  CHECK(kind == 1 && buf[0] == 'x', "conn: string, %d", kind);
  CHECK(sentinel_command_into(NULL, &slot, "PING", 4, NULL, 0, NULL, 0) == SENTINEL_INTO_ERROR &&
            sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "NULL conn");
  sentinel_error_free(slot.error);
  sentinel_put_master(c, NAME, conn);
  CHECK(sentinel_command_into(conn, &slot, "PING", 4, NULL, 0, NULL, 0) == SENTINEL_INTO_ERROR &&
            sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "conn put back");
  sentinel_error_free(slot.error);
  sentinel_client_close(c);
}

static void test_into_slot_text(void) {
  sentinel_client *c = new_client(2);
  char buf[8];
  sentinel_reply_slot slot = {buf, sizeof buf, 0, 0, NULL, NULL};
  sentinel_error *err = NULL;
  int kind = sentinel_master_command_into_str(c, NAME, &slot, "SET", "text", "abc");
  CHECK(kind == SENTINEL_INTO_STATUS && slot.len == 2 && memcmp(buf, "OK", 2) == 0, "text SET: status %d", kind);
  kind = sentinel_master_command_into_str(c, NAME, &slot, "GET", "text", NULL);
  CHECK(kind == 3 && memcmp(buf, "abc", 3) == 0, "text GET: copied, %d", kind);
  kind = sentinel_master_command_into_str(c, NAME, &slot, "PING", NULL, "ignored");
  CHECK(kind == SENTINEL_INTO_STATUS && slot.len == 4 && memcmp(buf, "PONG", 4) == 0,
        "text PING: the first NULL ends the arguments");
  kind = sentinel_master_command_into_str(c, NAME, &slot, "ECHO", "", NULL);
  CHECK(kind == 0, "text empty argument, %d", kind);
  kind = sentinel_master_command_into_str(c, NAME, &slot, "ECHO", "longer than eight", NULL);
  CHECK(kind == SENTINEL_INTO_REPLY && slot.reply->len == 17, "text: longer than the buffer, %d", kind);
  sentinel_reply_free(slot.reply);
  kind = sentinel_master_command_into_str(c, NAME, &slot, "INCR", "text", NULL);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_SERVER,
        "text error reply, %d", kind);
  sentinel_error_free(slot.error);
  kind = sentinel_master_command_into_str(c, NAME, &slot, NULL, "x", NULL);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "text a0 NULL");
  sentinel_error_free(slot.error);
  kind = sentinel_master_command_into_str(c, "other", &slot, "PING", NULL, NULL);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_UNKNOWN_MASTER,
        "text unknown master");
  sentinel_error_free(slot.error);
  kind = sentinel_master_command_into_str(NULL, NAME, &slot, "PING", NULL, NULL);
  CHECK(kind == SENTINEL_INTO_ERROR && sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "text NULL client");
  sentinel_error_free(slot.error);
  CHECK(sentinel_master_command_into_str(c, NAME, NULL, "PING", NULL, NULL) == SENTINEL_INTO_ERROR,
        "text NULL slot");

  sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
  kind = sentinel_command_into_str(conn, &slot, "RPUSH", "text:list", "x");
  CHECK(kind == SENTINEL_INTO_INTEGER && slot.integer == 1, "text conn: RPUSH");
  kind = sentinel_command_into_str(conn, &slot, "LPOP", "text:list", NULL);
  CHECK(kind == 1 && buf[0] == 'x', "text conn: string, %d", kind);
  CHECK(sentinel_command_into_str(NULL, &slot, "PING", NULL, NULL) == SENTINEL_INTO_ERROR &&
            sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "text NULL conn");
  sentinel_error_free(slot.error);
  sentinel_put_master(c, NAME, conn);
  CHECK(sentinel_command_into_str(conn, &slot, "PING", NULL, NULL) == SENTINEL_INTO_ERROR &&
            sentinel_error_get_kind(slot.error) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "text conn put back");
  sentinel_error_free(slot.error);
  sentinel_client_close(c);
}

static int events_seen[8];
static void on_event(const sentinel_event *event, void *user_data) {
  (void)user_data;
  if (event->kind > 0 && event->kind < 8) events_seen[event->kind]++;
}

static bool map_to_localhost(const char *host, int port, void *user_data, char *host_out, size_t host_out_len,
                             int *port_out) {
  int *calls = user_data;
  (*calls)++;
  if (strcmp(host, "127.0.0.1") != 0 || host_out_len < 10) return false;
  strcpy(host_out, "localhost");
  *port_out = port;
  return true;
}

static void test_production_options(void) {
  sentinel_error *err = NULL;
  CHECK(!sentinel_options_set_password(NULL, NULL, "x", &err), "password: NULL opts");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  sentinel_options *opts = sentinel_options_new();
  err = NULL;
  CHECK(!sentinel_options_set_password(opts, "user", NULL, &err), "NULL password");
  sentinel_error_free(err);
  CHECK(!sentinel_options_set_sentinel_password(opts, NULL, NULL, NULL), "NULL sentinel password");
  CHECK(!sentinel_options_set_database(opts, -1, NULL), "negative db");
  CHECK(!sentinel_options_set_client_name(opts, "has space", NULL), "bad client name");
  CHECK(!sentinel_options_set_client_name(opts, NULL, NULL), "NULL client name");
  CHECK(!sentinel_options_set_resp3(NULL, true, NULL), "resp3: NULL opts");
  CHECK(!sentinel_options_set_address_map(NULL, map_to_localhost, NULL, NULL), "map: NULL opts");
  CHECK(!sentinel_options_set_event_callback(NULL, on_event, NULL, NULL), "events: NULL opts");
  CHECK(!sentinel_options_set_tls(NULL, NULL, NULL, NULL, NULL, NULL), "tls: NULL opts");
  CHECK(!sentinel_options_set_tls(opts, "/no/such/ca.pem", NULL, NULL, NULL, NULL), "tls: missing CA file");
  CHECK(!sentinel_options_set_tls(opts, NULL, "/tmp/x.crt", NULL, NULL, NULL), "tls: cert without key");
  CHECK(!sentinel_options_set_tls(opts, NULL, NULL, NULL, "not a host name", NULL), "tls: bad server name");
  CHECK(!sentinel_options_set_sentinel_tls(NULL, NULL, NULL, NULL, NULL, NULL), "sentinel tls: NULL opts");
  err = NULL;
  CHECK(!sentinel_options_set_sentinel_tls(opts, "/no/such/ca.pem", NULL, NULL, NULL, &err), "missing file");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT &&
            strstr(sentinel_error_message(err), "/no/such/ca.pem") != NULL,
        "names the file: %s", sentinel_error_message(err));
  sentinel_error_free(err);

  CHECK(!sentinel_options_set_busy_poll_us(NULL, 50, NULL), "busy poll: NULL opts");
  err = NULL;
  CHECK(!sentinel_options_set_busy_poll_us(opts, 10001, &err), "busy poll: too long");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  CHECK(sentinel_options_set_busy_poll_us(opts, 200, NULL), "busy poll");
  CHECK(!sentinel_options_set_tcp_keepalive_s(NULL, 15, NULL), "keepalive: NULL opts");
  err = NULL;
  CHECK(!sentinel_options_set_tcp_keepalive_s(opts, 32768, &err), "keepalive: too long");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  CHECK(sentinel_options_set_tcp_keepalive_s(opts, 0, NULL), "keepalive off");
  CHECK(sentinel_options_set_tcp_keepalive_s(opts, 30, NULL), "keepalive");

  int map_calls = 0;
  CHECK(sentinel_options_add_sentinel(opts, "tcp", env("SENTINEL_ADDR"), NULL), "sentinel");
  CHECK(sentinel_options_set_database(opts, 2, NULL), "db");
  CHECK(sentinel_options_set_client_name(opts, "c-harness", NULL), "client name");
  CHECK(sentinel_options_set_address_map(opts, map_to_localhost, &map_calls, NULL), "map");
  CHECK(sentinel_options_set_event_callback(opts, on_event, NULL, NULL), "events");
  sentinel_client *c = sentinel_client_new_with_options(opts, 2, names_one, 1, &err);
  CHECK(c != NULL, "client: %s", sentinel_error_message(err));
  sentinel_error_free(err);
  sentinel_options_free(opts);
  CHECK(map_calls > 0, "address map called");
  sentinel_master_stats stats;
  err = NULL;
  CHECK(!sentinel_client_stats(NULL, NAME, &stats, &err), "stats: NULL client");
  sentinel_error_free(err);
  CHECK(!sentinel_client_stats(c, NAME, NULL, NULL), "stats: NULL out");
  err = NULL;
  CHECK(!sentinel_client_stats(c, "other", &stats, &err), "stats: unknown name");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_UNKNOWN_MASTER, "kind");
  sentinel_error_free(err);
  sentinel_conn *conn = sentinel_get_master(c, NAME, NULL);
  CHECK(sentinel_client_stats(c, NAME, &stats, NULL), "stats");
  CHECK(strncmp(stats.address, "localhost:", 10) == 0, "mapped address %s", stats.address);
  CHECK(stats.conns_in_use == 1 && stats.generation >= 1 && !stats.fenced, "stats fields");
  const char *info[] = {"CLIENT", "INFO"};
  sentinel_reply *r = cmd(conn, NULL, 2, info);
  CHECK(r && strstr(r->str, "name=c-harness") && strstr(r->str, "db=2"), "client name and db");
  sentinel_reply_free(r);
  sentinel_put_master(c, NAME, conn);
  double start = now_s();
  while (events_seen[SENTINEL_EVENT_SENTINEL_UP] == 0 && now_s() - start < 5) usleep(10000);
  CHECK(events_seen[SENTINEL_EVENT_SENTINEL_UP] > 0, "sentinel up event");
  sentinel_client_close(c);
}

static void test_replicas(void) {
  sentinel_client *c = new_client(2);
  sentinel_error *err = NULL;
  CHECK(sentinel_get_replica(NULL, NAME, &err) == NULL, "replica: NULL client");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_get_replica(c, "other", &err) == NULL, "replica: unknown name");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_UNKNOWN_MASTER, "kind");
  sentinel_error_free(err);
  int ports[4];
  for (int i = 0; i < 4; i++) {
    err = NULL;
    sentinel_conn *conn = sentinel_get_replica(c, NAME, &err);
    CHECK(conn != NULL, "replica conn: %s", sentinel_error_message(err));
    sentinel_error_free(err);
    CHECK(!is_master(conn), "a replica answers ROLE slave");
    ports[i] = conn_port(conn);
    sentinel_put_master(c, NAME, conn);
  }
  int other = -1;
  for (int i = 1; i < 4; i++)
    if (ports[i] != ports[0]) other = ports[i];
  CHECK(other > 0, "reads spread over both replicas (%d %d %d %d)", ports[0], ports[1], ports[2], ports[3]);
  sentinel_client_close(c);
}

static void test_options(void) {
  sentinel_error *err = NULL;
  CHECK(!sentinel_options_add_sentinel(NULL, "tcp", "127.0.0.1:1", &err), "NULL opts");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  CHECK(!sentinel_options_set_read_timeout_ms(NULL, 5, NULL), "NULL opts, NULL err");
  err = NULL;
  CHECK(sentinel_client_new_with_options(NULL, 1, names_one, 1, &err) == NULL, "NULL opts");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  sentinel_options_free(NULL);

  sentinel_options *opts = sentinel_options_new();
  CHECK(opts != NULL, "options_new");
  err = NULL;
  CHECK(sentinel_client_new_with_options(opts, 1, names_one, 1, &err) == NULL, "no sentinel");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(!sentinel_options_add_sentinel(opts, NULL, "x:1", &err), "NULL network");
  sentinel_error_free(err);
  err = NULL;
  CHECK(!sentinel_options_add_sentinel(opts, "tcp", "nohost", &err), "bad address");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(!sentinel_options_set_fence_wait_ms(opts, 0, &err), "zero fence wait");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);

  /* the first sentinel is unreachable: the client uses the next one */
  CHECK(sentinel_options_add_sentinel(opts, "tcp", "127.0.0.1:1", NULL), "add unreachable");
  CHECK(sentinel_options_add_sentinel(opts, "tcp", env("SENTINEL_ADDR"), NULL), "add real");
  CHECK(sentinel_options_set_connect_timeout_ms(opts, 500, NULL), "connect");
  CHECK(sentinel_options_set_read_timeout_ms(opts, 200, NULL), "read");
  CHECK(sentinel_options_set_write_timeout_ms(opts, 200, NULL), "write");
  CHECK(sentinel_options_set_pool_wait_ms(opts, 100, NULL), "pool wait");
  CHECK(sentinel_options_set_fence_wait_ms(opts, 2000, NULL), "fence wait");
  CHECK(sentinel_options_set_sentinel_timeout_ms(opts, 500, NULL), "sentinel timeout");
  err = NULL;
  sentinel_client *c = sentinel_client_new_with_options(opts, 1, names_one, 1, &err);
  CHECK(c != NULL, "client with options: %s", sentinel_error_message(err));
  sentinel_error_free(err);
  sentinel_options_free(opts); /* the client does not depend on opts */
  sentinel_conn *conn = sentinel_get_master(c, NAME, NULL);
  CHECK(is_master(conn), "conn to master");
  err = NULL;
  CHECK(sentinel_get_master(c, NAME, &err) == NULL, "second conn of a pool of one");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_POOL_TIMEOUT, "kind %d", sentinel_error_get_kind(err));
  sentinel_error_free(err);
  err = NULL;
  /* a command that waits on the server is given its own timeout on top of the read timeout */
  const char *blpop[] = {"BLPOP", "nothing-here", "0.5"};
  double start = now_s();
  sentinel_reply *r = cmd(conn, &err, 3, blpop);
  CHECK(r != NULL && r->type == SENTINEL_REPLY_NIL, "BLPOP waits its own 0.5 s: %s",
        sentinel_error_message(err));
  CHECK(now_s() - start > 0.45, "BLPOP waited (%.2fs)", now_s() - start);
  sentinel_reply_free(r);
  /* any other command still fails at the read timeout, and says so (a paused server does not
   * answer; paused briefly, far from the sentinels' down-after) */
  sentinel_client *other = new_client(1);
  sentinel_conn *pauser = sentinel_get_master(other, NAME, NULL);
  const char *pause[] = {"CLIENT", "PAUSE", "600", "ALL"};
  sentinel_reply_free(cmd(pauser, NULL, 4, pause));
  const char *get[] = {"GET", "k"};
  start = now_s();
  CHECK(cmd(conn, &err, 2, get) == NULL, "GET on a paused server");
  double spent = now_s() - start;
  sentinel_put_master(other, NAME, pauser);
  sentinel_client_close(other);
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_IO, "kind %d", sentinel_error_get_kind(err));
  CHECK(spent < 0.5, "read timeout honoured (%.2fs)", spent);
  CHECK(strstr(sentinel_error_message(err), "no reply within 200 ms") != NULL, "says why: %s",
        sentinel_error_message(err));
  sentinel_carefully_put_master(c, NAME, conn, err);
  sentinel_error_free(err);
  sentinel_client_close(c);
}

struct waiting_call {
  sentinel_client *client;
  const char **argv;
  int argc;
  sentinel_error_kind kind;
  double seconds;
};

static void *wait_on_server(void *arg) {
  struct waiting_call *call = arg;
  sentinel_error *err = NULL;
  double start = now_s();
  sentinel_reply *r = sentinel_master_command_argv(call->client, NAME, (size_t)call->argc,
                                                   call->argv, NULL, &err);
  call->seconds = now_s() - start;
  call->kind = r ? (sentinel_error_kind)0 : sentinel_error_get_kind(err);
  sentinel_reply_free(r);
  sentinel_error_free(err);
  return NULL;
}

/* A conn put back inside MULTI is closed, not handed to the next caller (who would get QUEUED). */
static void test_session_state_is_not_pooled(void) {
  sentinel_client *c = new_client(1);
  const char *set[] = {"SET", "session", "v"}, *get[] = {"GET", "session"}, *multi[] = {"MULTI"};
  sentinel_reply_free(sentinel_master_command_argv(c, NAME, 3, set, NULL, NULL));
  sentinel_conn *conn = sentinel_get_master(c, NAME, NULL);
  sentinel_reply_free(cmd(conn, NULL, 1, multi));
  sentinel_put_master(c, NAME, conn);
  sentinel_error *err = NULL;
  sentinel_reply *r = sentinel_master_command_argv(c, NAME, 2, get, NULL, &err);
  CHECK(r && r->type == SENTINEL_REPLY_STRING && strcmp(r->str, "v") == 0,
        "GET after a conn was put back inside MULTI: %s", r ? r->str : sentinel_error_message(err));
  sentinel_reply_free(r);
  sentinel_error_free(err);
  sentinel_client_close(c);
}

/* Waits without bound (timeout 0) end on sentinel_client_interrupt_waits, in every form. */
static void test_interrupt_waits(void) {
  sentinel_client_interrupt_waits(NULL);
  sentinel_client *c = new_client(4);
  const char *blpop[] = {"BLPOP", "nothing-here", "0"};
  const char *xread[] = {"XREAD", "BLOCK", "0", "STREAMS", "no-stream", "$"};
  const char *wait[] = {"WAIT", "5", "0"};
  struct waiting_call calls[] = {{c, blpop, 3, 0, 0}, {c, xread, 6, 0, 0}, {c, wait, 3, 0, 0}};
  pthread_t threads[3];
  for (int i = 0; i < 3; i++) pthread_create(&threads[i], NULL, wait_on_server, &calls[i]);
  usleep(300000);
  double start = now_s();
  sentinel_client_interrupt_waits(c);
  for (int i = 0; i < 3; i++) {
    pthread_join(threads[i], NULL);
    CHECK(calls[i].kind == SENTINEL_ERROR_IO, "%s interrupted: kind %d", calls[i].argv[0], calls[i].kind);
    CHECK(calls[i].seconds > 0.25, "%s waited until interrupted (%.2fs)", calls[i].argv[0], calls[i].seconds);
  }
  CHECK(now_s() - start < 1.0, "interrupt ended the waits at once (%.2fs)", now_s() - start);
  /* the pool is whole again: the interrupted conns were closed, fresh ones open */
  const char *ping[] = {"PING"};
  for (int i = 0; i < 4; i++) {
    sentinel_error *err = NULL;
    sentinel_reply *r = sentinel_master_command_argv(c, NAME, 1, ping, NULL, &err);
    CHECK(r != NULL, "PING after the interrupt: %s", sentinel_error_message(err));
    sentinel_reply_free(r);
    sentinel_error_free(err);
  }
  sentinel_client_close(c);
}

/* Bindings classify nested error replies and decide on put-back as the library does. */
static void test_error_classification(void) {
  struct {
    const char *text;
    sentinel_error_kind kind;
  } cases[] = {
      {"READONLY You can't write against a read only replica.", SENTINEL_ERROR_READONLY},
      {"UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
       SENTINEL_ERROR_READONLY},
      {"UNBLOCKED client unblocked via CLIENT UNBLOCK", SENTINEL_ERROR_SERVER},
      {"NOAUTH Authentication required.", SENTINEL_ERROR_AUTH},
      {"WRONGPASS invalid username-password pair", SENTINEL_ERROR_AUTH},
      {"NOPERM this user has no permissions to run the 'get' command", SENTINEL_ERROR_SERVER},
      {"WRONGTYPE Operation against a key holding the wrong kind of value", SENTINEL_ERROR_SERVER},
      {"ERR", SENTINEL_ERROR_SERVER},
      {"", SENTINEL_ERROR_SERVER},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sentinel_error_kind kind = sentinel_error_reply_kind(cases[i].text, strlen(cases[i].text));
    CHECK(kind == cases[i].kind, "%s: kind %d", cases[i].text, (int)kind);
  }
  CHECK(sentinel_error_reply_kind(NULL, 3) == SENTINEL_ERROR_INVALID_ARGUMENT, "NULL text");
  CHECK(!sentinel_error_kind_breaks_connection(SENTINEL_ERROR_SERVER), "SERVER keeps the conn");
  CHECK(!sentinel_error_kind_breaks_connection(SENTINEL_ERROR_INVALID_ARGUMENT), "INVALID_ARGUMENT");
  CHECK(!sentinel_error_kind_breaks_connection(SENTINEL_ERROR_UNKNOWN_MASTER), "UNKNOWN_MASTER");
  CHECK(sentinel_error_kind_breaks_connection(SENTINEL_ERROR_IO), "IO breaks it");
  CHECK(sentinel_error_kind_breaks_connection(SENTINEL_ERROR_READONLY), "READONLY breaks it");
  CHECK(sentinel_error_kind_breaks_connection(SENTINEL_ERROR_AUTH), "AUTH breaks it");
  CHECK(sentinel_error_kind_breaks_connection(99), "an unknown kind breaks it");
  CHECK(!sentinel_error_kind_breaks_connection(SENTINEL_ERROR_NOT_REPLICATED), "NOT_REPLICATED keeps it");
}

/* How many WAITs the master has run (INFO commandstats), asked through a plain client. */
static long long waits_on_master(sentinel_client *plain) {
  const char *info[] = {"INFO", "commandstats"};
  sentinel_error *err = NULL;
  sentinel_reply *r = sentinel_master_command_argv(plain, NAME, 2, info, NULL, &err);
  long long calls = 0;
  const char *stat = r && r->type == SENTINEL_REPLY_STRING ? strstr(r->str, "cmdstat_wait:calls=") : NULL;
  if (stat) calls = atoll(stat + strlen("cmdstat_wait:calls="));
  sentinel_reply_free(r);
  sentinel_error_free(err);
  return calls;
}

/* A client with durable writes: `replicas` replicas within `timeout_ms`. */
static sentinel_client *durable_client(unsigned replicas, unsigned timeout_ms) {
  sentinel_options *opts = sentinel_options_new();
  sentinel_error *err = NULL;
  CHECK(sentinel_options_add_sentinel(opts, "tcp", env("SENTINEL_ADDR"), NULL), "add sentinel");
  CHECK(sentinel_options_set_wait_replicas(opts, replicas, timeout_ms, &err), "wait_replicas: %s",
        sentinel_error_message(err));
  sentinel_client *c = sentinel_client_new_with_options(opts, 1, names_one, 1, &err);
  CHECK(c != NULL, "durable client: %s", sentinel_error_message(err));
  sentinel_error_free(err);
  sentinel_options_free(opts);
  return c;
}

/* Durable writes: the setter and its bad arguments; one WAIT per write, pipeline or
   transaction and none for reads; NOT_REPLICATED when more replicas are asked for than the
   topology has (2), which keeps the conn. */
static void test_durable_writes(void) {
  sentinel_error *err = NULL;
  CHECK(!sentinel_options_set_wait_replicas(NULL, 1, 100, &err), "NULL opts");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  sentinel_options *opts = sentinel_options_new();
  CHECK(!sentinel_options_set_wait_replicas(opts, 1, 0, &err), "timeout 0 would wait for ever");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  CHECK(strstr(sentinel_error_message(err), "wait timeout") != NULL, "%s", sentinel_error_message(err));
  sentinel_error_free(err);
  err = NULL;
  CHECK(!sentinel_options_set_wait_replicas(opts, 2, 0, NULL), "NULL err");
  CHECK(sentinel_options_set_wait_replicas(opts, 0, 0, &err), "0 replicas: off");
  sentinel_options_free(opts);

  sentinel_client *plain = new_client(1);
  sentinel_client *c = durable_client(2, 2000);
  sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
  long long before = waits_on_master(plain);
  const char *set[] = {"SET", "durable:c", "1"}, *get[] = {"GET", "durable:c"};
  sentinel_reply *r = cmd(conn, &err, 3, set);
  CHECK(r && r->type == SENTINEL_REPLY_STATUS, "durable SET: %s", err ? sentinel_error_message(err) : "");
  sentinel_reply_free(r);
  r = cmd(conn, &err, 2, get);
  CHECK(r && r->type == SENTINEL_REPLY_STRING && strcmp(r->str, "1") == 0, "GET");
  sentinel_reply_free(r);
  CHECK(waits_on_master(plain) - before == 1, "one WAIT for the SET, none for the GET");

  before = waits_on_master(plain);
  const char *argv[20];
  size_t argcs[10];
  char keys[10][16];
  for (int i = 0; i < 10; i++) {
    snprintf(keys[i], sizeof keys[i], "durable:%d", i);
    argv[2 * i] = "INCR";
    argv[2 * i + 1] = keys[i];
    argcs[i] = 2;
  }
  r = sentinel_pipeline_argv(conn, 10, argcs, argv, NULL, &err);
  CHECK(r && r->type == SENTINEL_REPLY_ARRAY && r->elements == 10, "the caller's 10 replies, WAIT's taken out");
  sentinel_reply_free(r);
  CHECK(waits_on_master(plain) - before == 1, "a pipeline of 10 writes: one WAIT");

  before = waits_on_master(plain);
  const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"}, *incr[] = {"INCR", "durable:c"};
  sentinel_reply_free(cmd(conn, &err, 1, multi));
  sentinel_reply_free(cmd(conn, &err, 3, set));
  sentinel_reply_free(cmd(conn, &err, 2, incr));
  CHECK(waits_on_master(plain) == before, "no WAIT inside MULTI");
  r = cmd(conn, &err, 1, exec);
  CHECK(r && r->type == SENTINEL_REPLY_ARRAY && r->elements == 2 && r->element[1]->integer == 2, "EXEC");
  sentinel_reply_free(r);
  CHECK(waits_on_master(plain) - before == 1, "MULTI/EXEC: one WAIT");
  CHECK(err == NULL, "no error");
  sentinel_put_master(c, NAME, conn);
  sentinel_client_close(c);

  /* Three replicas asked, two exist: the write lands but is reported not replicated. */
  c = durable_client(3, 50);
  conn = sentinel_get_master(c, NAME, NULL);
  long long id = client_id(conn);
  double start = now_s();
  r = cmd(conn, &err, 2, incr);
  double spent = now_s() - start;
  CHECK(r == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_NOT_REPLICATED, "NOT_REPLICATED kind %d",
        sentinel_error_get_kind(err));
  CHECK(spent >= 0.045 && spent < 1.0, "within about the wait timeout (%.3fs)", spent);
  CHECK(strstr(sentinel_error_message(err), "reached the master, but only 2 of the 3 replicas asked for confirmed "
                                            "it within 50 ms: it may be lost in a failover") != NULL,
        "says so: %s", sentinel_error_message(err));
  CHECK(!sentinel_error_is_readonly(err), "not READONLY");
  sentinel_carefully_put_master(c, NAME, conn, err);
  sentinel_error_free(err);
  err = NULL;
  conn = sentinel_get_master(c, NAME, NULL);
  CHECK(client_id(conn) == id, "NOT_REPLICATED keeps the conn");
  r = cmd(conn, &err, 2, get);
  CHECK(r && r->type == SENTINEL_REPLY_STRING && strcmp(r->str, "3") == 0, "the INCR did land; reads still work");
  sentinel_reply_free(r);
  r = sentinel_pipeline_argv(conn, 10, argcs, argv, NULL, &err);
  CHECK(r == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_NOT_REPLICATED, "a pipeline fails as a whole");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_append_command_argv(conn, 2, incr, NULL, NULL), "append INCR");
  CHECK(sentinel_append_command_argv(conn, 2, get, NULL, NULL), "append GET");
  CHECK(sentinel_get_reply(conn, &err) == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_NOT_REPLICATED,
        "appended commands fail as a whole");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_get_reply(conn, &err) == NULL && sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT,
        "their replies are dropped");
  sentinel_error_free(err);
  err = NULL;
  r = cmd(conn, &err, 2, get);
  CHECK(r && r->type == SENTINEL_REPLY_STRING && strcmp(r->str, "4") == 0, "in step after it: %s",
        r && r->str ? r->str : "NULL");
  sentinel_reply_free(r);
  CHECK(client_id(conn) == id, "still the same conn");
  sentinel_put_master(c, NAME, conn);
  sentinel_client_close(c);
  sentinel_client_close(plain);
}

/* Pub/Sub: messages and patterns in order, confirmations not delivered, NULL arguments,
   unsubscribe, and close. */
static void test_pubsub(void) {
  sentinel_client *c = new_client(2);
  sentinel_error *err = NULL;
  CHECK(sentinel_pubsub_new(c, "other", &err) == NULL, "pubsub: unknown name");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_UNKNOWN_MASTER, "kind");
  sentinel_error_free(err);
  err = NULL;
  sentinel_pubsub *ps = sentinel_pubsub_new(c, NAME, &err);
  CHECK(ps != NULL && err == NULL, "pubsub: %s", sentinel_error_message(err));
  const char *channels[] = {"c.orders", "c.audit"};
  CHECK(sentinel_pubsub_subscribe(ps, channels, NULL, 2, &err), "subscribe: %s", sentinel_error_message(err));
  const char *pattern[] = {"c.news.*"};
  const size_t pattern_len[] = {8};
  CHECK(sentinel_pubsub_psubscribe(ps, pattern, pattern_len, 1, &err), "psubscribe: %s",
        sentinel_error_message(err));
  CHECK(!sentinel_pubsub_subscribe(ps, NULL, NULL, 1, &err), "subscribe: NULL names");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_pubsub_next(ps, 50, &err) == NULL && err == NULL, "confirmations are not messages");
  const char *pub1[] = {"PUBLISH", "c.orders", "one"};
  const char *pub2[] = {"PUBLISH", "c.news.x", "two"};
  sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
  CHECK(integer_cmd(conn, 3, pub1) == 1, "one subscriber");
  CHECK(integer_cmd(conn, 3, pub2) == 1, "one pattern subscriber");
  sentinel_message *m = sentinel_pubsub_next(ps, 2000, &err);
  CHECK(m != NULL && m->type == SENTINEL_MESSAGE, "a message");
  if (m) {
    CHECK(m->channel_len == 8 && memcmp(m->channel, "c.orders", 8) == 0, "channel");
    CHECK(m->data_len == 3 && strcmp(m->data, "one") == 0, "data, NUL-terminated");
    CHECK(m->pattern == NULL && m->pattern_len == 0, "no pattern");
  }
  sentinel_message_free(m);
  m = sentinel_pubsub_next(ps, 2000, &err);
  CHECK(m != NULL && m->type == SENTINEL_PMESSAGE, "a pattern message");
  if (m) CHECK(m->pattern_len == 8 && strcmp(m->pattern, "c.news.*") == 0, "pattern");
  sentinel_message_free(m);
  CHECK(sentinel_pubsub_unsubscribe(ps, NULL, NULL, 0, &err), "unsubscribe all");
  CHECK(integer_cmd(conn, 3, pub1) == 0, "no subscriber left");
  sentinel_put_master(c, NAME, conn);
  sentinel_pubsub_close(ps);
  CHECK(sentinel_pubsub_next(ps, 10, &err) == NULL, "closed");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_CLOSED, "kind %d", sentinel_error_get_kind(err));
  sentinel_error_free(err);
  sentinel_pubsub_free(ps);
  sentinel_pubsub_free(NULL);
  sentinel_pubsub_close(NULL);
  sentinel_message_free(NULL);
  sentinel_client_close(c);
}

/* One-string configuration: a working client from a URL, and a bad URL named without its
   password. */
static void test_from_url(void) {
  char url[256];
  snprintf(url, sizeof url, "redis+sentinel://%s/%s?read_timeout=0.5&client_name=from-url",
           env("SENTINEL_ADDR"), NAME);
  sentinel_error *err = NULL;
  sentinel_client *c = sentinel_client_new_from_url(url, 2, &err);
  CHECK(c != NULL, "from_url: %s", sentinel_error_message(err));
  if (c) {
    sentinel_conn *conn = sentinel_get_master(c, NAME, &err);
    const char *getname[] = {"CLIENT", "GETNAME"};
    sentinel_reply *r = cmd(conn, &err, 2, getname);
    CHECK(r && r->type == SENTINEL_REPLY_STRING && strcmp(r->str, "from-url") == 0,
          "client_name from the URL");
    sentinel_reply_free(r);
    sentinel_put_master(c, NAME, conn);
    sentinel_client_close(c);
  }
  CHECK(sentinel_client_new_from_url("redis+sentinel://u:hunter2@h/m?nope=1", 1, &err) == NULL,
        "bad parameter");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  CHECK(strstr(sentinel_error_message(err), "nope") != NULL, "%s", sentinel_error_message(err));
  CHECK(strstr(sentinel_error_message(err), "hunter2") == NULL, "no password in the message");
  sentinel_error_free(err);
  err = NULL;
  CHECK(sentinel_client_new_from_url(NULL, 1, &err) == NULL, "NULL url");
  CHECK(sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT, "kind");
  sentinel_error_free(err);
}

int main(void) {
  CHECK(strcmp(sentinel_version(), "0.1.0") == 0, "version %s", sentinel_version());
  test_bad_inputs();
  test_error_classification();
  test_reply_types();
  test_threads();
  test_unix_socket();
  test_options();
  test_interrupt_waits();
  test_session_state_is_not_pooled();
  test_pipelining();
  test_durable_writes();
  test_one_call_and_flatten();
  test_into_slot();
  test_into_slot_text();
  test_production_options();
  test_replicas();
  test_pubsub();
  test_from_url();
  test_sentinel_restart();
  test_failover();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
