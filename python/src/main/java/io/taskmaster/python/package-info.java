/**
 * Python's {@code multiprocessing.managers} protocol, so that unmodified Python scripts of the "distributed
 * processes" kind and Taskmaster interoperate: {@code wire} (framing and the challenge-response in both directions),
 * {@code pickle} (a restricted unpickler and the mapping between Python values and JSON), {@code listener} (the
 * master's managers port). docs/python-interop.md describes what crosses and what does not.
 */
package io.taskmaster.python;
