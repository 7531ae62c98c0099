package io.taskmaster.python.listener;

import java.util.List;

/**
 * What a Python client holds a proxy to: one Taskmaster queue, under the typeid it asked for. The ident is any
 * string to Python; it names the queue here. The methods exposed are those of {@code queue.Queue} that mean the same
 * on a Taskmaster queue.
 */
record QueueObject(String typeid, String queue) {
  static final List<String> EXPOSED = List.of("empty", "full", "get", "get_nowait", "put", "put_nowait", "qsize");

  String ident() {
    return "taskmaster:" + typeid;
  }
}
