package io.taskmaster.python.pickle;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

/**
 * Pyrolite's unpickler with the doors closed (reliability-tests.md rows 32 and 33). Only globals on the allowlist
 * given at construction are resolved, each to a constructor of this class, never to a Java class looked up by name;
 * any other is refused with its name. Opcodes that call or build arbitrary objects by other means (INST, OBJ,
 * persistent ids, the extension registry) are refused. Every length in the stream is checked against the bytes
 * that are left before anything is allocated, the number of opcodes is capped, and a structure too deep to handle
 * is refused rather than overflowing the stack. One instance per message: not thread-safe.
 */
public final class SafeUnpickler extends Unpickler {
  /** Opcodes per message at most: far above any real message of the frame limit, far below a bomb. */
  private static final int MAX_OPCODES = 4_000_000;

  private static final short GLOBAL = 'c';
  private static final short STACK_GLOBAL = 0x93;
  private static final short EMPTY_DICT = '}';
  private static final short DICT = 'd';
  private static final short SETITEMS = 'u';
  private static final short SETITEM = 's';
  private static final short ADDITEMS = 0x90;
  private static final short FROZENSET = 0x91;
  private static final Set<Short> FORBIDDEN = Set.of((short) 'i', (short) 'o', (short) 'P', (short) 'Q',
      (short) 0x82, (short) 0x83, (short) 0x84);
  private static final Map<Short, String> OPCODE_NAMES = Map.of((short) 'i', "INST", (short) 'o', "OBJ",
      (short) 'P', "PERSID", (short) 'Q', "BINPERSID", (short) 0x82, "EXT1", (short) 0x83, "EXT2", (short) 0x84,
      "EXT4");

  private final Map<String, IObjectConstructor> allowed;
  private ByteArrayInputStream bytes;
  private int opcodes;

  /** @param allowed the globals this reader may resolve, by {@code module.name}, to what builds them */
  public SafeUnpickler(Map<String, IObjectConstructor> allowed) {
    this.allowed = allowed;
  }

  /** Reads one pickle; refuses what it must with {@link PickleRefusedException}. */
  public Object read(byte[] pickle) {
    bytes = new ByteArrayInputStream(pickle);
    opcodes = 0;
    try {
      return load(bytes);
    } catch (PickleRefusedException e) {
      throw e;
    } catch (StackOverflowError e) {
      throw new PickleRefusedException("the pickle nests too deeply to be read");
    } catch (IOException | RuntimeException e) {
      throw new PickleRefusedException("the pickle cannot be read: " + e.getMessage());
    } finally {
      close();
    }
  }

  @Override
  protected Object dispatch(short key) throws PickleException, IOException {
    if (++opcodes > MAX_OPCODES) {
      throw new PickleRefusedException("the pickle has more than " + MAX_OPCODES + " opcodes");
    }
    if (FORBIDDEN.contains(key)) {
      throw new PickleRefusedException("the pickle opcode " + OPCODE_NAMES.get(key) + " is forbidden");
    }
    if (key == GLOBAL) {
      String module = PickleUtils.readline(input);
      String name = PickleUtils.readline(input);
      stack.add(constructor(module, name));
      return NO_RETURN_VALUE;
    }
    if (key == STACK_GLOBAL) {
      Object name = stack.pop();
      Object module = stack.pop();
      if (!(module instanceof String) || !(name instanceof String)) {
        throw new PickleRefusedException("STACK_GLOBAL needs two strings on the stack");
      }
      stack.add(constructor((String) module, (String) name));
      return NO_RETURN_VALUE;
    }
    if (key == EMPTY_DICT) {
      stack.add(new LinkedHashMap<>()); // a dict keeps its order in Python 3.7+, and so here
      return NO_RETURN_VALUE;
    }
    if (key == DICT) {
      List<Object> items = stack.pop_all_since_marker();
      Map<Object, Object> dict = new LinkedHashMap<>();
      for (int i = 0; i + 1 < items.size(); i += 2) {
        requireHashable(items.get(i));
        dict.put(items.get(i), items.get(i + 1));
      }
      stack.add(dict);
      return NO_RETURN_VALUE;
    }
    if (key == SETITEM) {
      Object value = stack.pop();
      Object dictKey = stack.pop();
      requireHashable(dictKey);
      if (!(stack.peek() instanceof Map<?, ?>)) {
        throw new PickleRefusedException("SETITEM needs a dict on the stack");
      }
      @SuppressWarnings("unchecked")
      Map<Object, Object> dict = (Map<Object, Object>) stack.peek();
      dict.put(dictKey, value);
      return NO_RETURN_VALUE;
    }
    if (key == ADDITEMS) {
      List<Object> items = stack.pop_all_since_marker();
      items.forEach(SafeUnpickler::requireHashable);
      if (!(stack.peek() instanceof java.util.Set<?>)) {
        throw new PickleRefusedException("ADDITEMS needs a set on the stack");
      }
      @SuppressWarnings("unchecked")
      java.util.Set<Object> set = (java.util.Set<Object>) stack.peek();
      set.addAll(items);
      return NO_RETURN_VALUE;
    }
    if (key == FROZENSET) {
      List<Object> items = stack.pop_all_since_marker();
      items.forEach(SafeUnpickler::requireHashable);
      stack.add(new java.util.HashSet<>(items));
      return NO_RETURN_VALUE;
    }
    if (key == SETITEMS) {
      // Pyrolite gathers the items in a HashMap first, which loses their order.
      List<Object> items = stack.pop_all_since_marker();
      if (!(stack.peek() instanceof Map<?, ?>)) {
        throw new PickleRefusedException("SETITEMS needs a dict on the stack");
      }
      @SuppressWarnings("unchecked")
      Map<Object, Object> dict = (Map<Object, Object>) stack.peek();
      for (int i = 0; i + 1 < items.size(); i += 2) {
        requireHashable(items.get(i));
        dict.put(items.get(i), items.get(i + 1));
      }
      return NO_RETURN_VALUE;
    }
    checkLength(key);
    return super.dispatch(key);
  }

