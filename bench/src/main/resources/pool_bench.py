# Python's multiprocessing.Pool on PoolBench's jobs, for docs/benchmarks.md:
#   python3 pool_bench.py [PRIME_LIMIT] [TINY_TASKS]
import sys, time
from multiprocessing import Pool
from multiprocessing.pool import ThreadPool

def primes(r):
    count = 0
    for n in range(max(2, r[0]), r[1]):
        d, prime = 2, True
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 1
        count += prime
    return count

def tiny(n):
    return n * n

def timed(job):
    started = time.perf_counter()
    job()
    return time.perf_counter() - started

if __name__ == '__main__':
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    ranges = [(limit * i // 16, limit * (i + 1) // 16) for i in range(16)]
    results = {}
    for name, make in (('1 process', lambda: Pool(1)), ('2 threads', lambda: ThreadPool(2)),
                       ('2 processes', lambda: Pool(2))):
        with make() as pool:
            results[name] = timed(lambda: pool.map(primes, ranges))
            print('  %-12s %.3f s' % (name, results[name]), flush=True)
    print('RESULT python cpu speed-up: threads(2) %.2fx, processes(2) %.2fx'
          % (results['1 process'] / results['2 threads'], results['1 process'] / results['2 processes']))
    # As PoolBench: 3 untimed rounds of each way, then the median of 3 timed rounds.
    with Pool(2) as pool:
        one_at_a_time = lambda: [r.get() for r in [pool.apply_async(tiny, (n,)) for n in range(count)]]
        mapping = lambda: pool.map(tiny, range(count))
        for _ in range(3):
            one_at_a_time()
            mapping()
        seconds = sorted(timed(one_at_a_time) for _ in range(3))[1]
        mapped = sorted(timed(mapping) for _ in range(3))[1]
    print('RESULT python tiny: Pool(2) apply_async %.0f tasks/s, map %.0f tasks/s (median of 3 rounds of %d)'
          % (count / seconds, count / mapped, count))
