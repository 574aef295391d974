/* redis-sentinel for C++17: RAII objects and exceptions over the C API of redis_sentinel.h.
 * Header-only; link with -lredis_sentinel as for C.
 *
 *   namespace rsn = redis_sentinel;
 *   rsn::Client client("tcp", "127.0.0.1:26379", 10, {"bucket0"});
 *   {
 *     rsn::Conn conn = client.master("bucket0");  // move-only; carefully put back when it dies
 *     long long n = conn.command({"INCR", "hits"}).integer();
 *   }
 *   rsn::Reply v = client.execute("bucket0", {"GET", "hits"});
 *
 * Every failure throws rsn::Error (kind() is a sentinel_error_kind, what() the message),
 * error replies included. A Client may be used from many threads at once; a Conn and a PubSub
 * by one thread at a time. Objects own what they wrap and free it in their destructors; they
 * move, and never copy (a Reply copies cheaply: its nodes are shared). */
#ifndef REDIS_SENTINEL_HPP
#define REDIS_SENTINEL_HPP

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis_sentinel.h"

namespace redis_sentinel {

/* A failure or an error reply. kind() is a sentinel_error_kind. */
class Error : public std::runtime_error {
 public:
  Error(sentinel_error_kind kind, const std::string &message, bool is_sentinel = false,
        bool is_readonly = false)
      : std::runtime_error(message), kind_(kind), is_sentinel_(is_sentinel),
        is_readonly_(is_readonly) {}
  sentinel_error_kind kind() const noexcept { return kind_; }
  /* The failure concerned the sentinels (none reachable, or one answered badly). */
  bool is_sentinel() const noexcept { return is_sentinel_; }
  /* The node refused a write because it is a replica now (READONLY). */
  bool is_readonly() const noexcept { return is_readonly_; }
  /* Whether a conn that saw this error should be closed rather than reused. */
  bool breaks_connection() const noexcept {
    return sentinel_error_kind_breaks_connection(static_cast<int>(kind_));
  }

 private:
  sentinel_error_kind kind_;
  bool is_sentinel_, is_readonly_;
};

namespace detail {

/* Copies `err` into an Error, frees it, and throws. */
[[noreturn]] inline void raise(sentinel_error *err) {
  Error e(sentinel_error_get_kind(err), sentinel_error_message(err), sentinel_error_is_sentinel(err),
          sentinel_error_is_readonly(err));
  sentinel_error_free(err);
  throw e;
}

/* argv and argvlen for a command, pointing into `args` (which must outlive the call). */
struct Argv {
  std::vector<const char *> argv;
  std::vector<size_t> lens;
  template <class Range>
  explicit Argv(const Range &args) {
    for (const auto &arg : args) {
      std::string_view view(arg);
      argv.push_back(view.data());
      lens.push_back(view.size());
    }
  }
};

}  // namespace detail

/* A reply, or one node of it. Copies share the tree, which is freed with the last of them. */
class Reply {
 public:
  sentinel_reply_type type() const noexcept { return static_cast<sentinel_reply_type>(node_->type); }
  bool is_nil() const noexcept { return type() == SENTINEL_REPLY_NIL; }
  /* INTEGER, and BOOL as 0/1. */
  long long integer() const noexcept { return node_->integer; }
  double dval() const noexcept { return node_->dval; }
  /* The text of STRING, STATUS, ERROR, DOUBLE, BIGNUM and VERB replies; empty otherwise. */
  std::string_view str() const noexcept {
    return node_->str ? std::string_view(node_->str, node_->len) : std::string_view();
  }
  /* Children of ARRAY, SET, PUSH and MAP (2 x pairs: key, value). */
  size_t size() const noexcept { return node_->elements; }
  Reply operator[](size_t i) const {
    if (i >= node_->elements) throw std::out_of_range("redis_sentinel::Reply index");
    return Reply(root_, node_->element[i]);
  }
  /* The raw node; valid while this Reply (or a copy) lives. */
  const sentinel_reply *get() const noexcept { return node_; }

