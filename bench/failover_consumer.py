"""A queue through the failover benchmark: one producer, and BLPOP consumers through our binding
or redis-py, each on its own list.

Usage: failover_consumer.py producer SENTINEL_PORTS NAME LIST[,LIST...] SECONDS
       failover_consumer.py (ours|redis-py) SENTINEL_PORTS NAME LIST SECONDS
The producer RPUSHes 0, 1, 2, ... to every list every 5 ms through our binding, which follows
the failover, and prints PRODUCED. A consumer pops with `BLPOP list 1` until SECONDS have passed
and the list is drained, and prints RECEIVED, DISTINCT (numbers received at least once) and
GAP_MS (longest time between two items)."""
import sys
import time


def main():
    kind, ports, name, lists, seconds = sys.argv[1:6]
    ports = [int(p) for p in ports.split(",")]
    end = time.monotonic() + float(seconds)
    if kind in ("producer", "ours"):
        import redis_sentinel
        client = redis_sentinel.Client("tcp", "127.0.0.1:%d" % ports[0], pool_size=2,
                                       names=[name])
    if kind == "producer":
        produced = 0
        while time.monotonic() < end:
            for key in lists.split(","):
                while True:
                    try:
                        client.execute(name, "RPUSH", key, produced)
                        break
                    except redis_sentinel.Error:
                        time.sleep(0.001)  # not acknowledged: the same number goes again
            produced += 1
            time.sleep(0.005)
        print("PRODUCED=%d" % produced)
        return
    if kind == "ours":
        def pop():
            return client.execute(name, "BLPOP", lists, 1)
    else:
        from redis.sentinel import Sentinel
        master = Sentinel([("127.0.0.1", p) for p in ports]).master_for(name)  # redis-py defaults

        def pop():
            return master.blpop([lists], timeout=1)

    received, seen = 0, set()
    last = gap = 0.0
    while True:
        try:
            item = pop()
        except Exception:
            time.sleep(0.001)
            continue
        if item is None:
            if time.monotonic() >= end:
                break
            continue
        t = time.monotonic()
        if last:
            gap = max(gap, t - last)
        last = t
        received += 1
        seen.add(int(item[1]))
    print("RECEIVED=%d\nDISTINCT=%d\nGAP_MS=%.1f" % (received, len(seen), gap * 1000))


if __name__ == "__main__":
    main()
