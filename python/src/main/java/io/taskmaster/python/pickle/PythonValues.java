package io.taskmaster.python.pickle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskmaster.json.JsonCodec;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The mapping between Python values and Taskmaster's JSON payloads (docs/python-interop.md has the table): None,
 * bool, int (any size), float, str, lists, tuples (as arrays) and dicts (keys as strings) map to their JSON
 * counterparts; bytes become {@code {"$bytes": "<base64>"}}. Anything else (a set, a class instance, NaN) is refused
 * with {@link UnsupportedValueException} naming it, rather than guessed at. Nesting is capped at {@value #MAX_DEPTH}
 * levels and {@value #MAX_NODES} values, so a pickle built to explode cannot.
 */
public final class PythonValues {
  public static final String BYTES_MARKER = "$bytes";
  static final int MAX_DEPTH = 1000;
  static final int MAX_NODES = 1_000_000;
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private PythonValues() {}

  /** A value Python sent that JSON cannot carry. */
  public static final class UnsupportedValueException extends RuntimeException {
    public UnsupportedValueException(String message) {
      super(message);
    }
  }

  /** The JSON payload for a value read from a Python pickle. */
  public static byte[] toJson(Object value) {
    try {
      return JsonCodec.mapper().writeValueAsBytes(toNode(value, 0, new int[1]));
    } catch (IOException e) {
      throw new UnsupportedValueException("the value cannot be written as JSON: " + e.getMessage());
    }
  }

  private static JsonNode toNode(Object value, int depth, int[] count) {
    if (depth > MAX_DEPTH) {
      throw new UnsupportedValueException("the value nests more than " + MAX_DEPTH + " levels deep");
    }
    if (++count[0] > MAX_NODES) {
      throw new UnsupportedValueException("the value holds more than " + MAX_NODES + " items");
    }
    if (value == null) {
      return NODES.nullNode();
    }
    if (value instanceof Boolean flag) {
      return NODES.booleanNode(flag);
    }
    if (value instanceof Integer || value instanceof Long) {
      return NODES.numberNode(((Number) value).longValue());
    }
    if (value instanceof BigInteger big) {
      return NODES.numberNode(big);
    }
    if (value instanceof Double number) {
      if (number.isNaN() || number.isInfinite()) {
        throw new UnsupportedValueException("the float " + number + " has no JSON form; send a number or a string");
      }
      return NODES.numberNode(number);
    }
    if (value instanceof String text) {
      return NODES.textNode(text);
    }
    if (value instanceof byte[] bytes) {
      return NODES.objectNode().put(BYTES_MARKER, Base64.getEncoder().encodeToString(bytes));
    }
    if (value instanceof Object[] tuple) {
      ArrayNode array = NODES.arrayNode(tuple.length);
      for (Object item : tuple) {
        array.add(toNode(item, depth + 1, count));
      }
      return array;
    }
    if (value instanceof List<?> list) {
      ArrayNode array = NODES.arrayNode(list.size());
      for (Object item : list) {
        array.add(toNode(item, depth + 1, count));
      }
      return array;
    }
    if (value instanceof Map<?, ?> map) {
      ObjectNode object = NODES.objectNode();
      for (Map.Entry<?, ?> entry : map.entrySet()) {
        object.set(key(entry.getKey()), toNode(entry.getValue(), depth + 1, count));
      }
      return object;
    }
    throw new UnsupportedValueException("a Python " + pythonType(value) + " cannot be put on a Taskmaster queue; "
        + "send None, bool, int, float, str, bytes, or lists, tuples and dicts of those");
  }

  /** JSON keys are strings: str keys stay, int and bool keys become their decimal or Python text. */
  private static String key(Object key) {
    if (key instanceof String text) {
      return text;
    }
    if (key instanceof Integer || key instanceof Long || key instanceof BigInteger) {
      return key.toString();
    }
    if (key instanceof Boolean flag) {
      return flag ? "True" : "False";
    }
    throw new UnsupportedValueException("a dict key of type " + pythonType(key) + " has no JSON form; use str or int "
        + "keys");
  }

  private static String pythonType(Object value) {
    if (value instanceof java.util.Set<?>) {
      return "set";
    }
    if (value instanceof Double) {
      return "float";
    }
    if (value instanceof PythonObject object) {
      return object.qualifiedName();
    }
    return value.getClass().getSimpleName();
  }

  /**
   * The Python value for a JSON payload: objects become dicts (or bytes for the marker), arrays lists, integers
   * int, other numbers float. A payload that is not JSON (raw bytes put from Java) comes back as bytes.
   */
  public static Object fromJson(byte[] payload) {
    JsonNode node;
    try {
      node = JsonCodec.mapper().readTree(payload);
    } catch (IOException e) {
      return new PythonBytes(payload);
    }
    if (node == null || node.isMissingNode()) {
      return new PythonBytes(payload);
    }
    return fromNode(node, 0);
  }

  private static Object fromNode(JsonNode node, int depth) {
    if (depth > MAX_DEPTH) {
      throw new UnsupportedValueException("the value nests more than " + MAX_DEPTH + " levels deep");
    }
    if (node.isNull()) {
      return null;
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    if (node.isIntegralNumber()) {
      return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
    }
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isArray()) {
      List<Object> list = new ArrayList<>(node.size());
      for (JsonNode item : node) {
        list.add(fromNode(item, depth + 1));
      }
      return list;
    }
    if (node.size() == 1 && node.has(BYTES_MARKER) && node.get(BYTES_MARKER).isTextual()) {
      try {
        return new PythonBytes(Base64.getDecoder().decode(node.get(BYTES_MARKER).textValue()));
      } catch (IllegalArgumentException e) {
        // not our marker after all: an ordinary dict
      }
    }
    Map<String, Object> map = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      map.put(field.getKey(), fromNode(field.getValue(), depth + 1));
    }
    return map;
  }
}
