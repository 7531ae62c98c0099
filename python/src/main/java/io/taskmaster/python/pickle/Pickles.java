package io.taskmaster.python.pickle;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import net.razorvine.pickle.Pickler;

/**
 * Writes the pickles Python peers read: protocol 2 (which every Python 3 reads) through Pyrolite, with two
 * additions Pyrolite lacks: {@code bytes} as BINBYTES (protocol 3, read by every Python 3; Pyrolite's own form comes
 * back as {@code bytearray}) for {@link PythonBytes}, and {@link PythonObject}s as class reference, arguments and REDUCE.
 */
public final class Pickles {
  private static final int BINBYTES = 'B';
  private static final int GLOBAL = 'c';
  private static final int REDUCE = 'R';

  static {
    // Pyrolite's registry is process-wide; these two entries only concern our own types and byte[].
    Pickler.registerCustomPickler(PythonObject.class, Pickles::writeObject);
    Pickler.registerCustomPickler(PythonBytes.class, (value, out, pickler) -> writeBytes(((PythonBytes) value).bytes(),
        out));
  }

  private Pickles() {}

  /** The pickle of {@code value}: null, Boolean, Integer, Long, BigInteger, Double, String, PythonBytes, Object[] (tuple),
   * List, Map, PythonObject, and nestings of those. */
  public static byte[] dumps(Object value) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(64);
      new Pickler(false).dump(value, out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeObject(Object value, OutputStream out, Pickler pickler) throws IOException {
    PythonObject object = (PythonObject) value;
    out.write(GLOBAL);
    out.write((object.module() + "\n" + object.name() + "\n").getBytes(StandardCharsets.UTF_8));
    pickler.save(object.args().toArray());
    out.write(REDUCE);
  }

  private static void writeBytes(byte[] bytes, OutputStream out) throws IOException {
    out.write(BINBYTES);
    int length = bytes.length;
    out.write(length & 0xFF);
    out.write((length >>> 8) & 0xFF);
    out.write((length >>> 16) & 0xFF);
    out.write((length >>> 24) & 0xFF);
    out.write(bytes);
  }
}
