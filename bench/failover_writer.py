"""INCR loop for the failover benchmark, through our binding or redis-py.

Usage: failover_writer.py (ours|redis-py) SENTINEL_PORTS NAME KEY SECONDS [READ_TIMEOUT_S]
Prints ACKED, FAILED, GAP_MS (longest time between two acknowledged writes, or from the last
one to the end of the run when that is longer: a writer stuck at the end counts), GAP_AT."""
import sys
import time


def main():
    kind, ports, name, key, seconds = sys.argv[1:6]
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
    ports = [int(p) for p in ports.split(",")]
    if kind == "ours":
        import redis_sentinel
        client = redis_sentinel.Client("tcp", "127.0.0.1:%d" % ports[0], pool_size=2, names=[name],
                                       read_timeout=timeout)

        def incr():
            with client.master(name) as conn:
                conn.cmd("INCR", key)
    else:
        from redis.sentinel import Sentinel
        sentinel = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=timeout)
        master = sentinel.master_for(name, socket_timeout=timeout)

        def incr():
            master.incr(key)

    acked = failed = 0
    last_ack = gap = gap_at = 0.0
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        try:
            incr()
        except Exception:
            failed += 1
            continue
        t = time.monotonic()
        if last_ack and t - last_ack > gap:
            gap, gap_at = t - last_ack, last_ack
        last_ack = t
        acked += 1
    t = time.monotonic()
    if last_ack and t - last_ack > gap:
        gap, gap_at = t - last_ack, last_ack
    print("ACKED=%d\nFAILED=%d\nGAP_MS=%.1f\nGAP_AT=%.6f" % (acked, failed, gap * 1000, gap_at))


if __name__ == "__main__":
    main()
