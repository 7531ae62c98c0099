# task_worker.py: the study note's "distributed processes" worker, as written there, with three changes a test
# needs: the port and key come from the command line (the note hard-codes 5000 and b'abc'), the pause per task too
# (the note sleeps 1 s), and the note's two typos are fixed (Queue.Empty for queue.Empty, a curly closing quote).
#
# usage: python3 task_worker.py PORT AUTHKEY [COUNT] [SLEEP]
import time, sys, queue
from multiprocessing.managers import BaseManager

PORT = int(sys.argv[1])
AUTHKEY = sys.argv[2].encode()
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 10
SLEEP = float(sys.argv[4]) if len(sys.argv) > 4 else 1

# 创建类似的QueueManager:
class QueueManager(BaseManager):
    pass

# 由于这个QueueManager只从网络上获取Queue，所以注册时只提供名字:
QueueManager.register('get_task_queue')
QueueManager.register('get_result_queue')

# 连接到服务器，也就是运行task_master.py的机器:
server_addr = '127.0.0.1'
print('Connect to server %s...' % server_addr, flush=True)
# 端口和验证码注意保持与task_master.py设置的完全一致:
m = QueueManager(address=(server_addr, PORT), authkey=AUTHKEY)
# 从网络连接:
m.connect()
# 获取Queue的对象:
task = m.get_task_queue()
result = m.get_result_queue()
# 从task队列取任务,并把结果写入result队列:
for i in range(COUNT):
    try:
        n = task.get(timeout=1)
        print('run task %d * %d...' % (n, n), flush=True)
        r = '%d * %d = %d' % (n, n, n*n)
        time.sleep(SLEEP)
        result.put(r)
    except queue.Empty:
        print('task queue is empty.', flush=True)
# 处理结束:
print('worker exit.', flush=True)
