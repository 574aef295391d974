// The C++ header against a real topology (run by tests/c/run.sh, which sets SENTINEL_ADDR),
// built with -std=c++17 -Wall -Wextra -Werror and AddressSanitizer/UBSan.
#include <atomic>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "redis_sentinel.hpp"

namespace rsn = redis_sentinel;

static int passed, failed;
#define CHECK(cond, what)                                              \
  do {                                                                 \
    if (cond) {                                                        \
      passed++;                                                        \
    } else {                                                           \
      failed++;                                                        \
      std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); \
    }                                                                  \
  } while (0)

template <class F>
static sentinel_error_kind kind_of(F f) {
  try {
    f();
  } catch (const rsn::Error &e) {
    return e.kind();
  }
  return static_cast<sentinel_error_kind>(0);
}

int main() {
  const char *addr = std::getenv("SENTINEL_ADDR");
  if (!addr) return 2;
  rsn::Client client("tcp", addr, 4, {"mymaster"});
  {
    rsn::Conn conn = client.master("mymaster");
    conn.command({"SET", "cpp:n", "41"});
    CHECK(conn.command({"INCR", "cpp:n"}).integer() == 42, "INCR");
    rsn::Conn moved = std::move(conn);
    CHECK(moved.command({"GET", "cpp:n"}).str() == "42", "GET after a move");
    CHECK(kind_of([&] { conn.command({"PING"}); }) == SENTINEL_ERROR_INVALID_ARGUMENT, "moved-from conn");
    CHECK(kind_of([&] { moved.command({"LPUSH", "cpp:n", "x"}); }) == SENTINEL_ERROR_SERVER, "WRONGTYPE throws");
    CHECK(moved.command({"GET", "cpp:missing"}).is_nil(), "nil");
    rsn::Reply all = moved.pipeline({{"SET", "cpp:a", "1"}, {"INCR", "cpp:a"}, {"LPUSH", "cpp:a", "x"}});
    CHECK(all.type() == SENTINEL_REPLY_ARRAY && all.size() == 3, "pipeline");
    CHECK(all[1].integer() == 2, "pipeline INCR");
    CHECK(all[2].type() == SENTINEL_REPLY_ERROR && all[2].str().substr(0, 9) == "WRONGTYPE", "error in place");
    bool out_of_range = false;
    try {
      (void)all[3];
    } catch (const std::out_of_range &) {
      out_of_range = true;
    }
    CHECK(out_of_range, "an index past the end throws std::out_of_range");
  }
  rsn::Reply v = client.execute("mymaster", {"GET", "cpp:n"});
  CHECK(v.type() == SENTINEL_REPLY_STRING && v.str() == "42", "execute");
  std::vector<std::string> words = {"ECHO", std::string("a\0b", 3)};
  CHECK(client.execute("mymaster", words).str() == std::string_view("a\0b", 3), "binary-safe");
  CHECK(kind_of([&] { client.master("nope"); }) == SENTINEL_ERROR_UNKNOWN_MASTER, "unknown master");
  CHECK(client.stats("mymaster").conns_open >= 1, "stats");
  {
    rsn::Conn replica = client.replica("mymaster");
    CHECK(replica.command({"ROLE"})[0].str() == "slave", "replica");
  }
  {
    std::atomic<int> events{0};
    rsn::Options options;
    options.add_sentinel("tcp", addr)
        .read_timeout(std::chrono::milliseconds(500))
        .connect_timeout(std::chrono::milliseconds(300))
        .client_name("cpp")
        .on_event([&](const sentinel_event &) { events++; });
    CHECK(kind_of([&] { options.read_timeout(std::chrono::milliseconds(0)); }) == SENTINEL_ERROR_INVALID_ARGUMENT,
          "zero timeout");
    rsn::Client with_options(options, 2, {"mymaster"});
    CHECK(with_options.execute("mymaster", {"CLIENT", "GETNAME"}).str() == "cpp", "options");
    /* Events come from the client's own threads (a sentinel link coming up): wait for one. */
    for (int i = 0; i < 200 && events.load() == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(events.load() > 0, "events delivered");
  }
  {
    /* Durable writes: 3 replicas asked of 2 fail the write (it landed); 2 confirm it. */
    rsn::Options three;
    three.add_sentinel("tcp", addr).wait_replicas(3, std::chrono::milliseconds(50));
    CHECK(kind_of([] { rsn::Options().wait_replicas(1, std::chrono::milliseconds(0)); }) ==
              SENTINEL_ERROR_INVALID_ARGUMENT,
          "wait timeout 0");
    rsn::Client durable(three, 1, {"mymaster"});
    bool kept = false;
    try {
      durable.execute("mymaster", {"INCR", "cpp:durable"});
    } catch (const rsn::Error &e) {
      kept = e.kind() == SENTINEL_ERROR_NOT_REPLICATED && !e.breaks_connection();
    }
    CHECK(kept, "NOT_REPLICATED, and the conn is kept");
    CHECK(durable.execute("mymaster", {"GET", "cpp:durable"}).str() == "1", "the write landed; a read does not wait");
    rsn::Options two;
    two.add_sentinel("tcp", addr).wait_replicas(2);
    rsn::Client confirmed(two, 1, {"mymaster"});
    CHECK(confirmed.execute("mymaster", {"INCR", "cpp:durable"}).integer() == 2, "two replicas confirm");
  }
  {
    rsn::Client from_url = rsn::Client::from_url(std::string("redis+sentinel://") + addr + "/mymaster?client_name=url", 2);
    CHECK(from_url.execute("mymaster", {"CLIENT", "GETNAME"}).str() == "url", "from_url");
    CHECK(kind_of([] { rsn::Client::from_url("redis://h/m"); }) == SENTINEL_ERROR_INVALID_ARGUMENT, "bad URL");
  }
  {
    rsn::PubSub ps = client.pubsub("mymaster");
    ps.subscribe({"cpp.ch"});
    ps.psubscribe({"cpp.p.*"});
    client.execute("mymaster", {"PUBLISH", "cpp.ch", "hello"});
    client.execute("mymaster", {"PUBLISH", "cpp.p.x", "there"});
    auto m = ps.next(std::chrono::milliseconds(2000));
    CHECK(m && m->type == SENTINEL_MESSAGE && m->channel == "cpp.ch" && m->data == "hello", "message");
    m = ps.next(std::chrono::milliseconds(2000));
    CHECK(m && m->type == SENTINEL_PMESSAGE && m->pattern == "cpp.p.*", "pmessage");
    CHECK(!ps.next(std::chrono::milliseconds(50)), "nothing more");
    ps.close();
    CHECK(kind_of([&] { ps.next(std::chrono::milliseconds(10)); }) == SENTINEL_ERROR_CLOSED, "closed");
  }
  rsn::Client other = std::move(client);
  CHECK(other.execute("mymaster", {"PING"}).str() == "PONG", "moved client");
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
