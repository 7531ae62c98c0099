# task_master.py: the study note's "distributed processes" master, as written there, with two changes a test needs:
# the port and key come from the command line (the note hard-codes 5000 and b'abc'), and the note's curly closing
# quote is fixed.
#
# usage: python3 task_master.py PORT AUTHKEY
import random, time, queue, sys
from multiprocessing.managers import BaseManager

PORT = int(sys.argv[1])
AUTHKEY = sys.argv[2].encode()

# 发送任务的队列:
task_queue = queue.Queue()
# 接收结果的队列:
result_queue = queue.Queue()

# 从BaseManager继承的QueueManager:
class QueueManager(BaseManager):
    pass

# 把两个Queue都注册到网络上, callable参数关联了Queue对象:
QueueManager.register('get_task_queue', callable=lambda: task_queue)
QueueManager.register('get_result_queue', callable=lambda: result_queue)
# 绑定端口5000, 设置验证码'abc':
manager = QueueManager(address=('', PORT), authkey=AUTHKEY)
# 启动Queue:
manager.start()
# 获得通过网络访问的Queue对象:
task = manager.get_task_queue()
result = manager.get_result_queue()
# 放几个任务进去:
for i in range(10):
    n = random.randint(0, 10000)
    print('Put task %d...' % n, flush=True)
    task.put(n)
# 从result队列读取结果:
print('Try get results...', flush=True)
for i in range(10):
    r = result.get(timeout=10)
    print('Result: %s' % r, flush=True)
# 关闭:
manager.shutdown()
print('master exit.', flush=True)
