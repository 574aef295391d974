"""Numbers shared with the C ABI (include/redis_sentinel.h): reply types, what the ``_into``
calls return, event kinds and message types. A test checks each against the header."""


_INTO_NIL, _INTO_INTEGER, _INTO_STATUS, _INTO_REPLY = -1, -2, -3, -4


STRING, ARRAY, INTEGER, NIL, STATUS, ERROR, DOUBLE, BOOL, MAP, SET, PUSH, BIGNUM, VERB = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14)


_EVENT_KINDS = {1: "master_switched", 2: "fence_raised", 3: "fence_lifted", 4: "sentinel_up",
                5: "sentinel_down", 6: "master_resolved", 7: "stale_answer_ignored"}


MESSAGE_TYPES = {1: "message", 2: "pmessage", 3: "resubscribed"}