 private:
  friend class Conn;
  friend class Client;
  explicit Reply(sentinel_reply *root) : root_(root, sentinel_reply_free), node_(root) {}
  Reply(std::shared_ptr<sentinel_reply> root, const sentinel_reply *node)
      : root_(std::move(root)), node_(node) {}
  std::shared_ptr<sentinel_reply> root_;
  const sentinel_reply *node_;
};

/* Options for a Client: sentinels, timeouts, credentials, TLS, callbacks. Each setter throws
 * Error(INVALID_ARGUMENT) on a bad value and returns *this. */
class Options {
 public:
  using EventCallback = std::function<void(const sentinel_event &)>;
  /* Returns true and sets host/port to dial another address than the one a sentinel reported. */
  using AddressMap = std::function<bool(const char *host, int port, std::string &host_out, int &port_out)>;

  Options() : opts_(sentinel_options_new(), sentinel_options_free) {
    if (!opts_) throw std::bad_alloc();
  }

  Options &add_sentinel(const std::string &network, const std::string &address) {
    return check(sentinel_options_add_sentinel(opts_.get(), network.c_str(), address.c_str(), &err_));
  }
  Options &connect_timeout(std::chrono::milliseconds t) { return millis(sentinel_options_set_connect_timeout_ms, t); }
  Options &read_timeout(std::chrono::milliseconds t) { return millis(sentinel_options_set_read_timeout_ms, t); }
  Options &write_timeout(std::chrono::milliseconds t) { return millis(sentinel_options_set_write_timeout_ms, t); }
  Options &pool_wait(std::chrono::milliseconds t) { return millis(sentinel_options_set_pool_wait_ms, t); }
  Options &fence_wait(std::chrono::milliseconds t) { return millis(sentinel_options_set_fence_wait_ms, t); }
  Options &sentinel_timeout(std::chrono::milliseconds t) { return millis(sentinel_options_set_sentinel_timeout_ms, t); }
  Options &busy_poll(std::chrono::microseconds t) {
    return check(sentinel_options_set_busy_poll_us(opts_.get(), count(t), &err_));
  }
  Options &tcp_keepalive(std::chrono::seconds t) {
    return check(sentinel_options_set_tcp_keepalive_s(opts_.get(), count(t), &err_));
  }
  /* Durable writes: each write (a pipeline's, a transaction's EXEC) is acknowledged only once
   * `replicas` replicas confirmed it within `timeout`; else Error(SENTINEL_ERROR_NOT_REPLICATED),
   * and the conn stays usable. 0 replicas turns it off. */
  Options &wait_replicas(unsigned replicas,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(100)) {
    uint64_t ms = count(timeout);
    unsigned capped = ms > UINT_MAX ? UINT_MAX : static_cast<unsigned>(ms);
    return check(sentinel_options_set_wait_replicas(opts_.get(), replicas, capped, &err_));
  }
  /* Credentials for masters and replicas; an empty username is the default user. */
  Options &password(const std::string &username, const std::string &password) {
    return check(sentinel_options_set_password(opts_.get(), user(username), password.c_str(), &err_));
  }
  Options &sentinel_password(const std::string &username, const std::string &password) {
    return check(
        sentinel_options_set_sentinel_password(opts_.get(), user(username), password.c_str(), &err_));
  }
  Options &database(int64_t db) { return check(sentinel_options_set_database(opts_.get(), db, &err_)); }
  Options &client_name(const std::string &name) {
    return check(sentinel_options_set_client_name(opts_.get(), name.c_str(), &err_));
  }
  Options &resp3(bool on = true) { return check(sentinel_options_set_resp3(opts_.get(), on, &err_)); }
  /* TLS to masters and replicas; empty strings are not given (system roots, dialed host). */
  Options &tls(const std::string &ca_file, const std::string &cert_file = "",
               const std::string &key_file = "", const std::string &server_name = "") {
    return check(sentinel_options_set_tls(opts_.get(), opt(ca_file), opt(cert_file), opt(key_file),
                                          opt(server_name), &err_));
  }
  Options &sentinel_tls(const std::string &ca_file, const std::string &cert_file = "",
                        const std::string &key_file = "", const std::string &server_name = "") {
    return check(sentinel_options_set_sentinel_tls(opts_.get(), opt(ca_file), opt(cert_file),
                                                   opt(key_file), opt(server_name), &err_));
  }
  /* Runs on the client's threads; it must not throw, nor destroy the client. */
  Options &on_event(EventCallback callback) {
    auto held = std::make_shared<EventCallback>(std::move(callback));
    callbacks_.push_back(held);
    return check(sentinel_options_set_event_callback(opts_.get(), &Options::deliver, held.get(), &err_));
  }
  Options &address_map(AddressMap map) {
    auto held = std::make_shared<AddressMap>(std::move(map));
    callbacks_.push_back(held);
    return check(sentinel_options_set_address_map(opts_.get(), &Options::map, held.get(), &err_));
  }

