package io.taskmaster.server.journal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The bytes of a segment file (docs/journal-format.md): a 16-byte header (magic {@code TMJOURNL}, version, CRC32C
 * of both), then records. A record is a 12-byte header (payload length, CRC32C of the payload, CRC32C of those
 * eight bytes) and its payload. The header's own checksum lets a reader trust a length before it reads that many
 * bytes, so a flipped bit in a length is found as damage, never taken for the end of the journal.
 */
final class RecordFormat {
  static final byte[] MAGIC = "TMJOURNL".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 1;
  static final int SEGMENT_HEADER_BYTES = 16;
  static final int RECORD_HEADER_BYTES = 12;
  /** No record is larger: a frame is at most this, and a length beyond it can only be damage. */
  static final int MAX_RECORD_BYTES = 1 << 30;

  private RecordFormat() {}

  static int crc(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }

  static int crc(ByteBuffer buffer, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(buffer.slice(offset, length));
    return (int) crc.getValue();
  }

  static byte[] segmentHeader() {
    ByteBuffer header = ByteBuffer.allocate(SEGMENT_HEADER_BYTES);
    header.put(MAGIC).putInt(VERSION);
    header.putInt(crc(header.array(), 0, 12));
    return header.array();
  }

  /** Null when the header is sound, else what is wrong with it. */
  static String checkSegmentHeader(ByteBuffer file) {
    if (file.limit() < SEGMENT_HEADER_BYTES) {
      return "the file is shorter than a segment header (" + file.limit() + " bytes)";
    }
    if (crc(file, 0, 12) != file.getInt(12)) {
      return "the segment header's checksum does not match";
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (file.get(i) != MAGIC[i]) {
        return "the file is not a Taskmaster journal segment";
      }
    }
    int version = file.getInt(8);
    if (version != VERSION) {
      return "the segment has format version " + version + "; this Taskmaster reads version " + VERSION;
    }
    return null;
  }

  /** Reserves a record header at the end of {@code out}; {@link #sealRecord} fills it once the payload follows. */
  static int beginRecord(RecordBuffer out) {
    int start = out.size();
    out.skip(RECORD_HEADER_BYTES);
    return start;
  }

  static void sealRecord(RecordBuffer out, int start) {
    int length = out.size() - start - RECORD_HEADER_BYTES;
    out.setInt(start, length);
    out.setInt(start + 4, crc(out.array(), start + RECORD_HEADER_BYTES, length));
    out.setInt(start + 8, crc(out.array(), start, 8));
  }

  /**
   * The length of the payload of a sound record at {@code offset}, or -1 when there is none: a header whose
   * checksum does not match, a length past the end, or a payload whose checksum does not match.
   */
  static int soundRecordAt(ByteBuffer file, int offset) {
    if (file.limit() - offset < RECORD_HEADER_BYTES) {
      return -1;
    }
    if (crc(file, offset, 8) != file.getInt(offset + 8)) {
      return -1;
    }
    int length = file.getInt(offset);
    if (length <= 0 || length > MAX_RECORD_BYTES || length > file.limit() - offset - RECORD_HEADER_BYTES) {
      return -1;
    }
    return crc(file, offset + RECORD_HEADER_BYTES, length) == file.getInt(offset + 4) ? length : -1;
  }

  /** Why the record at {@code offset} is not sound (see {@link #soundRecordAt}). */
  static String damageAt(ByteBuffer file, int offset) {
    if (file.limit() - offset < RECORD_HEADER_BYTES) {
      return "an incomplete record header (" + (file.limit() - offset) + " bytes)";
    }
    if (crc(file, offset, 8) != file.getInt(offset + 8)) {
      return "a record header whose checksum does not match";
    }
    int length = file.getInt(offset);
    if (length <= 0 || length > MAX_RECORD_BYTES) {
      return "an impossible record length " + length;
    }
    if (length > file.limit() - offset - RECORD_HEADER_BYTES) {
      return "a record of " + length + " bytes that runs past the end of the file";
    }
    return "a record whose checksum does not match its " + length + " bytes";
  }

  /** Whether any sound record starts after {@code from}: then damage at {@code from} is not a torn tail. */
  static boolean soundRecordAfter(ByteBuffer file, int from) {
    for (int offset = from + 1; offset <= file.limit() - RECORD_HEADER_BYTES; offset++) {
      if (soundRecordAt(file, offset) > 0) {
        return true;
      }
    }
    return false;
  }
}
