// The header compiles as C++ and its declarations link with C linkage.
#include "redis_sentinel.h"

int main() {
  sentinel_error *err = nullptr;
  sentinel_client *client = sentinel_client_new(nullptr, nullptr, 0, nullptr, 0, &err);
  int ok = client == nullptr && sentinel_error_get_kind(err) == SENTINEL_ERROR_INVALID_ARGUMENT;
  sentinel_error_free(err);
  return ok ? 0 : 1;
}