 private:
  friend class Client;
  template <class Duration>
  static uint64_t count(Duration t) {
    return t.count() < 0 ? 0 : static_cast<uint64_t>(t.count());
  }
  static const char *opt(const std::string &s) { return s.empty() ? nullptr : s.c_str(); }
  static const char *user(const std::string &s) { return opt(s); }
  Options &millis(bool (*set)(sentinel_options *, uint64_t, sentinel_error **), std::chrono::milliseconds t) {
    return check(set(opts_.get(), count(t), &err_));
  }
  Options &check(bool ok) {
    if (!ok) {
      sentinel_error *err = err_;
      err_ = nullptr;
      detail::raise(err);
    }
    return *this;
  }
  static void deliver(const sentinel_event *event, void *user_data) {
    try {
      (*static_cast<EventCallback *>(user_data))(*event);
    } catch (...) {
      /* A callback must not throw into the client's threads. */
    }
  }
  static bool map(const char *host, int port, void *user_data, char *host_out, size_t host_out_len,
                  int *port_out) {
    try {
      std::string out;
      int new_port = port;
      if (!(*static_cast<AddressMap *>(user_data))(host, port, out, new_port)) return false;
      if (out.empty() || out.size() + 1 > host_out_len) return false;
      out.copy(host_out, out.size());
      host_out[out.size()] = '\0';
      *port_out = new_port;
      return true;
    } catch (...) {
      return false;
    }
  }
  std::unique_ptr<sentinel_options, void (*)(sentinel_options *)> opts_;
  std::vector<std::shared_ptr<void>> callbacks_;
  sentinel_error *err_ = nullptr;
};

class Client;

/* A checked-out connection. Move-only; when it dies it goes back to its pool, or is closed
 * if a command on it failed in a way that breaks a connection. */
class Conn {
 public:
  Conn(Conn &&other) noexcept
      : client_(std::exchange(other.client_, nullptr)), name_(std::move(other.name_)),
        conn_(std::exchange(other.conn_, nullptr)), broken_(other.broken_) {}
  Conn &operator=(Conn &&other) noexcept {
    if (this != &other) {
      put_back();
      client_ = std::exchange(other.client_, nullptr);
      name_ = std::move(other.name_);
      conn_ = std::exchange(other.conn_, nullptr);
      broken_ = other.broken_;
    }
    return *this;
  }
  Conn(const Conn &) = delete;
  Conn &operator=(const Conn &) = delete;
  ~Conn() { put_back(); }

  /* Runs one command; an error reply throws Error(SERVER, READONLY, ...). */
  Reply command(std::initializer_list<std::string_view> args) { return run(detail::Argv(args)); }
  Reply command(const std::vector<std::string> &args) { return run(detail::Argv(args)); }

  /* Runs every command in one round trip; returns an ARRAY of their replies, where an error
   * reply stands in place (type SENTINEL_REPLY_ERROR) rather than throwing. */
  Reply pipeline(const std::vector<std::vector<std::string>> &commands) {
    std::vector<size_t> argcs;
    std::vector<std::string_view> flat;
    for (const auto &command : commands) {
      argcs.push_back(command.size());
      flat.insert(flat.end(), command.begin(), command.end());
    }
    detail::Argv argv(flat);
    sentinel_error *err = nullptr;
    sentinel_reply *r = sentinel_pipeline_argv(handle(), argcs.size(), argcs.data(), argv.argv.data(),
                                               argv.lens.data(), &err);
    if (!r) fail(err);
    return Reply(r);
  }

