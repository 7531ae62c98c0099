package io.taskmaster.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.function.Supplier;

/**
 * Task arguments and results are JSON by contract. One shared, immutable mapper: building one is expensive and it is
 * thread-safe once configured.
 */
public final class JsonCodec {
  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .findAndAddModules()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  private JsonCodec() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  public static JavaType type(Class<?> type) {
    return MAPPER.constructType(type);
  }

  public static JavaType type(TypeReference<?> type) {
    return MAPPER.getTypeFactory().constructType(type);
  }

  public static byte[] encode(Object value) {
    return encode(MAPPER.writer(), value);
  }

  public static byte[] encode(ObjectWriter writer, Object value) {
    try {
      return writer.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot encode a " + value.getClass().getName() + " as JSON: "
          + e.getOriginalMessage(), e);
    }
  }

  /** Decodes {@code json}; the error names {@code what} was being decoded and shows the start of the text. */
  public static <T> T decode(byte[] json, JavaType type, Supplier<String> what) {
    return decode(MAPPER.readerFor(type), json, what);
  }

  public static <T> T decode(ObjectReader reader, byte[] json, Supplier<String> what) {
    try {
      return reader.readValue(json);
    } catch (IOException e) {
      String text = new String(json, 0, Math.min(json.length, 80), java.nio.charset.StandardCharsets.UTF_8);
      throw new IllegalArgumentException("cannot decode the " + what.get() + " as "
          + reader.getValueType().toCanonical() + " from JSON '" + text + (json.length > 80 ? "...'" : "'") + ": "
          + originalMessage(e), e);
    }
  }

  private static String originalMessage(IOException e) {
    return e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
  }
}
