# A Python master that only serves its two queues until it is killed (the note's master without its own producer),
# for a Java client to put and get on.
#
# usage: python3 queue_server.py PORT AUTHKEY
import queue, sys
from multiprocessing.managers import BaseManager

task_queue = queue.Queue()
result_queue = queue.Queue()

class QueueManager(BaseManager):
    pass

QueueManager.register('get_task_queue', callable=lambda: task_queue)
QueueManager.register('get_result_queue', callable=lambda: result_queue)
manager = QueueManager(address=('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode())
server = manager.get_server()
print('serving', flush=True)
server.serve_forever()
