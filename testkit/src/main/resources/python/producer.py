# Puts a few values on the task queue, as a Python producer would, for the Java side to read.
import sys
from multiprocessing.managers import BaseManager

class QueueManager(BaseManager):
    pass

QueueManager.register('get_task_queue')
m = QueueManager(address=('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode())
m.connect()
q = m.get_task_queue()
for value in (b'\x00\xff', {'k': 'v', 2: 3}, 'h\u00e9llo', (1, 2.5), 2**70):
    q.put(value)
print('put 5')