  /**
   * Python refuses lists, dicts and sets as dict keys and set items; so does this reader, which also keeps a shared
   * structure built to be huge (a memo bomb) from being hashed node by node.
   */
  static void requireHashable(Object key) {
    if (key instanceof java.util.Collection<?> || key instanceof Map<?, ?>) {
      throw new PickleRefusedException("unhashable type as a dict key or set item: "
          + (key instanceof Map<?, ?> ? "dict" : key instanceof java.util.Set<?> ? "set" : "list"));
    }
  }

  private IObjectConstructor constructor(String module, String name) {
    IObjectConstructor constructor = allowed.get(module + "." + name);
    if (constructor == null) {
      throw new PickleRefusedException("global " + module + "." + name + " is forbidden");
    }
    return constructor;
  }

  /** A length that runs past the end of the message is refused before Pyrolite allocates it. */
  private void checkLength(short key) {
    int size = switch (key) {
      case 'T', 'X', 'B', 0x8b -> 4; // BINSTRING, BINUNICODE, BINBYTES, LONG4
      case 0x8d, 0x8e, 0x96, 0x95 -> 8; // BINUNICODE8, BINBYTES8, BYTEARRAY8, FRAME
      default -> 0;
    };
    if (size == 0) {
      return;
    }
    bytes.mark(size);
    byte[] field = new byte[size];
    int read = bytes.read(field, 0, size);
    bytes.reset();
    if (read < size) {
      throw new PickleRefusedException("the pickle ends inside a length field");
    }
    long length = 0;
    for (int i = size - 1; i >= 0; i--) {
      length = (length << 8) | (field[i] & 0xFF);
    }
    if (size == 4 && key == 'T') {
      length = (int) length; // BINSTRING's length is signed
    }
    long left = bytes.available() - size;
    if (length < 0 || length > left) {
      throw new PickleRefusedException("the pickle announces " + length + " bytes where " + Math.max(0, left)
          + " are left");
    }
  }

  /** Builds {@link PythonObject}s for allowed classes such as exceptions: {@code module.name(*args)}. */
  public static IObjectConstructor instances(String module, String name) {
    return args -> new PythonObject(module, name, Arrays.asList(args));
  }

  /** {@code _codecs.encode(text, 'latin1')}: how protocol 2 writes {@code bytes}. */
  public static final IObjectConstructor CODECS_ENCODE = args -> {
    if (args.length != 2 || !(args[0] instanceof String text) || !"latin1".equals(args[1])) {
      throw new PickleRefusedException("_codecs.encode is only accepted as (text, 'latin1')");
    }
    return text.getBytes(StandardCharsets.ISO_8859_1);
  };

  /**
   * {@code set(items)} and {@code frozenset(items)}, as protocols 2 and 3 write them: harmless containers, built so
   * that the value mapping can refuse them with a clear message instead of a forbidden-global error.
   */
  public static final IObjectConstructor SET = args -> {
    java.util.Set<Object> set = new java.util.HashSet<>();
    if (args.length == 1 && args[0] instanceof java.util.Collection<?> items) {
      items.forEach(SafeUnpickler::requireHashable);
      set.addAll(items);
    } else if (args.length != 0) {
      throw new PickleRefusedException("set arguments not understood");
    }
    return set;
  };

  /** {@code bytearray()}, {@code bytearray(bytes)} and {@code bytearray(text, encoding)}, all read as bytes. */
  public static final IObjectConstructor BYTEARRAY = args -> {
    if (args.length == 0) {
      return new byte[0];
    }
    if (args.length == 1 && args[0] instanceof byte[] data) {
      return data;
    }
    if (args.length == 2 && args[0] instanceof String text && args[1] instanceof String encoding) {
      return text.getBytes(java.nio.charset.Charset.forName(encoding));
    }
    throw new PickleRefusedException("bytearray arguments not understood");
  };
}
