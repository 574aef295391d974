"""Pub/Sub through the failover benchmark: one publisher, and subscribers through our binding or
redis-py.

Usage: failover_subscriber.py publisher SENTINEL_PORTS NAME CHANNEL SECONDS
       failover_subscriber.py (ours|redis-py) SENTINEL_PORTS NAME CHANNEL SECONDS
The publisher PUBLISHes 0, 1, 2, ... every millisecond through our binding, which follows the
failover (a number not acknowledged is skipped, never sent twice), and prints PUBLISHED (the
acknowledged ones). A subscriber prints
RECEIVED, DISTINCT (numbers received in increasing order), OUT_OF_ORDER (received again or
late), MARKERS (resubscribed markers) and GAP_MS (longest time between two received messages,
or from the last one to the end of the run when that is longer)."""
import sys
import time


def main():
    kind, ports, name, channel, seconds = sys.argv[1:6]
    ports = [int(p) for p in ports.split(",")]
    end = time.monotonic() + float(seconds)
    if kind in ("publisher", "ours"):
        import redis_sentinel
        client = redis_sentinel.Client("tcp", "127.0.0.1:%d" % ports[0], pool_size=2,
                                       names=[name], read_timeout=0.5)
    if kind == "publisher":
        n = published = 0
        while time.monotonic() < end:
            try:
                client.execute(name, "PUBLISH", channel, n)
                published += 1
            except redis_sentinel.Error:
                pass  # never sent again: every number is published at most once
            n += 1
            time.sleep(0.001)
        print("PUBLISHED=%d" % published)
        return
    if kind == "ours":
        ps = client.pubsub(name)
        ps.subscribe(channel)

        def next_message():
            return ps.get_message(timeout=0.1)
    else:
        from redis.sentinel import Sentinel
        sentinel = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=0.5)
        ps = sentinel.master_for(name, socket_timeout=0.5).pubsub(ignore_subscribe_messages=True)
        ps.subscribe(channel)

        def next_message():
            return ps.get_message(timeout=0.1)

    print("READY=1", flush=True)
    received = distinct = out_of_order = markers = 0
    last_n, last, gap = -1, 0.0, 0.0
    while time.monotonic() < end:
        try:
            message = next_message()
        except Exception:
            time.sleep(0.01)
            continue
        if message is None:
            continue
        if message["type"] == "resubscribed":
            markers += 1
            continue
        if message["type"] != "message":
            continue
        t = time.monotonic()
        if last:
            gap = max(gap, t - last)
        last = t
        received += 1
        n = int(message["data"])
        if n > last_n:
            distinct += 1
            last_n = n
        else:
            out_of_order += 1
    if last:
        gap = max(gap, end - last)
    print("RECEIVED=%d\nDISTINCT=%d\nOUT_OF_ORDER=%d\nMARKERS=%d\nGAP_MS=%.1f"
          % (received, distinct, out_of_order, markers, gap * 1000))


if __name__ == "__main__":
    main()