  /* Closes the connection when it goes back, whatever happened on it. */
  void mark_broken() noexcept { broken_ = true; }
  sentinel_conn *get() const noexcept { return conn_; }

 private:
  friend class Client;
  Conn(sentinel_client *client, std::string name, sentinel_conn *conn)
      : client_(client), name_(std::move(name)), conn_(conn) {}
  sentinel_conn *handle() const {
    if (!conn_) throw Error(SENTINEL_ERROR_INVALID_ARGUMENT, "conn was moved from");
    return conn_;
  }
  Reply run(const detail::Argv &argv) {
    sentinel_error *err = nullptr;
    sentinel_reply *r = sentinel_command_argv(handle(), argv.argv.size(), argv.argv.data(),
                                              argv.lens.data(), &err);
    if (!r) fail(err);
    return Reply(r);
  }
  [[noreturn]] void fail(sentinel_error *err) {
    if (sentinel_error_kind_breaks_connection(sentinel_error_get_kind(err))) broken_ = true;
    detail::raise(err);
  }
  void put_back() noexcept {
    if (!conn_) return;
    if (broken_) sentinel_conn_mark_broken(conn_);
    sentinel_put_master(client_, name_.c_str(), conn_);
    conn_ = nullptr;
  }
  sentinel_client *client_;
  std::string name_;
  sentinel_conn *conn_;
  bool broken_ = false;
};

/* What a subscription received. */
struct Message {
  sentinel_message_type type;
  std::string channel, pattern, data;
};

/* A subscription that follows the master across failovers (see sentinel_pubsub_new). */
class PubSub {
 public:
  PubSub(PubSub &&) noexcept = default;
  PubSub &operator=(PubSub &&) noexcept = default;

  void subscribe(std::initializer_list<std::string_view> channels) { change(sentinel_pubsub_subscribe, channels); }
  void psubscribe(std::initializer_list<std::string_view> patterns) { change(sentinel_pubsub_psubscribe, patterns); }
  /* No names: from every channel (pattern). */
  void unsubscribe(std::initializer_list<std::string_view> channels = {}) { change(sentinel_pubsub_unsubscribe, channels); }
  void punsubscribe(std::initializer_list<std::string_view> patterns = {}) { change(sentinel_pubsub_punsubscribe, patterns); }

  /* The next message, or nullopt when none came within `timeout`. */
  std::optional<Message> next(std::chrono::milliseconds timeout) {
    sentinel_error *err = nullptr;
    uint64_t ms = timeout.count() < 0 ? 0 : static_cast<uint64_t>(timeout.count());
    sentinel_message *m = sentinel_pubsub_next(ps_.get(), ms, &err);
    if (!m) {
      if (err) detail::raise(err);
      return std::nullopt;
    }
    std::unique_ptr<sentinel_message, void (*)(sentinel_message *)> owned(m, sentinel_message_free);
    auto text = [](const char *s, size_t n) { return s ? std::string(s, n) : std::string(); };
    return Message{static_cast<sentinel_message_type>(m->type), text(m->channel, m->channel_len),
                   text(m->pattern, m->pattern_len), text(m->data, m->data_len)};
  }

  /* Ends the subscription; safe from another thread (a waiting next() throws CLOSED). */
  void close() noexcept { sentinel_pubsub_close(ps_.get()); }

