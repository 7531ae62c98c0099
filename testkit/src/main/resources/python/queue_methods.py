# Every queue.Queue proxy method a Python script uses, against a Taskmaster master, with the values that must
# cross. Prints one line per check; the Java test compares them.
import queue, sys
from multiprocessing.managers import BaseManager

PORT, AUTHKEY = int(sys.argv[1]), sys.argv[2].encode()

class QueueManager(BaseManager):
    pass

QueueManager.register('get_task_queue')
m = QueueManager(address=('127.0.0.1', PORT), authkey=AUTHKEY)
m.connect()
q = m.get_task_queue()

print('empty', q.empty(), q.qsize(), q.full())
values = [None, True, False, 0, -7, 2**100, 1.5, 'héllo wörld ✓ 中文', b'\x00\xff', [1, (2, 3)],
          {'a': 1, 'b': [None]}]
for v in values:
    q.put(v)
print('qsize', q.qsize(), q.empty())
back = [q.get(timeout=5) for _ in values]
print('roundtrip', back == [None, True, False, 0, -7, 2**100, 1.5, 'héllo wörld ✓ 中文', b'\x00\xff', [1, [2, 3]],
                           {'a': 1, 'b': [None]}])
print('bytes type', type(back[8]).__name__)
q.put_nowait('now')
print('get_nowait', q.get_nowait())
for call in (lambda: q.get_nowait(), lambda: q.get(timeout=0.2), lambda: q.get(False)):
    try:
        call()
        print('no Empty')
    except queue.Empty:
        print('Empty raised')
try:
    q.put({1, 2})
except TypeError as e:
    print('TypeError', 'set' in str(e))
big = 'x' * (1 << 20)
q.put(big)
print('big', len(q.get(timeout=5)) == len(big))
print('done')