 private:
  friend class Client;
  explicit PubSub(sentinel_pubsub *ps) : ps_(ps, sentinel_pubsub_free) {}
  using Change = bool (*)(sentinel_pubsub *, const char *const *, const size_t *, size_t, sentinel_error **);
  void change(Change change, std::initializer_list<std::string_view> names) {
    detail::Argv argv(names);
    sentinel_error *err = nullptr;
    if (!change(ps_.get(), argv.argv.data(), argv.lens.data(), argv.argv.size(), &err)) detail::raise(err);
  }
  std::unique_ptr<sentinel_pubsub, void (*)(sentinel_pubsub *)> ps_;
};

/* A client: one pool per master name, following failovers by itself. Move-only; closed when
 * it dies (every Conn and PubSub of it must be gone or unused by then). */
class Client {
 public:
  Client(const std::string &network, const std::string &address, size_t pool_size,
         const std::vector<std::string> &names) {
    std::vector<const char *> raw = c_names(names);
    sentinel_error *err = nullptr;
    client_ = sentinel_client_new(network.c_str(), address.c_str(), pool_size, raw.data(), raw.size(), &err);
    if (!client_) detail::raise(err);
  }
  Client(const Options &options, size_t pool_size, const std::vector<std::string> &names)
      : callbacks_(options.callbacks_) {
    std::vector<const char *> raw = c_names(names);
    sentinel_error *err = nullptr;
    client_ = sentinel_client_new_with_options(options.opts_.get(), pool_size, raw.data(), raw.size(), &err);
    if (!client_) detail::raise(err);
  }
  /* See sentinel_client_new_from_url; pool_size 0 keeps the URL's (default 10). */
  static Client from_url(const std::string &url, size_t pool_size = 0) {
    sentinel_error *err = nullptr;
    sentinel_client *c = sentinel_client_new_from_url(url.c_str(), pool_size, &err);
    if (!c) detail::raise(err);
    return Client(c);
  }
  Client(Client &&other) noexcept
      : client_(std::exchange(other.client_, nullptr)), callbacks_(std::move(other.callbacks_)) {}
  Client &operator=(Client &&other) noexcept {
    if (this != &other) {
      sentinel_client_close(client_);
      client_ = std::exchange(other.client_, nullptr);
      callbacks_ = std::move(other.callbacks_);
    }
    return *this;
  }
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;
  ~Client() { sentinel_client_close(client_); }

  /* A conn to the current master of `name`. */
  Conn master(const std::string &name) { return checkout(sentinel_get_master, name); }
  /* A conn to a healthy replica of `name`, round-robin. */
  Conn replica(const std::string &name) { return checkout(sentinel_get_replica, name); }

  /* Checkout, command, careful put back, in one call. */
  Reply execute(const std::string &name, std::initializer_list<std::string_view> args) {
    return execute(name, detail::Argv(args));
  }
  Reply execute(const std::string &name, const std::vector<std::string> &args) {
    return execute(name, detail::Argv(args));
  }

  sentinel_master_stats stats(const std::string &name) {
    sentinel_master_stats out{};
    sentinel_error *err = nullptr;
    if (!sentinel_client_stats(live(), name.c_str(), &out, &err)) detail::raise(err);
    return out;
  }
  /* Ends every command waiting on the server (BLPOP and the like) with an IO error. */
  void interrupt_waits() noexcept { sentinel_client_interrupt_waits(client_); }

  PubSub pubsub(const std::string &name) {
    sentinel_error *err = nullptr;
    sentinel_pubsub *ps = sentinel_pubsub_new(live(), name.c_str(), &err);
    if (!ps) detail::raise(err);
    return PubSub(ps);
  }

  sentinel_client *get() const noexcept { return client_; }

 private:
  explicit Client(sentinel_client *client) : client_(client) {}
  static std::vector<const char *> c_names(const std::vector<std::string> &names) {
    std::vector<const char *> raw;
    for (const auto &name : names) raw.push_back(name.c_str());
    return raw;
  }
  sentinel_client *live() const {
    if (!client_) throw Error(SENTINEL_ERROR_INVALID_ARGUMENT, "client was moved from");
    return client_;
  }
  Conn checkout(sentinel_conn *(*get)(sentinel_client *, const char *, sentinel_error **),
                const std::string &name) {
    sentinel_error *err = nullptr;
    sentinel_conn *conn = get(live(), name.c_str(), &err);
    if (!conn) detail::raise(err);
    return Conn(client_, name, conn);
  }
  Reply execute(const std::string &name, const detail::Argv &argv) {
    sentinel_error *err = nullptr;
    sentinel_reply *r = sentinel_master_command_argv(live(), name.c_str(), argv.argv.size(),
                                                     argv.argv.data(), argv.lens.data(), &err);
    if (!r) detail::raise(err);
    return Reply(r);
  }
  sentinel_client *client_ = nullptr;
  std::vector<std::shared_ptr<void>> callbacks_;
};

}  // namespace redis_sentinel

#endif /* REDIS_SENTINEL_HPP */
